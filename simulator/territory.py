"""The territory a simulation runs on: communes, facilities and stations, by default Nantes Métropole's.

A thin bundle of the kernel's reference data (:mod:`synopse.domain.territory`), so that a test or another
territory can hand the model its own lists without touching the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from synopse.domain.territory import COMMUNES, FACILITIES, STATIONS, Commune, Facility, Station


@dataclass(frozen=True)
class Territory:
    """Reference data the model draws from: residents by commune, beds by facility, sensors by station."""

    communes: tuple[Commune, ...] = COMMUNES
    facilities: tuple[Facility, ...] = FACILITIES
    stations: tuple[Station, ...] = STATIONS

    def __post_init__(self) -> None:
        if not self.communes or not any(f.has_emergency_department for f in self.facilities):
            raise ValueError("a territory needs communes and at least one emergency department")


DEFAULT_TERRITORY = Territory()
