"""A simulation run lands in the real broker: every event on its topic and key, decodable, none lost or extra."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta

import pytest
from kafka import KafkaConsumer, TopicPartition

from simulator.model import count_by_kind, generate
from simulator.run import run_simulation
from simulator.scenario import default_scenario
from synopse.domain.codec import decode_message
from synopse.domain.events import Event
from synopse.domain.topics import INPUT_TOPICS, TopicSpec

pytestmark = pytest.mark.integration


def _consume_all(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of a topic, read from the beginning of each partition to its end."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        deadline = time.monotonic() + timeout_s
        partitions = consumer.partitions_for_topic(topic)
        while partitions is None and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic)
        assert partitions, f"topic {topic} does not exist"
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        records: list[tuple[bytes, bytes]] = []
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            assert time.monotonic() < deadline, f"timed out reading {topic}"
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend((r.key, r.value) for r in batch)
        return records
    finally:
        consumer.close()


def test_a_run_sends_exactly_the_generated_events(kafka_bootstrap, topic_prefix):
    scenario = default_scenario(backfill=timedelta(hours=3))
    started = time.monotonic()
    summary = run_simulation(kafka_bootstrap, topic_prefix, scenario, backfill=timedelta(hours=3), max_hours=2)
    elapsed = time.monotonic() - started
    assert summary.stopped_by == "max_hours"
    expected = generate(scenario, summary.origin, summary.simulated_to)
    assert summary.events == count_by_kind(expected)

    received: list[Event] = []
    for spec in INPUT_TOPICS:
        spec_expected = [e for e in expected if isinstance(e, spec.model)]
        got = _decoded(spec, _consume_all(kafka_bootstrap, topic_prefix + spec.name))
        assert len(got) == len(spec_expected), spec.name
        # Per key (a facility, a station), the order sent is the order read.
        by_key: dict[str, list[Event]] = defaultdict(list)
        for event in spec_expected:
            by_key[event.key].append(event)
        assert _by_key(got) == by_key
        received.extend(got)
    assert len(received) == len(expected) > 200  # two hours: ~80 bed snapshots an hour, visits, readings
    assert elapsed < 60


def _decoded(spec: TopicSpec, records: list[tuple[bytes, bytes]]) -> list[Event]:
    events: list[Event] = []
    for key, value in records:
        decoded = decode_message(spec, value)
        assert decoded.rejected == []
        assert {e.key for e in decoded.events} == {key.decode()}
        events.extend(decoded.events)
    return events


def _by_key(events: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        grouped[event.key].append(event)
    return grouped
