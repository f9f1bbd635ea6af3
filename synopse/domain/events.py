"""Event contracts of the input topics: versioned pydantic models, the one home of the wire format.

Every event carries an ``event_id`` (idempotency: re-delivery never counts twice), aware UTC times, and
no direct identifier: a patient is only a keyed hash made inside the hospital system or at the door.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self, get_args
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from synopse.domain.codes import (
    INDICATOR_RANGES,
    INDICATOR_UNITS,
    AgeBand,
    CareUnit,
    Indicator,
    ReasonCategory,
    canonical_unit,
)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware instant, in UTC. Naive times are refused: their zone is a guess.

For settings and one-off values; the event contracts use plain ``AwareDatetime`` fields and normalise
them in their single model validator (one Python call per event instead of one per datetime field).
"""

SourceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
"""Identifier of a facility or station: a slug, a FINESS number or an EU station code."""

CommuneCode = Annotated[str, StringConstraints(pattern=r"^(\d{5}|2[AB]\d{3})$")]
"""INSEE commune code (5 characters; Corsica uses 2A/2B)."""

PatientKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""Pseudonymous patient key: the hex HMAC-SHA256 of the hospital identifier. Anything else is refused,
so that a raw identifier (an IPP, a social-security number, a name) can never be stored by mistake."""


_INSTANT_TYPES: tuple[object, ...] = (datetime, AwareDatetime)


class Event(BaseModel):
    """Base of every event: strict (unknown fields are refused), immutable, identified.

    Every instant is aware and in UTC once validated. Validation runs on the ingest hot path (millions of
    events), so the Python part of it is ONE call per event: :meth:`_normalise` moves instants with a
    non-zero offset to UTC (an instant read at offset zero is kept as parsed: already UTC), then calls
    :meth:`_check`, where a contract puts its cross-field rules.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    time_field: ClassVar[str]
    key_field: ClassVar[str]
    #: The datetime fields of the contract (found when the class is built).
    instant_fields: ClassVar[tuple[str, ...]] = ()

    event_id: UUID = Field(description="Stable id of this fact; a re-sent or corrected fact keeps its id.")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.instant_fields = tuple(
            name for name, info in cls.model_fields.items()
            if info.annotation in _INSTANT_TYPES or any(a in _INSTANT_TYPES for a in get_args(info.annotation))
        )

    @model_validator(mode="after")
    def _normalise(self) -> Self:
        for name in self.instant_fields:
            value = getattr(self, name)
            if value is not None and value.utcoffset():
                object.__setattr__(self, name, value.astimezone(UTC))
        self._check()
        return self

    def _check(self) -> None:
        """Cross-field rules of the contract (raise ``ValueError`` with a reason); none by default."""

    @property
    def occurred_at(self) -> datetime:
        """The instant the event describes (the time column of its table)."""
        value: datetime = getattr(self, self.time_field)
        return value

    @property
    def key(self) -> str:
        """The Kafka message key: events of one facility or station stay in order on one partition."""
        return str(getattr(self, self.key_field))


class Admission(Event):
    """A hospital admission into a care unit (from an ADT feed or an admissions export)."""

    time_field: ClassVar[str] = "admitted_at"
    key_field: ClassVar[str] = "facility_id"

    facility_id: SourceId
    care_unit: CareUnit
    admitted_at: AwareDatetime
    age_band: AgeBand
    reason: ReasonCategory
    patient_key: PatientKey
    commune_code: CommuneCode | None = Field(default=None, description="Commune of residence (INSEE).")
    via_emergency: bool = Field(default=False, description="Admitted after an emergency-department visit.")
    discharged_at: AwareDatetime | None = None
    cancelled: bool = Field(default=False, description="True when the admission was entered in error.")

    def _check(self) -> None:
        if self.discharged_at is not None and self.discharged_at < self.admitted_at:
            raise ValueError("discharged_at is before admitted_at")


class EmergencyVisit(Event):
    """An emergency-department visit (an OSCOUR-style summary, one per visit)."""

    time_field: ClassVar[str] = "arrived_at"
    key_field: ClassVar[str] = "facility_id"

    facility_id: SourceId
    arrived_at: AwareDatetime
    age_band: AgeBand
    reason: ReasonCategory
    commune_code: CommuneCode | None = None
    hospitalised: bool | None = Field(default=None, description="Admitted after the visit; None: not known yet.")
    patient_key: PatientKey | None = None


