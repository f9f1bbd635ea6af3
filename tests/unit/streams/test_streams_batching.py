"""Batching helpers: decoding a message into a plan, envelopes, backoff, error classes, metrics."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from streams.agents import (
    Backoff,
    BatchOutcome,
    Incoming,
    is_refused_data,
    is_transient,
    plan_message,
)
from streams.deadletter import SourcePosition
from streams.metrics import StreamMetrics
from synopse.db.ingest import WriteCounts
from synopse.domain.codec import encode_batch, encode_event
from synopse.domain.codes import Indicator
from synopse.domain.events import BedSnapshot, EnvironmentObservation, Event
from synopse.domain.topics import DLQ_HEADER_INDEX, ENVIRONMENT
from synopse.errors import ServiceUnavailableError
from synopse.producer import group_into_envelopes

NOW = datetime(2024, 7, 1, 12, tzinfo=UTC)


def observation(station: str = "FR23188", minutes: int = 0, value: float = 12.0) -> EnvironmentObservation:
    return EnvironmentObservation(
        event_id=uuid.uuid4(), station_id=station, indicator=Indicator.PM10, value=value, unit="µg/m³",
        observed_at=NOW - timedelta(minutes=minutes),
    )


def incoming(value: bytes | None, offset: int = 5) -> Incoming:
    return Incoming(SourcePosition("p.synopse.environment.v1", 1, offset, b"FR23188"), value)


def plan(value: bytes | None) -> tuple[list[Event], list[str | None], int]:
    result = plan_message(ENVIRONMENT, incoming(value), dead_letter_topic="p.synopse.environment.v1.dlq", now=NOW)
    return result.events, [letter.header(DLQ_HEADER_INDEX) for letter in result.dead_letters], result.events_in


def test_single_event_message() -> None:
    event = observation()
    events, letters, events_in = plan(encode_event(event))
    assert events == [event]
    assert letters == []
    assert events_in == 1


def test_envelope_with_one_bad_event_keeps_the_others() -> None:
    good = [observation(minutes=i) for i in range(3)]
    items = [json.loads(encode_event(e)) for e in good]
    items.insert(1, {**items[0], "value": -5000.0})  # out of the PM10 range
    events, letters, events_in = plan(json.dumps({"events": items}).encode())
    assert events == good
    assert letters == ["1"]
    assert events_in == 4


def test_unreadable_message_is_one_dead_letter() -> None:
    events, letters, events_in = plan(b"\xff{not json")
    assert events == []
    assert letters == [None]
    assert events_in == 1


def test_batch_outcome_sums_messages_events_and_letters() -> None:
    outcome = BatchOutcome()
    for value in (encode_batch([observation(), observation(minutes=1)]), b"nope", encode_event(observation())):
        outcome.add(plan_message(ENVIRONMENT, incoming(value), dead_letter_topic="d", now=NOW))
    assert (outcome.messages, outcome.events_in, len(outcome.dead_letters)) == (3, 4, 1)


def test_envelopes_group_by_topic_and_key_in_order_and_chunks() -> None:
    a = [observation("FR23188", minutes=i) for i in range(5)]
    b = [observation("FR23251", minutes=i) for i in range(2)]
    beds = BedSnapshot(event_id=uuid.uuid4(), facility_id="hp-confluent", care_unit="icu", observed_at=NOW,
                       beds_total=16, beds_occupied=12)
    mixed: list[Event] = [a[0], b[0], beds, *a[1:], b[1]]
    envelopes = list(group_into_envelopes(mixed, chunk_events=2))
    assert [(topic, key, len(chunk)) for topic, key, chunk in envelopes] == [
        ("synopse.environment.v1", "FR23188", 2),
        ("synopse.environment.v1", "FR23188", 2),
        ("synopse.environment.v1", "FR23188", 1),
        ("synopse.environment.v1", "FR23251", 2),
        ("synopse.bed_snapshots.v1", "hp-confluent", 1),
    ]
    assert [e for _, key, chunk in envelopes if key == "FR23188" for e in chunk] == a
    with pytest.raises(ValueError, match="chunk_events"):
        list(group_into_envelopes(a, chunk_events=0))


def test_backoff_doubles_then_caps() -> None:
    backoff = Backoff(initial_s=0.5, max_s=30.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff.delay(50) == 30.0


def test_error_classes() -> None:
    assert is_transient(psycopg.OperationalError("connection lost"))
    assert is_transient(PoolTimeout("no connection in 30 s"))
    assert is_transient(ServiceUnavailableError("pool not open"))
    assert is_transient(psycopg.errors.UndefinedTable("not migrated yet"))  # fixed by an operator, then retried
    assert is_refused_data(psycopg.errors.NumericValueOutOfRange("bad value"))
    assert is_refused_data(psycopg.errors.CheckViolation("bad row"))
    assert not is_transient(psycopg.errors.CheckViolation("bad row"))
    assert not is_transient(RuntimeError("a bug"))  # crashes the worker; Kafka redelivers after restart


def test_metrics_count_per_topic_and_render() -> None:
    metrics = StreamMetrics()
    metrics.record_batch(
        "synopse.environment.v1", messages=2, events_in=10, counts=WriteCounts(6, 1, 2), dead_lettered=1
    )
    text = metrics.render().decode()
    assert 'synopse_stream_events_in_total{topic="synopse.environment.v1"} 10.0' in text
    assert 'synopse_stream_events_stored_total{topic="synopse.environment.v1"} 7.0' in text
    assert 'synopse_stream_events_unchanged_total{topic="synopse.environment.v1"} 2.0' in text
    assert 'synopse_stream_events_dead_lettered_total{topic="synopse.environment.v1"} 1.0' in text
    assert "synopse_stream_assigned_partitions 0.0" in text
    # Each app has its own registry: a second one starts from zero.
    assert "synopse_stream_events_in_total{" not in StreamMetrics().render().decode()
