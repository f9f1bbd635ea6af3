"""kill -9 in the middle of a batch, and a second worker stopped mid-stream: the store stays exact.

"Exact" is checked three ways: the raw rows are exactly the events produced (none missing, none twice),
the live hourly counts derived from them match, and the pipeline's own counters (events in per
partition, which count each offset once) equal what was produced.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from synopse.domain.events import Admission
from synopse.producer import EventProducer
from synopse.runtime.ports import find_free_port
from tests.integration.streams.streams_support import WorkerProcess, admissions, metric, wait_until

pytestmark = pytest.mark.integration

Conn = psycopg.Connection  # type: ignore[type-arg]
# Long enough to drain a backlog of tens of thousands of events on a loaded 2-core CI machine.
DRAIN_TIMEOUT_S = 120.0


def recent(days: int) -> datetime:
    """A start time within the live tables' retention (35 days), on a whole hour."""
    return (datetime.now(UTC) - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


def stored(db: Conn, events: Sequence[Admission]) -> int:
    first, last = events[0].admitted_at, events[-1].admitted_at
    row = db.execute(
        "SELECT count(*) FROM admissions WHERE admitted_at BETWEEN %s AND %s", (first, last)
    ).fetchone()
    return int(row[0]) if row else 0


def assert_exact(db: Conn, events: Sequence[Admission], group: str) -> None:
    first, last = events[0].admitted_at, events[-1].admitted_at
    rows = db.execute(
        "SELECT count(*), count(DISTINCT event_id) FROM admissions WHERE admitted_at BETWEEN %s AND %s",
        (first, last),
    ).fetchone()
    assert rows == (len(events), len(events))
    ids = db.execute(
        "SELECT count(*) FROM admissions WHERE event_id = ANY(%s)", ([e.event_id for e in events],)
    ).fetchone()
    assert ids == (len(events),)
    live = db.execute(
        "SELECT sum(events) FROM live_activity_hourly WHERE scope = 'facility' AND kind = 'admissions' "
        "AND bucket BETWEEN date_trunc('hour', %s::timestamptz) AND %s",
        (first, last),
    ).fetchone()
    assert live is not None and live[0] == len(events)
    counted = db.execute(
        "SELECT sum(events_in) FROM pipeline_health WHERE consumer_group = %s AND topic = 'synopse.admissions.v1'",
        (group,),
    ).fetchone()
    assert counted is not None and counted[0] == len(events)


def another_worker(config: WorkerProcess, name: str, prefix: str) -> WorkerProcess:
    """A worker like the module's, on topics of its own (``prefix``), with its own group, web port and log."""
    env = {**config.env, "SYNOPSE_STREAMS__WEB_PORT": str(port := find_free_port()),
           "SYNOPSE_KAFKA__TOPIC_PREFIX": prefix, "SYNOPSE_STREAMS__APP_ID": f"g-{prefix}"}
    return WorkerProcess(env, port, config.log_path.with_name(f"worker-{name}.log"))


def test_kill_minus_9_mid_batch_then_restart_stores_each_event_once(
    worker_config: WorkerProcess, module_db: str
) -> None:
    # Small batches (4 envelopes, 2000 events a transaction): many transactions, so the kill lands in
    # the middle of the stream, with a transaction open or about to commit.
    config = another_worker(worker_config, "killed", f"k{uuid.uuid4().hex[:10]}.")
    config.env["SYNOPSE_STREAMS__BATCH_SIZE"] = "4"
    events = admissions(60_000, start=recent(days=10), step=timedelta(seconds=5))
    producer_options = {"bootstrap": config.env["SYNOPSE_KAFKA__BOOTSTRAP_SERVERS"],
                        "prefix": config.env["SYNOPSE_KAFKA__TOPIC_PREFIX"]}
    with psycopg.connect(module_db, autocommit=True) as db:
        try:
            config.start()
            with EventProducer(producer_options["bootstrap"], producer_options["prefix"]) as producer:
                producer.send(events)
                producer.flush()
            wait_until(lambda: stored(db, events) > 0, timeout_s=DRAIN_TIMEOUT_S, what="the first batches")
            config.kill()
            at_kill = stored(db, events)
            assert at_kill < len(events), "the backlog drained before the kill: the test proves nothing"

            config.start()
            wait_until(lambda: stored(db, events) == len(events), timeout_s=DRAIN_TIMEOUT_S, what="every event")
            assert_exact(db, events, config.env["SYNOPSE_STREAMS__APP_ID"])
        finally:
            code = config.stop() if config.running() else 0
    assert code == 0, config.log_tail()


def test_a_worker_stopped_mid_stream_hands_its_partitions_over(worker_config: WorkerProcess, module_db: str) -> None:
    prefix = f"p{uuid.uuid4().hex[:10]}."
    first = another_worker(worker_config, "first", prefix)
    second = another_worker(worker_config, "second", prefix)
    for worker in (first, second):
        worker.env["SYNOPSE_STREAMS__BATCH_SIZE"] = "4"
    group = first.env["SYNOPSE_STREAMS__APP_ID"]
    events = admissions(40_000, start=recent(days=20), step=timedelta(seconds=5))
    bootstrap = first.env["SYNOPSE_KAFKA__BOOTSTRAP_SERVERS"]
    with psycopg.connect(module_db, autocommit=True) as db:
        try:
            first.start()
            second.start()
            # Both share the partitions once the group has settled.
            wait_until(lambda: assigned(first) > 0 and assigned(second) > 0 and assigned(first) + assigned(second)
                       == total_partitions(first), timeout_s=60, what="the two workers to share the partitions")
            with EventProducer(bootstrap, prefix) as producer:
                producer.send(events)
                producer.flush()
            wait_until(lambda: stored(db, events) > 0, timeout_s=DRAIN_TIMEOUT_S, what="the first batches")
            assert first.stop() == 0, first.log_tail()
            assert stored(db, events) < len(events), "the backlog drained before the stop: the test proves nothing"
            wait_until(lambda: assigned(second) == total_partitions(second), timeout_s=60,
                       what="the second worker to take every partition over")
            wait_until(lambda: stored(db, events) == len(events), timeout_s=DRAIN_TIMEOUT_S, what="every event")
            assert_exact(db, events, group)
        finally:
            if first.running():
                first.stop()
            code = second.stop() if second.running() else 0
    assert code == 0, second.log_tail()


def assigned(worker: WorkerProcess) -> float:
    return metric(worker.metrics(), "synopse_stream_assigned_partitions") if worker.running() else 0.0


def total_partitions(worker: WorkerProcess) -> float:
    # Every input topic (5 JSON contracts, 2 raw clinical topics) has SYNOPSE_KAFKA__PARTITIONS (6) partitions.
    return 7 * 6.0
