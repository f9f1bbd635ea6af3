"""Reference data of the default territory: Nantes Métropole's communes, hospitals and stations.

Communes: INSEE codes and names are official; populations are rounded INSEE legal populations
(about 2021) and centroids are approximate town-hall coordinates: check both against INSEE before
publishing figures per inhabitant. Facilities: real establishments, but units and bed capacities are
SYNTHETIC (plausible orders of magnitude, not the establishments' figures). Stations: the air-quality
stations are real Air Pays de la Loire stations (EU codes); the weather station is Météo-France
Nantes-Bouguenais; pollen and wastewater sites are SYNTHETIC identifiers of real kinds of site.
Another territory loads its own reference data through the same tables (``synopse db seed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synopse.domain.codes import CareUnit, Indicator


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    population: int
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Facility:
    facility_id: str
    name: str
    commune_code: str
    latitude: float
    longitude: float
    beds: dict[CareUnit, int]
    has_emergency_department: bool
    synthetic_capacity: bool = True


@dataclass(frozen=True)
class Station:
    station_id: str
    name: str
    kind: str  # weather, air_quality, pollen, wastewater
    commune_code: str
    latitude: float
    longitude: float
    indicators: tuple[Indicator, ...] = field(default_factory=tuple)
    synthetic: bool = False


TERRITORY_NAME = "Nantes Métropole"

COMMUNES: tuple[Commune, ...] = (
    Commune("44109", "Nantes", 323_000, 47.2184, -1.5536),
    Commune("44162", "Saint-Herblain", 48_500, 47.2122, -1.6497),
    Commune("44143", "Rezé", 43_000, 47.1833, -1.5500),
    Commune("44190", "Saint-Sébastien-sur-Loire", 28_000, 47.2081, -1.5014),
    Commune("44114", "Orvault", 27_000, 47.2711, -1.6225),
    Commune("44215", "Vertou", 25_500, 47.1689, -1.4697),
    Commune("44026", "Carquefou", 20_500, 47.2975, -1.4914),
    Commune("44035", "La Chapelle-sur-Erdre", 20_000, 47.2992, -1.5508),
    Commune("44047", "Couëron", 23_000, 47.2156, -1.7228),
    Commune("44020", "Bouguenais", 20_000, 47.1775, -1.6236),
    Commune("44172", "Sainte-Luce-sur-Loire", 16_000, 47.2503, -1.4856),
    Commune("44009", "Basse-Goulaine", 9_000, 47.2083, -1.4658),
    Commune("44018", "Bouaye", 8_000, 47.1442, -1.6931),
    Commune("44024", "Brains", 2_900, 47.1686, -1.7236),
    Commune("44074", "Indre", 4_000, 47.2000, -1.6700),
    Commune("44101", "La Montagne", 6_300, 47.1900, -1.6833),
    Commune("44120", "Le Pellerin", 5_300, 47.2000, -1.7550),
    Commune("44198", "Les Sorinières", 9_000, 47.1483, -1.5286),
    Commune("44094", "Mauves-sur-Loire", 3_300, 47.2972, -1.3903),
    Commune("44150", "Saint-Aignan-Grandlieu", 4_000, 47.1250, -1.6322),
    Commune("44166", "Saint-Jean-de-Boiseau", 6_000, 47.1933, -1.7247),
    Commune("44171", "Saint-Léger-les-Vignes", 2_000, 47.1361, -1.7303),
    Commune("44194", "Sautron", 8_500, 47.2631, -1.6708),
    Commune("44204", "Thouaré-sur-Loire", 10_500, 47.2669, -1.4408),
)

_M, _S, _P, _I, _R = CareUnit.MEDICINE, CareUnit.SURGERY, CareUnit.PAEDIATRICS, CareUnit.ICU, CareUnit.REHABILITATION

FACILITIES: tuple[Facility, ...] = (
    Facility("chu-nantes-hotel-dieu", "CHU de Nantes — Hôtel-Dieu", "44109", 47.2120, -1.5530,
             {_M: 620, _S: 420, _P: 160, _I: 90}, has_emergency_department=True),
    Facility("chu-nantes-nord-laennec", "CHU de Nantes — Hôpital Nord Laennec", "44162", 47.2390, -1.6370,
             {_M: 480, _S: 300, _I: 70}, has_emergency_department=False),
    Facility("chu-nantes-saint-jacques", "CHU de Nantes — Saint-Jacques", "44109", 47.1990, -1.5400,
             {_M: 160, _R: 280}, has_emergency_department=False),
    Facility("chu-nantes-bellier", "CHU de Nantes — Bellier", "44109", 47.2230, -1.5420,
             {_M: 90, _R: 120}, has_emergency_department=False),
    Facility("chu-nantes-la-seilleraye", "CHU de Nantes — La Seilleraye", "44026", 47.2880, -1.4850,
             {_R: 200}, has_emergency_department=False),
    Facility("sante-atlantique", "Santé Atlantique", "44162", 47.2440, -1.6320,
             {_M: 180, _S: 240, _I: 20}, has_emergency_department=True),
    Facility("hp-confluent", "Hôpital Privé du Confluent", "44109", 47.2000, -1.5330,
             {_M: 150, _S: 220, _I: 16}, has_emergency_department=True),
    Facility("clinique-jules-verne", "Clinique Jules Verne", "44109", 47.2300, -1.5100,
             {_M: 90, _S: 140}, has_emergency_department=True),
)

_AIR = (Indicator.PM10, Indicator.PM2_5, Indicator.NO2, Indicator.O3)

STATIONS: tuple[Station, ...] = (
    Station("07222", "Nantes-Bouguenais (Météo-France)", "weather", "44020", 47.1500, -1.6083,
            (Indicator.TEMPERATURE, Indicator.TEMPERATURE_DAILY_MIN, Indicator.TEMPERATURE_DAILY_MAX,
             Indicator.TEMPERATURE_DAILY_MEAN)),
    Station("FR23188", "Cim. Bouteillerie", "air_quality", "44109", 47.2222, -1.5374, _AIR),
    Station("FR23251", "Frères Goncourt", "air_quality", "44109", 47.2335, -1.5648,
            (Indicator.PM10, Indicator.NO2)),
    Station("FR23107", "La Chauvinière", "air_quality", "44109", 47.2529, -1.5733,
            (Indicator.PM10, Indicator.PM2_5, Indicator.O3)),
    Station("FR23239", "Les Couëts", "air_quality", "44020", 47.1859, -1.5915, (Indicator.PM10,)),
    Station("FR23238", "Trentemoult", "air_quality", "44143", 47.1941, -1.5817, (Indicator.PM10, Indicator.NO2)),
    Station("pollen-nantes", "Capteur pollinique de Nantes", "pollen", "44109", 47.2100, -1.5600,
            (Indicator.POLLEN_GRASSES, Indicator.POLLEN_BIRCH), synthetic=True),
    Station("wwtp-tougas", "Station d'épuration Tougas", "wastewater", "44162", 47.1980, -1.6300,
            (Indicator.WASTEWATER_SARS_COV_2,), synthetic=True),
    Station("wwtp-petite-californie", "Station d'épuration Petite Californie", "wastewater", "44143",
            47.1960, -1.5720, (Indicator.WASTEWATER_SARS_COV_2,), synthetic=True),
)


def commune_by_code(code: str) -> Commune:
    """The commune with this INSEE code (KeyError if it is not in the territory)."""
    for commune in COMMUNES:
        if commune.code == code:
            return commune
    raise KeyError(code)