class BedSnapshot(Event):
    """Beds of one care unit at one instant: capacity (staffed beds) and occupied beds."""

    time_field: ClassVar[str] = "observed_at"
    key_field: ClassVar[str] = "facility_id"

    facility_id: SourceId
    care_unit: CareUnit
    observed_at: AwareDatetime
    # Occupied may exceed total in a crisis (extra beds in corridors): it is reported, not refused.
    beds_total: int = Field(ge=0, le=100_000)
    beds_occupied: int = Field(ge=0, le=100_000)


class EnvironmentObservation(Event):
    """One measurement of an environmental indicator at a station (weather, air, pollen, wastewater)."""

    time_field: ClassVar[str] = "observed_at"
    key_field: ClassVar[str] = "station_id"

    station_id: SourceId
    indicator: Indicator
    value: float = Field(allow_inf_nan=False)
    unit: str
    observed_at: AwareDatetime

    def _check(self) -> None:
        # The unit is stored in its canonical spelling (``ug/m3`` becomes ``µg/m³``); the common case, a
        # canonical unit already, costs one dictionary lookup.
        expected = INDICATOR_UNITS[self.indicator]
        if self.unit != expected:
            if canonical_unit(self.unit) != expected:
                raise ValueError(f"unit {self.unit!r} does not fit {self.indicator.value} (expected {expected!r})")
            object.__setattr__(self, "unit", expected)
        low, high = INDICATOR_RANGES[expected]
        if not low <= self.value <= high:
            raise ValueError(f"{self.indicator.value}={self.value} {expected} is outside [{low}, {high}]")


# Daily counts are counts of French civil days: a day starts at midnight in Europe/Paris.
DAILY_COUNT_ZONE = ZoneInfo("Europe/Paris")

Territory = Annotated[str, StringConstraints(pattern=r"^(fr|reg:\d{2}|dep:(\d{2,3}|2[AB])|com:(\d{5}|2[AB]\d{3}))$")]
"""An area of published statistics: ``fr``, a region ``reg:52``, a department ``dep:44``, a commune ``com:44109``."""


class HospitalMeasure(StrEnum):
    """What a daily hospital count counts: the measures of Santé publique France's SI-VIC daily files."""

    HOSPITALISED = "hospitalised"  # people in hospital that day (stock; SpF `hosp`)
    CRITICAL_CARE = "critical_care"  # of whom in intensive or critical care (stock; `rea`)
    CONVENTIONAL = "conventional"  # of whom in conventional hospitalisation (stock; `HospConv`)
    FOLLOW_UP_LONG_TERM = "follow_up_long_term"  # of whom in follow-up or long-term care (stock; `SSR_USLD`)
    OTHER_UNITS = "other_units"  # of whom in other units (stock; `autres`)
    ADMISSIONS = "admissions"  # new hospital admissions that day (`incid_hosp`)
    CRITICAL_CARE_ADMISSIONS = "critical_care_admissions"  # new critical-care admissions (`incid_rea`)
    DEATHS = "deaths"  # in-hospital deaths that day (`incid_dc`)
    DISCHARGES_HOME = "discharges_home"  # discharges home that day (`incid_rad`)
    DEATHS_CUMULATIVE = "deaths_cumulative"  # in-hospital deaths since the start of the series (`dc`)
    DISCHARGES_HOME_CUMULATIVE = "discharges_home_cumulative"  # discharges home since the start (`rad`)


class HospitalDailyCount(Event):
    """One published daily count of hospital activity for an area (not per patient, not per facility).

    Open data such as Santé publique France's hospital files is aggregated per department and day; it
    cannot become admissions without inventing patients, so it travels as what it is. A revised count
    keeps its ``event_id`` (and its natural key: source, area, condition, measure, day) and replaces the
    stored value.
    """

    time_field: ClassVar[str] = "day"
    key_field: ClassVar[str] = "territory"

    source: SourceId = Field(description="Publisher and dataset, e.g. `spf-sivic`.")
    territory: Territory
    day: date = Field(description="The civil day (Europe/Paris) counted.")
    condition: ReasonCategory | Literal["all"] = Field(
        default="all", description="What the counted people are in hospital for; `all`: every cause."
    )
    measure: HospitalMeasure
    # Ten million: more than the population of any French region's hospitals over a whole epidemic.
    value: int = Field(ge=0, le=10_000_000)

    @property
    def occurred_at(self) -> datetime:
        """Midnight starting the counted day in Europe/Paris, as an aware instant."""
        return datetime.combine(self.day, time(0), tzinfo=DAILY_COUNT_ZONE)
