"""Sensor payloads (as MQTT carries them) to observations: every accepted shape, and partial refusals."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from streams.formats.sensors import decode_sensor_payload, reading_event_id
from synopse.domain.codec import encode_batch, encode_event
from synopse.domain.codes import Indicator
from synopse.domain.events import EnvironmentObservation

AT = datetime(2024, 1, 15, 8, tzinfo=UTC)


def observation(value: float = 21.5, indicator: Indicator = Indicator.PM10) -> EnvironmentObservation:
    return EnvironmentObservation(event_id=uuid.uuid4(), station_id="FR23188", indicator=indicator, value=value,
                                  unit="µg/m³", observed_at=AT)


def test_the_contract_forms_one_event_and_an_envelope() -> None:
    one = observation()
    assert decode_sensor_payload(encode_event(one)).events == [one]
    many = [observation(v) for v in (1.0, 2.0, 3.0)]
    assert decode_sensor_payload(encode_batch(many)).events == many


def test_a_compact_reading_gives_one_observation_per_indicator() -> None:
    raw = json.dumps({"station": "FR23188", "time": "2024-01-15T09:00:00+01:00", "pm10": 21.5, "pm25": 12,
                      "no2": 40.1}).encode()
    decoded = decode_sensor_payload(raw)
    assert decoded.rejected == []
    assert [(e.indicator, e.value, e.unit, e.observed_at) for e in decoded.events] == [
        (Indicator.PM10, 21.5, "µg/m³", AT), (Indicator.PM2_5, 12.0, "µg/m³", AT), (Indicator.NO2, 40.1, "µg/m³", AT)]
    assert decoded.events[0].event_id == reading_event_id("FR23188", Indicator.PM10, AT)
    again = decode_sensor_payload(raw)  # the same reading re-sent keeps its ids: it updates, never adds
    assert [e.event_id for e in again.events] == [e.event_id for e in decoded.events]


def test_unix_seconds_and_a_list_of_both_forms() -> None:
    items = [{"station": "07222", "time": int(AT.timestamp()), "temperature": -2.5},
             json.loads(encode_event(observation())), {"station": "07222", "time": "2024-01-15T08:00:00Z",
                                                      "temperature": 99}]
    decoded = decode_sensor_payload(json.dumps(items).encode())
    assert [e.indicator for e in decoded.events] == [Indicator.TEMPERATURE, Indicator.PM10]
    assert decoded.events[0].observed_at == AT and decoded.events[0].unit == "°C"
    [rejected] = decoded.rejected
    assert rejected.index == 2 and "temperature=99.0 °C is outside [-60.0, 60.0]" in rejected.reason


def test_a_bad_indicator_costs_only_itself() -> None:
    raw = json.dumps({"station": "FR23188", "time": "2024-01-15T08:00:00Z", "pm10": 20, "o3": "high"}).encode()
    decoded = decode_sensor_payload(raw)
    assert [e.indicator for e in decoded.events] == [Indicator.PM10]
    [rejected] = decoded.rejected
    assert rejected.reason == "reading: o3 must be a number"
    assert json.loads(rejected.raw) == {"station": "FR23188", "time": "2024-01-15T08:00:00Z", "o3": "high"}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"pm10=21", "not UTF-8 JSON"),
        (b"42", "neither an observation"),
        (b'{"station": "FR23188", "time": "2024-01-15T08:00:00", "pm10": 3}',
         "reading: time: Input should have timezone"),
        (b'{"station": "FR23188", "time": "2024-01-15T08:00:00Z", "pm10": 3, "rssi": -70}', "unknown field(s) rssi"),
        (b'{"station": "FR23188", "time": "2024-01-15T08:00:00Z"}', "reading: no indicator value"),
        (b'{"station": 12, "time": "2024-01-15T08:00:00Z", "pm10": 3}', "station must be a station id"),
        (b'{"station": "bad station!", "time": "2024-01-15T08:00:00Z", "pm10": 3}', "station_id: String should match"),
        (b'{"station": "FR23188", "time": "2024-01-15T08:00:00Z", "pm10": true}', "pm10 must be a number"),
        (b'{"event_id": "x", "indicator": "pm10"}', "event_id: Input should be a valid UUID"),
    ],
)
def test_invalid_payloads_say_why(payload: bytes, expected: str) -> None:
    decoded = decode_sensor_payload(payload)
    assert decoded.events == []
    assert any(expected in r.reason for r in decoded.rejected), [r.reason for r in decoded.rejected]
