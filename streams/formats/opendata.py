"""Rows of open-data CSV files to domain events: Santé publique France hospital counts, daily temperatures.

Pure: one row (a mapping of column name to text) in, events out, or a ContractError naming the column.
Column names are parameters, so another department's or another publisher's file with the same
content under other headers maps too. An empty cell is a value the publisher did not give: no event,
never a zero.

- SpF SI-VIC daily files (stocks ``hosp, rea, HospConv, SSR_USLD, autres, rad, dc`` and new
  ``incid_hosp, incid_rea, incid_dc, incid_rad``) are counts per department and day, not admissions:
  they become :class:`HospitalDailyCount` events, one per measure.
- Daily temperature files (``tmin, tmax, tmoy``) become :class:`EnvironmentObservation` events of the
  daily minimum, maximum and mean, at midnight starting the civil day in Europe/Paris (the convention
  of daily environmental values).
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

from pydantic import ValidationError

from streams.formats.sensors import reading_event_id
from synopse.domain.codec import describe_validation_error
from synopse.domain.codes import INDICATOR_UNITS, Indicator, ReasonCategory
from synopse.domain.events import DAILY_COUNT_ZONE, EnvironmentObservation, HospitalDailyCount, HospitalMeasure
from synopse.errors import ContractError

# Ids of daily counts: uuid5(namespace, "source|area|condition|measure|day"); a revised count keeps its id.
DAILY_COUNT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:synopse:hospital-daily-count")

SPF_HOSPITAL_MEASURES: dict[str, HospitalMeasure] = {
    "hosp": HospitalMeasure.HOSPITALISED,
    "rea": HospitalMeasure.CRITICAL_CARE,
    "HospConv": HospitalMeasure.CONVENTIONAL,
    "SSR_USLD": HospitalMeasure.FOLLOW_UP_LONG_TERM,
    "autres": HospitalMeasure.OTHER_UNITS,
    "rad": HospitalMeasure.DISCHARGES_HOME_CUMULATIVE,
    "dc": HospitalMeasure.DEATHS_CUMULATIVE,
    "incid_hosp": HospitalMeasure.ADMISSIONS,
    "incid_rea": HospitalMeasure.CRITICAL_CARE_ADMISSIONS,
    "incid_dc": HospitalMeasure.DEATHS,
    "incid_rad": HospitalMeasure.DISCHARGES_HOME,
}

TerritoryLevel = Literal["dep", "reg", "com", "fr"]
_FRENCH_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


@dataclass(frozen=True)
class HospitalColumns:
    """Where an SpF-shaped hospital file keeps its values, and what its counts are about."""

    date: str = "date"
    territory: str = "dep"
    level: TerritoryLevel = "dep"
    measures: Mapping[str, HospitalMeasure] = field(default_factory=lambda: dict(SPF_HOSPITAL_MEASURES))
    condition: ReasonCategory | Literal["all"] = ReasonCategory.COVID19
    source: str = "spf-sivic"


@dataclass(frozen=True)
class TemperatureColumns:
    """Where a daily temperature file keeps its values; the station defaults to one per area."""

    date: str = "date"
    territory: str = "code_insee_departement"
    minimum: str = "tmin"
    maximum: str = "tmax"
    mean: str = "tmoy"
    station: str | None = None

    def station_for(self, area: str) -> str:
        """The station id of an area's values: the given one, else ``temperature-dep<code>`` (an average)."""
        return self.station or f"temperature-dep{area}"


def parse_day(text: str, column: str) -> date:
    """An ISO date (``2020-03-18``) or a French one (``18/03/2020``)."""
    value = text.strip()
    try:
        if match := _FRENCH_DATE.match(value):
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ContractError(f"column {column}: {value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)") from None


def territory_code(level: TerritoryLevel, code: str, column: str) -> str:
    """The contract's area id: ``dep:44``, ``reg:52``, ``com:44109``, ``fr``."""
    if level == "fr":
        return "fr"
    value = code.strip().upper()
    if value.isdigit() and level in ("dep", "reg"):
        value = value.zfill(2)
    if not value:
        raise ContractError(f"column {column} is empty")
    return f"{level}:{value}"


def _count(text: str, column: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        raise ContractError(f"column {column}: {value!r} is not a number") from None
    # Some re-exports write counts as floats ("600.0"); a fraction is not a count.
    if not math.isfinite(number) or number != int(number):
        raise ContractError(f"column {column}: {value!r} is not a whole count")
    return int(number)


def _measurement(text: str, column: str) -> float | None:
    value = text.strip()
    if not value:
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise ContractError(f"column {column}: {value!r} is not a number") from None


def _cell(row: Mapping[str, str | None], column: str) -> str:
    if column not in row:
        raise ContractError(f"column {column} is missing")
    return row[column] or ""


def daily_count_id(source: str, territory: str, condition: str, measure: HospitalMeasure, day: date) -> uuid.UUID:
    """The stable id of one published count: a revision of it keeps it."""
    return uuid.uuid5(DAILY_COUNT_NAMESPACE, f"{source}|{territory}|{condition}|{measure.value}|{day.isoformat()}")


def hospital_row_events(row: Mapping[str, str | None], columns: HospitalColumns) -> list[HospitalDailyCount]:
    """The daily counts of one row (one per measure column present and not empty)."""
    day = parse_day(_cell(row, columns.date), columns.date)
    code = _cell(row, columns.territory) if columns.level != "fr" else ""
    area = territory_code(columns.level, code, columns.territory)
    condition = str(getattr(columns.condition, "value", columns.condition))
    events = []
    for column, measure in columns.measures.items():
        if column not in row:
            continue
        value = _count(row[column] or "", column)
        if value is None:
            continue
        try:
            events.append(
                HospitalDailyCount(
                    event_id=daily_count_id(columns.source, area, condition, measure, day),
                    source=columns.source, territory=area, day=day, condition=columns.condition,
                    measure=measure, value=value,
                )
            )
        except ValidationError as exc:
            raise ContractError(f"column {column}: {describe_validation_error(exc)}") from None
    return events


def temperature_row_events(row: Mapping[str, str | None], columns: TemperatureColumns) -> list[EnvironmentObservation]:
    """The daily minimum, maximum and mean of one row (those not empty), at the start of the local day."""
    day = parse_day(_cell(row, columns.date), columns.date)
    area = (row.get(columns.territory) or "").strip() if columns.station is None else ""
    if columns.station is None and not area:
        raise ContractError(f"column {columns.territory} is empty (or give the station)")
    station = columns.station_for(area)
    observed_at = datetime.combine(day, time(0), tzinfo=DAILY_COUNT_ZONE)
    events = []
    for column, indicator in (
        (columns.minimum, Indicator.TEMPERATURE_DAILY_MIN),
        (columns.maximum, Indicator.TEMPERATURE_DAILY_MAX),
        (columns.mean, Indicator.TEMPERATURE_DAILY_MEAN),
    ):
        value = _measurement(_cell(row, column), column)
        if value is None:
            continue
        try:
            events.append(
                EnvironmentObservation(
                    event_id=reading_event_id(station, indicator, observed_at), station_id=station,
                    indicator=indicator, value=value, unit=INDICATOR_UNITS[indicator], observed_at=observed_at,
                )
            )
        except ValidationError as exc:
            raise ContractError(f"column {column}: {describe_validation_error(exc)}") from None
    return events
