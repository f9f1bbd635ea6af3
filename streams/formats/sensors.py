"""Environmental sensor payloads (as MQTT carries them) to EnvironmentObservation events.

Pure. A payload is UTF-8 JSON, one of:

- a batch envelope ``{"events": [<observation>, ...]}`` (the contract's own form);
- one observation ``{"event_id", "station_id", "indicator", "value", "unit", "observed_at"}``;
- a list of observations and/or readings ``[...]``;
- a compact reading, the shape sensor firmware commonly sends: ``{"station": "FR23188",
  "time": "2024-01-15T08:00:00Z", "pm10": 21.5, "no2": 40.1}``. Each indicator key (the contract's
  indicator names, e.g. ``pm10``, ``pm2_5`` or ``pm25``, ``no2``, ``o3``, ``temperature``) gives one
  observation in the indicator's canonical unit (µg/m³, °C, index, gc/L); ``time`` is ISO 8601 with a
  zone, or Unix seconds. Its ``event_id`` derives from station, indicator and time, so a re-sent
  reading updates instead of adding.

Invalid parts are returned with a reason; valid neighbours are kept.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from synopse.domain.codec import (
    BATCH_FIELD,
    MAX_BATCH_EVENTS,
    Decoded,
    Rejected,
    decode_message,
    describe_validation_error,
)
from synopse.domain.codes import INDICATOR_UNITS, Indicator
from synopse.domain.events import EnvironmentObservation, UtcDatetime
from synopse.domain.topics import ENVIRONMENT

# Ids of compact readings: uuid5(namespace, "station|indicator|instant"), stable across re-sends.
READING_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:synopse:environment-reading")
READING_STATION = "station"
READING_TIME = "time"
# Spellings of firmware for indicators whose contract name has an underscore.
INDICATOR_ALIASES: dict[str, Indicator] = {"pm25": Indicator.PM2_5, "pm2.5": Indicator.PM2_5}
_READING_INDICATORS: dict[str, Indicator] = {**{i.value: i for i in Indicator}, **INDICATOR_ALIASES}
_INSTANT: TypeAdapter[datetime] = TypeAdapter(UtcDatetime)


def decode_sensor_payload(raw: bytes | None) -> Decoded:
    """Validate one sensor payload into environmental observations; never raises on bad input."""
    if raw is None:
        return Decoded(rejected=[Rejected(b"", "empty payload")])
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Decoded(rejected=[Rejected(raw, f"not UTF-8 JSON: {exc}")])
    if isinstance(document, dict) and (BATCH_FIELD in document or "indicator" in document):
        return decode_message(ENVIRONMENT, raw)
    if isinstance(document, dict) and READING_STATION in document:
        return _decode_reading(document, raw, None)
    if isinstance(document, list):
        if len(document) > MAX_BATCH_EVENTS:
            return Decoded(rejected=[Rejected(raw, f"list of {len(document)} items exceeds {MAX_BATCH_EVENTS}")])
        decoded = Decoded()
        for index, item in enumerate(document):
            part = _decode_item(item, index)
            decoded.events.extend(part.events)
            decoded.rejected.extend(part.rejected)
        return decoded
    return Decoded(rejected=[Rejected(raw, _UNKNOWN_SHAPE)])


_UNKNOWN_SHAPE = (
    'neither an observation (event_id, station_id, indicator, value, unit, observed_at), a batch {"events": [...]}, '
    'a list, nor a reading {"station": ..., "time": ..., "<indicator>": value}'
)


def reading_event_id(station: str, indicator: Indicator, observed_at: datetime) -> uuid.UUID:
    """The id of one indicator of a compact reading: the same reading re-sent keeps it."""
    instant = observed_at.astimezone(UTC).isoformat()
    return uuid.uuid5(READING_NAMESPACE, f"{station.strip()}|{indicator.value}|{instant}")


def _decode_item(item: object, index: int) -> Decoded:
    raw = json.dumps(item, ensure_ascii=False).encode()
    if isinstance(item, dict) and READING_STATION in item:
        return _decode_reading(item, raw, index)
    if isinstance(item, dict):
        try:
            return Decoded(events=[EnvironmentObservation.model_validate(item)])
        except ValidationError as exc:
            return Decoded(rejected=[Rejected(raw, describe_validation_error(exc), index)])
    return Decoded(rejected=[Rejected(raw, _UNKNOWN_SHAPE, index)])


def _decode_reading(reading: dict[str, Any], raw: bytes, index: int | None) -> Decoded:
    """A compact reading: one observation per indicator key; a bad value costs only its own indicator."""
    unknown = sorted(k for k in reading if k not in (READING_STATION, READING_TIME) and k not in _READING_INDICATORS)
    if unknown:
        return Decoded(rejected=[Rejected(raw, f"reading: unknown field(s) {', '.join(unknown)} (indicators: "
                                               f"{', '.join(i.value for i in Indicator)})", index)])
    station = reading.get(READING_STATION)
    if not isinstance(station, str) or not station.strip():
        return Decoded(rejected=[Rejected(raw, "reading: station must be a station id (text)", index)])
    try:
        observed_at = _INSTANT.validate_python(reading.get(READING_TIME))
    except ValidationError as exc:
        reasons = "; ".join(error["msg"] for error in exc.errors(include_input=False, include_url=False))
        return Decoded(rejected=[Rejected(raw, f"reading: time: {reasons}", index)])
    indicators = [k for k in reading if k in _READING_INDICATORS]
    if not indicators:
        return Decoded(rejected=[Rejected(raw, "reading: no indicator value", index)])
    decoded = Decoded()
    for name in indicators:
        indicator = _READING_INDICATORS[name]
        value = reading[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            reason = f"reading: {name} must be a number"
        else:
            try:
                decoded.events.append(
                    EnvironmentObservation(
                        event_id=reading_event_id(station, indicator, observed_at),
                        station_id=station,
                        indicator=indicator,
                        value=float(value),
                        unit=INDICATOR_UNITS[indicator],
                        observed_at=observed_at,
                    )
                )
                continue
            except ValidationError as exc:
                    reason = f"reading: {name}: {describe_validation_error(exc)}"
        # A bad indicator of a multi-indicator reading is dead-lettered as a reading of its own (replayable).
        single = {READING_STATION: station, READING_TIME: reading.get(READING_TIME), name: value}
        part_raw = raw if len(indicators) == 1 else json.dumps(single, ensure_ascii=False).encode()
        decoded.rejected.append(Rejected(part_raw, reason, index))
    return decoded
