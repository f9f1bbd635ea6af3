"""Row types of the live indicators: what the read side returns and the screens and rules consume.

Pure: plain frozen dataclasses (read from the store with psycopg ``class_row`` in ``synopse.db``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from synopse.domain.codes import INDICATOR_UNITS

# Rates per inhabitant are per 100,000, the unit of French surveillance bulletins.
PER_INHABITANTS = 100_000

_UNITS_BY_INDICATOR = {indicator.value: unit for indicator, unit in INDICATOR_UNITS.items()}


def _rate(count: int, population: int | None) -> float | None:
    return count * PER_INHABITANTS / population if population else None


def _occupancy(occupied: float | None, total: int | None) -> float | None:
    # No snapshot, or a unit reporting no staffed bed at all: there is no rate, which is not 0 %.
    return occupied / total if occupied is not None and total else None


@dataclass(frozen=True)
class FacilityStatus:
    """One facility's tile: live beds, admissions and emergency-department visits around ``now``."""

    facility_id: str
    name: str
    commune_code: str
    has_emergency_department: bool
    planned_beds: int  # sum of the reference capacities of its units
    beds_total: int | None  # from the latest snapshot of each unit; None: no snapshot ever received
    beds_occupied: int | None
    units_reporting: int
    snapshot_at: datetime | None  # the oldest of the units' latest snapshots: the tile is as old as that
    admissions_24h: int
    admissions_prev_24h: int
    ed_visits_last_hour: int
    ed_visits_24h: int

    @property
    def occupancy_rate(self) -> float | None:
        """Occupied over staffed beds (may exceed 1 in a crisis); None without a usable snapshot."""
        return _occupancy(self.beds_occupied, self.beds_total)


@dataclass(frozen=True)
class CommuneActivity:
    """Admissions and ED visits of residents of one commune over the window, with rates per 100,000."""

    commune_code: str | None  # None: the row of unknown residences and residences outside the territory
    name: str | None
    population: int | None
    admissions: int
    ed_visits: int

    @property
    def admissions_per_100k(self) -> float | None:
        return _rate(self.admissions, self.population)

    @property
    def ed_visits_per_100k(self) -> float | None:
        return _rate(self.ed_visits, self.population)


@dataclass(frozen=True)
class HourlyPoint:
    """One hour of activity for a facility or the whole territory (zero counts are true zeros of the hour)."""

    bucket: datetime
    admissions: int
    ed_visits: int
    beds_occupied: float | None  # mean over the hour's snapshots, summed over the reporting units
    beds_total: int | None  # None: no unit reported during the hour

    @property
    def occupancy_rate(self) -> float | None:
        return _occupancy(self.beds_occupied, self.beds_total)


@dataclass(frozen=True)
class EnvironmentReading:
    """The latest hourly value of one indicator over the territory's stations."""

    indicator: str
    bucket: datetime  # start of the hour of the value
    value_mean: float  # mean over the stations that reported in that hour
    value_max: float
    stations: int
    station_name: str | None  # the station, when only one reported

    @property
    def unit(self) -> str:
        """The canonical unit of the indicator ("" for an indicator this version does not know)."""
        return _UNITS_BY_INDICATOR.get(self.indicator, "")


@dataclass(frozen=True)
class SourceFreshness:
    """When one source (a facility on a topic, a station) last sent data, and how much it sent."""

    topic: str
    source_id: str
    last_event_at: datetime
    last_ingested_at: datetime
    events_total: int
    station_kind: str | None  # weather, air_quality, pollen, wastewater; None for a facility


@dataclass(frozen=True)
class Overview:
    """Everything the overview page shows besides the chart, read in one transaction."""

    reference_time: datetime | None  # the "now" of the windows; None: the store holds no data yet
    facilities: list[FacilityStatus]
    communes: list[CommuneActivity]
    environment: list[EnvironmentReading]
    freshness: list[SourceFreshness]


@dataclass(frozen=True)
class FacilityBeds:
    """A facility of a scope with its live beds: the reference of a protected view's tile.

    The bed columns are None when beds are not shared with the scope (or no snapshot was ever received).
    """

    facility_id: str
    name: str
    commune_code: str
    has_emergency_department: bool
    planned_beds: int
    beds_total: int | None
    beds_occupied: int | None
    units_reporting: int
    snapshot_at: datetime | None
    beds_shared: bool = True  # False: the scope may not see beds (the bed columns are then None)


@dataclass(frozen=True)
class FacilityDay:
    """Exact counts of one facility over one complete local day: a base cell of the protected views.

    A count is None when its indicator is not shared with the scope that read it (never a zero).
    """

    facility_id: str
    day: date
    admissions: int | None
    ed_visits: int | None
    beds_occupied_mean: float | None  # mean over the day's hours of the occupied beds summed over units
    beds_total: int | None  # the most staffed beds reported in an hour of the day


@dataclass(frozen=True)
class CommuneWeek:
    """Exact counts of residents of one commune over one complete ISO week (Monday to Sunday, local days)."""

    commune_code: str
    name: str
    population: int
    admissions: int | None  # None: not shared with the scope that read it
    ed_visits: int | None
