"""The stream worker end to end: real broker, real PostgreSQL, the worker as its own process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import timedelta

import psycopg
import pytest

from synopse.domain.codec import encode_event
from synopse.domain.codes import Indicator
from synopse.domain.events import EnvironmentObservation, Event
from synopse.domain.topics import (
    ADMISSIONS,
    DLQ_HEADER_ERROR,
    DLQ_HEADER_INDEX,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_TIMESTAMP,
    DLQ_HEADER_TOPIC,
    ENVIRONMENT,
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

pytestmark = pytest.mark.integration

Conn = psycopg.Connection  # type: ignore[type-arg]


def stored(db: Conn, table: str, events: Sequence[Event]) -> int:
    ids = [e.event_id for e in events]
    row = db.execute(f"SELECT count(*) FROM {table} WHERE event_id = ANY(%s)", (ids,)).fetchone()  # noqa: S608
    assert row is not None
    return int(row[0])


def wait_stored(db: Conn, table: str, events: Sequence[Event]) -> None:
    wait_until(lambda: stored(db, table, events) == len(events), what=f"{len(events)} rows in {table}")


def test_events_of_every_kind_are_stored(worker: WorkerProcess, producer: EventProducer, db: Conn) -> None:
    beds = bed_snapshots(24)
    batches: dict[str, Sequence[Event]] = {
        "admissions": admissions(120),
        "emergency_visits": emergency_visits(80),
        "bed_snapshots": beds,
        "environment_observations": observations(300),
    }
    producer.send([event for events in batches.values() for event in events])
    producer.flush()
    for table, events in batches.items():
        wait_stored(db, table, events)
    current = db.execute(
        "SELECT beds_occupied FROM bed_occupancy_current WHERE facility_id = 'sante-atlantique' AND care_unit = 'icu'"
    ).fetchone()
    assert current == (beds[-1].beds_occupied,)
    topics = {row[0] for row in db.execute("SELECT topic FROM source_freshness")}
    assert {"synopse.admissions.v1", "synopse.environment.v1"} <= topics


def test_redelivered_events_change_nothing(worker: WorkerProcess, producer: EventProducer, db: Conn) -> None:
    events = observations(200, station="FR23251")
    producer.send(events)
    producer.flush()
    wait_stored(db, "environment_observations", events)
    before = db.execute("SELECT count(*), max(ingested_at) FROM environment_observations").fetchone()
    unchanged = worker.counter("synopse_stream_events_unchanged", ENVIRONMENT.name)

    producer.send(events)
    producer.flush()
    wait_until(
        lambda: worker.counter("synopse_stream_events_unchanged", ENVIRONMENT.name) >= unchanged + len(events),
        what="the re-sent events to be counted as unchanged",
    )
    assert db.execute("SELECT count(*), max(ingested_at) FROM environment_observations").fetchone() == before


def test_bad_messages_are_dead_lettered_and_the_worker_goes_on(
    worker: WorkerProcess, producer: EventProducer, db: Conn, kafka_bootstrap: str, module_prefix: str
) -> None:
    not_json = b'{"event_id": "truncated'
    producer.send_raw(ADMISSIONS.name, not_json, key=b"chu-nantes-hotel-dieu")
    good = observations(2, station="FR23107")
    invalid = {"event_id": str(uuid.uuid4()), "station_id": "FR23107"}  # required fields missing
    items = [json.loads(encode_event(good[0])), invalid, json.loads(encode_event(good[1]))]
    envelope = json.dumps({"events": items}).encode()
    producer.send_raw(ENVIRONMENT.name, envelope, key=b"FR23107")
    producer.flush()

    (admission_letter,) = read_topic(kafka_bootstrap, module_prefix + ADMISSIONS.dead_letter, expected=1)
    headers = {key: value.decode() for key, value in admission_letter.headers}
    assert admission_letter.value == not_json
    assert admission_letter.key == b"chu-nantes-hotel-dieu"
    assert headers[DLQ_HEADER_ERROR].startswith("not UTF-8 JSON")
    assert headers[DLQ_HEADER_TOPIC] == module_prefix + ADMISSIONS.name
    assert int(headers[DLQ_HEADER_PARTITION]) >= 0
    assert int(headers[DLQ_HEADER_OFFSET]) >= 0
    assert DLQ_HEADER_INDEX not in headers
    assert headers[DLQ_HEADER_TIMESTAMP].endswith("+00:00")

    (event_letter,) = read_topic(kafka_bootstrap, module_prefix + ENVIRONMENT.dead_letter, expected=1)
    headers = {key: value.decode() for key, value in event_letter.headers}
    assert json.loads(event_letter.value) == invalid
    assert headers[DLQ_HEADER_INDEX] == "1"
    assert "indicator" in headers[DLQ_HEADER_ERROR]  # names the missing field, never its value
    wait_stored(db, "environment_observations", good)  # the envelope's valid events

    after = admissions(1)
    producer.send(after)
    producer.flush()
    wait_stored(db, "admissions", after)
    assert worker.counter("synopse_stream_events_dead_lettered", ADMISSIONS.name) == 1


def test_a_message_the_database_refuses_is_isolated(
    worker: WorkerProcess, producer: EventProducer, db: Conn, kafka_bootstrap: str, module_prefix: str
) -> None:
    # A rule only the database knows (a constraint added after the contract) stands in for any refusal
    # the codec cannot foresee.
    db.execute("ALTER TABLE environment_observations ADD CONSTRAINT refuse_for_test CHECK (value <> -42.5)")
    try:
        refused = [
            EnvironmentObservation(event_id=uuid.uuid4(), station_id="07222", indicator=Indicator.TEMPERATURE,
                                   value=value, unit="°C", observed_at=BASE + timedelta(hours=i))
            for i, value in enumerate((3.0, -42.5))
        ]
        accepted = observations(5, station="FR23239")
        producer.send([*refused, *accepted])
        producer.flush()
        wait_stored(db, "environment_observations", accepted)
        letters = [
            record for record in read_topic(kafka_bootstrap, module_prefix + ENVIRONMENT.dead_letter, expected=2)
            if record.key == b"07222"
        ]
        assert len(letters) == 1
        headers = {key: value.decode() for key, value in letters[0].headers}
        assert headers[DLQ_HEADER_ERROR] == "refused by the database: CheckViolation (SQLSTATE 23514)"
        assert len(json.loads(letters[0].value)["events"]) == 2  # the whole message, as sent
        assert stored(db, "environment_observations", refused) == 0
    finally:
        db.execute("ALTER TABLE environment_observations DROP CONSTRAINT refuse_for_test")
