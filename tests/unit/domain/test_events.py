"""Contracts refuse what would corrupt the store or leak an identity, and accept what the field sends."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from synopse.domain.codec import decode_message, encode_batch, encode_event
from synopse.domain.codes import AgeBand, CareUnit, Indicator, ReasonCategory
from synopse.domain.events import Admission, BedSnapshot, EnvironmentObservation
from synopse.domain.topics import ADMISSIONS, ENVIRONMENT, INPUT_TOPICS

KEY = "a" * 64
PARIS_WINTER = timezone(timedelta(hours=1))


def admission(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "facility_id": "chu-nantes-hotel-dieu",
        "care_unit": "icu",
        "admitted_at": "2026-01-05T10:00:00+01:00",
        "age_band": "75+",
        "reason": "influenza_like",
        "patient_key": KEY,
    }
    return base | overrides


def test_times_are_normalised_to_utc() -> None:
    event = Admission.model_validate(admission())
    assert event.admitted_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert event.admitted_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("admitted_at", "2026-01-05T10:00:00"),  # naive: the zone would be a guess
        ("patient_key", "DUPONT Jean 1953-04-02"),  # a raw identifier must never reach the store
        ("patient_key", "1" * 13),  # nor a social-security-like number
        ("care_unit", "canteen"),
        ("age_band", "42"),
        ("commune_code", "Nantes"),
        ("unexpected", 1),
    ],
)
def test_admission_contract_refuses(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Admission.model_validate(admission(**{field: value}))


def test_discharge_before_admission_is_refused() -> None:
    with pytest.raises(ValidationError, match="before admitted_at"):
        Admission.model_validate(admission(discharged_at="2026-01-05T08:00:00+01:00"))


def observation(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "station_id": "FR23188",
        "indicator": "pm10",
        "value": 42.5,
        "unit": "µg/m3",
        "observed_at": "2023-03-20T08:00:00Z",
    }
    return base | overrides


def test_unit_spellings_of_open_data_are_accepted_and_made_canonical() -> None:
    for unit in ("µg/m3", "ug/m3", "μg/m³", "UG/M3"):
        assert EnvironmentObservation.model_validate(observation(unit=unit)).unit == "µg/m³"


@pytest.mark.parametrize(
    "overrides",
    [
        {"unit": "°C"},  # a temperature unit on PM10: a mapping error upstream
        {"unit": "ppb"},
        {"value": -3.0},
        {"value": float("nan")},
        {"indicator": "temperature", "unit": "°C", "value": 80.0},
    ],
)
def test_environment_contract_refuses(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EnvironmentObservation.model_validate(observation(**overrides))


def test_bed_snapshot_may_exceed_capacity_in_a_crisis() -> None:
    snap = BedSnapshot(
        event_id=uuid.uuid4(),
        facility_id="f",
        care_unit=CareUnit.MEDICINE,
        observed_at=datetime(2026, 1, 1, tzinfo=UTC),
        beds_total=100,
        beds_occupied=112,
    )
    assert snap.key == "f"


def test_batch_keeps_valid_events_and_rejects_each_bad_one_with_its_reason() -> None:
    good = [EnvironmentObservation.model_validate(observation()) for _ in range(3)]
    envelope = json.loads(encode_batch(good))
    envelope["events"].insert(1, observation(unit="°C"))
    decoded = decode_message(ENVIRONMENT, json.dumps(envelope).encode())
    assert decoded.events == good
    assert len(decoded.rejected) == 1
    rejected = decoded.rejected[0]
    assert rejected.index == 1
    assert "does not fit pm10" in rejected.reason
    # The dead-lettered bytes are the bad event alone, replayable as a single-event message.
    assert json.loads(rejected.raw)["unit"] == "°C"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"{not json", "not UTF-8 JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"events": {}}', "batch envelope"),
        (b'{"events": [], "extra": 1}', "batch envelope"),
        (None, "tombstone"),
    ],
)
def test_malformed_messages_are_rejected_whole(raw: bytes | None, reason: str) -> None:
    decoded = decode_message(ADMISSIONS, raw)
    assert decoded.events == []
    assert reason in decoded.rejected[0].reason
    assert decoded.rejected[0].index is None


def test_reasons_never_echo_the_bad_value() -> None:
    decoded = decode_message(ADMISSIONS, json.dumps(admission(patient_key="DUPONT Jean")).encode())
    assert "patient_key" in decoded.rejected[0].reason
    assert "DUPONT" not in decoded.rejected[0].reason


def test_single_event_round_trip() -> None:
    event = Admission.model_validate(admission(commune_code="44109", via_emergency=True))
    assert decode_message(ADMISSIONS, encode_event(event)).events == [event]


def test_every_topic_is_versioned_and_has_a_dead_letter_topic() -> None:
    names = [spec.name for spec in INPUT_TOPICS]
    assert len(set(names)) == len(names)
    for spec in INPUT_TOPICS:
        assert spec.name.endswith(".v1")
        assert spec.dead_letter == spec.name + ".dlq"


def test_codes_are_stable_wire_values() -> None:
    assert AgeBand.FROM_75.value == "75+"
    assert ReasonCategory.HEAT_RELATED.value == "heat_related"
    assert Indicator.PM2_5.value == "pm2_5"
    assert PARIS_WINTER.utcoffset(None) == timedelta(hours=1)
