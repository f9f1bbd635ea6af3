"""A feed with 5% malformed messages through the real worker; then the dead letters listed and replayed.

Every valid event is stored; every invalid message or event is in its dead-letter topic with the original
bytes, the source topic/partition/offset, a timestamp and a reason a person understands; the worker goes
on. Then ``synopse dlq list`` shows them without payload values, and once the unknown facility is added
to the reference data ``synopse dlq replay`` stores what it refused, and a second replay resends nothing.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from streams.dlq_commands import dlq_app
from streams.formats.clinical import admission_event_id
from synopse.domain.codec import encode_batch, encode_event
from synopse.domain.events import Event
from synopse.domain.topics import (
    ADMISSIONS,
    BED_SNAPSHOTS,
    DLQ_HEADER_ERROR,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_TIMESTAMP,
    DLQ_HEADER_TOPIC,
    EMERGENCY_VISITS,
    ENVIRONMENT,
    HL7V2_ADT,
)
from synopse.producer import EventProducer
from tests.integration.streams.streams_support import (
    BASE,
    WorkerProcess,
    admissions,
    bed_snapshots,
    emergency_visits,
    observations,
    read_topic,
    wait_until,
)
from tests.unit.streams_formats.hl7_samples import evn, message_bytes, msh, pid, pv1, pv2

pytestmark = pytest.mark.integration

Conn = psycopg.Connection  # type: ignore[type-arg]
UNKNOWN = "clinique-inconnue"
PATIENT_VALUES = ("DUPONT", "19470312", "123456")  # in the HL7 samples: never in a reason or a listing


def _hl7(n: int, facility: str = "hp-confluent", **fields: str) -> bytes:
    return message_bytes(msh("A01", f"M{n}"), evn("A01"), pid(), pv1(visit=f"V{n}", location=f"U^^^{facility}",
                                                                         **fields), pv2())


def _event_json(event: Event, **changes: object) -> bytes:
    return json.dumps({**json.loads(encode_event(event)), **changes}).encode()


def _malformed() -> list[tuple[str, bytes, str]]:
    """(topic, message, words the reason must contain): one of each kind the issue names, and more."""
    adm, visit, obs, beds = admissions(1)[0], emergency_visits(1)[0], observations(1)[0], bed_snapshots(1)[0]
    return [
        (ADMISSIONS.name, b'{"event_id": "truncated', "not UTF-8 JSON"),
        (ENVIRONMENT.name, _event_json(obs, value="high"), "value: Input should be a valid number"),
        (BED_SNAPSHOTS.name, _event_json(beds, beds_total=-3), "beds_total"),
        (ADMISSIONS.name, _event_json(adm, facility_id=UNKNOWN), f"unknown facility '{UNKNOWN}'"),
        (EMERGENCY_VISITS.name, _event_json(visit, arrived_at="2024-01-15T08:00:00"), "timezone"),
        (HL7V2_ADT.name, message_bytes(msh("A01", "B3"), evn("A01"), *pid().split("RUE", 1), pv1(), pv2()),
         "segment 4 is broken"),
        (HL7V2_ADT.name, _hl7(9001, UNKNOWN), f"unknown facility '{UNKNOWN}'"),
        (HL7V2_ADT.name, _hl7(9002, admitted="20240115082000"), "has no UTC offset"),
        (ENVIRONMENT.name, b"[1, 2, 3]", "expected a JSON object"),
        (ADMISSIONS.name, b"\xff\xfe not utf-8", "not UTF-8 JSON"),
    ]


def test_five_percent_malformed_feed_is_stored_or_dead_lettered(
    worker: WorkerProcess, producer: EventProducer, db: Conn, kafka_bootstrap: str, module_prefix: str
) -> None:
    rng = random.Random(44)
    start = BASE + timedelta(days=30)
    valid: dict[str, Sequence[Event]] = {
        "admissions": admissions(120, start=start),
        "emergency_visits": emergency_visits(60, start=start),
        "bed_snapshots": bed_snapshots(20, start=start),
        "environment_observations": observations(80, start=start),
    }
    # 280 valid single-event messages, 10 envelopes (one carrying a bad event), 20 HL7 messages:
    # 310 messages, of which 10 malformed whole, plus 1 malformed event: about 5%.
    feed: list[tuple[str, bytes]] = []
    for events in valid.values():
        feed += [(f"synopse.{_topic_of(e)}.v1", encode_event(e)) for e in events]
    envelope_events = observations(50, start=start + timedelta(days=1), station="FR23251")
    for i in range(0, 50, 5):
        feed.append((ENVIRONMENT.name, encode_batch(envelope_events[i : i + 5])))
    bad_in_envelope = _event_json(observations(1, start=start + timedelta(days=2))[0], unit="furlongs")
    items = [json.loads(encode_event(e)) for e in observations(3, start=start + timedelta(days=3), station="07222")]
    mixed_good = items[:]
    items.insert(1, json.loads(bad_in_envelope))
    feed.append((ENVIRONMENT.name, json.dumps({"events": items}).encode()))
    hl7_valid = [_hl7(n, ("hp-confluent", "sante-atlantique")[n % 2]) for n in range(20)]
    feed += [(HL7V2_ADT.name, message) for message in hl7_valid]
    malformed = _malformed()
    for topic, message, _ in malformed:
        feed.insert(rng.randrange(len(feed)), (topic, message))

    for topic, message in feed:
        producer.send_raw(topic, message, key=b"k")
    producer.flush()

    for table, events in valid.items():
        _wait_stored(db, table, [e.event_id for e in events])
    _wait_stored(db, "environment_observations", [e.event_id for e in envelope_events])
    _wait_stored(db, "environment_observations", [uuid.UUID(item["event_id"]) for item in mixed_good])
    hl7_ids = [admission_event_id(("hp-confluent", "sante-atlantique")[n % 2], f"V{n}") for n in range(20)]
    _wait_stored(db, "admissions", hl7_ids)

    letters = []
    for spec_name, dead_letter in ((s, s + ".dlq") for s in {t for t, _, _ in malformed} | {ENVIRONMENT.name}):
        expected = sum(1 for t, _, _ in malformed if t == spec_name) + (spec_name == ENVIRONMENT.name)
        records = read_topic(kafka_bootstrap, module_prefix + dead_letter, expected=expected)
        assert len(records) == expected, spec_name
        letters += records
    reasons = []
    for record in letters:
        headers = {key: value.decode() for key, value in record.headers}
        assert headers[DLQ_HEADER_TOPIC].startswith(module_prefix)
        assert int(headers[DLQ_HEADER_PARTITION]) >= 0 and int(headers[DLQ_HEADER_OFFSET]) >= 0
        assert datetime.fromisoformat(headers[DLQ_HEADER_TIMESTAMP]).tzinfo is not None
        reasons.append(headers[DLQ_HEADER_ERROR])
        for value in PATIENT_VALUES:
            assert value not in headers[DLQ_HEADER_ERROR]
    for _, _message, words in malformed:
        assert any(words in reason for reason in reasons), (words, reasons)
    assert any("unit 'furlongs'" in reason for reason in reasons)
    assert bad_in_envelope in {record.value for record in letters}  # the bad event alone, as its original JSON
    assert {message for _, message, _ in malformed} <= {record.value for record in letters}  # original bytes

    # The worker went on, and the health table counted what was refused, per input topic.
    after = admissions(1, start=start + timedelta(days=5))
    producer.send(after)
    producer.flush()
    _wait_stored(db, "admissions", [after[0].event_id])
    dead = dict(db.execute(
        "SELECT topic, dead_lettered FROM pipeline_health_topics WHERE consumer_group = %s", (f"g-{module_prefix}",)
    ).fetchall())
    assert dead[HL7V2_ADT.name] == 3 and dead[ENVIRONMENT.name] == 3 and dead[ADMISSIONS.name] == 3


def test_dead_letters_are_listed_then_replayed_once_the_cause_is_fixed(
    worker: WorkerProcess, db: Conn, kafka_bootstrap: str, module_prefix: str, module_db: str
) -> None:
    runner = CliRunner()
    env = {**worker.env, "SYNOPSE_LOG_LEVEL": "WARNING"}
    listed = runner.invoke(dlq_app, ["list", "--topic", "admissions", "--topic", "hl7v2"], env=env)
    assert listed.exit_code == 0, listed.output
    assert f"unknown facility '{UNKNOWN}'" in listed.output
    assert "not UTF-8 JSON" in listed.output and "not JSON (" in listed.output
    for value in PATIENT_VALUES:  # previews name fields, never values
        assert value not in listed.output
    assert listed.output.strip().endswith("6 dead letters in 2 topics (6 shown)")

    dry = runner.invoke(dlq_app, ["replay", "--reason", "unknown facility", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would replay 2 of 2 selected" in dry.output

    # The cause: a facility missing from the reference data. Added, then picked up by the worker.
    db.execute("INSERT INTO facilities (facility_id, name, commune_code, latitude, longitude) "
               "VALUES (%s, 'Clinique inconnue', '44109', 47.2, -1.55)", (UNKNOWN,))
    try:
        reloaded = datetime.now(UTC)
        wait_until(lambda: _health_round_after(db, module_prefix, reloaded), what="a health round (reference reload)")
        replayed = runner.invoke(dlq_app, ["replay", "--reason", "unknown facility"], env=env)
        assert replayed.exit_code == 0, replayed.output
        assert "replayed 2 of 2 selected dead letters (0 already replayed" in replayed.output
        _wait_stored(db, "admissions", [admission_event_id(UNKNOWN, "V9001")])
        rows = db.execute("SELECT count(*) FROM admissions WHERE facility_id = %s", (UNKNOWN,)).fetchone()
        assert rows == (2,)  # the JSON admission and the HL7 one

        again = runner.invoke(dlq_app, ["replay", "--reason", "unknown facility"], env=env)
        assert again.exit_code == 0, again.output
        assert "replayed 0 of 2 selected dead letters (2 already replayed" in again.output
    finally:
        db.execute("DELETE FROM admissions WHERE facility_id = %s", (UNKNOWN,))
        db.execute("DELETE FROM facilities WHERE facility_id = %s", (UNKNOWN,))


def test_unknown_topic_is_a_clear_error(worker: WorkerProcess) -> None:
    result = CliRunner().invoke(dlq_app, ["list", "--topic", "nope"], env=worker.env)
    assert result.exit_code == 1
    assert "unknown input topic nope" in result.output


def _topic_of(event: Event) -> str:
    return {"Admission": "admissions", "EmergencyVisit": "emergency_visits", "BedSnapshot": "bed_snapshots",
            "EnvironmentObservation": "environment"}[type(event).__name__]


def _stored(db: Conn, table: str, ids: Sequence[uuid.UUID]) -> int:
    row = db.execute(f"SELECT count(*) FROM {table} WHERE event_id = ANY(%s)", (list(ids),)).fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _wait_stored(db: Conn, table: str, ids: Sequence[uuid.UUID]) -> None:
    wait_until(lambda: _stored(db, table, ids) == len(ids), what=f"{len(ids)} rows in {table}")


def _health_round_after(db: Conn, prefix: str, when: datetime) -> bool:
    row = db.execute("SELECT max(lag_at) FROM pipeline_health WHERE consumer_group = %s", (f"g-{prefix}",)).fetchone()
    return bool(row and row[0] and row[0] > when + timedelta(seconds=1))
