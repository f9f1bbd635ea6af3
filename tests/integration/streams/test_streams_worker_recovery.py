"""A database outage neither loses a batch nor kills the worker; a stop while retrying acks nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest

from synopse.domain.events import Event
from synopse.domain.topics import ENVIRONMENT
from synopse.producer import EventProducer
from tests.integration.streams.streams_support import BASE, WorkerProcess, observations, wait_until

pytestmark = pytest.mark.integration


def stored(dsn: str, events: Sequence[Event]) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM environment_observations WHERE event_id = ANY(%s)", ([e.event_id for e in events],)
        ).fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def database_down(admin_dsn: str, dsn: str) -> Iterator[None]:
    """Refuse new connections to the database and cut the open ones, as an outage or a failover would."""
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')  # generated name, not input
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        yield
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def retries(worker: WorkerProcess) -> float:
    return worker.counter("synopse_stream_store_retries", ENVIRONMENT.name)


def test_database_outage_loses_nothing(
    worker_config: WorkerProcess, producer: EventProducer, module_db: str, pg_admin_dsn: str
) -> None:
    worker = worker_config
    worker.start()
    try:
        baseline = observations(10)
        producer.send(baseline)
        producer.flush()
        wait_until(lambda: stored(module_db, baseline) == 10, what="the baseline events")

        # The batch in hand is retried until the database is back, in the same process.
        during = observations(50, start=BASE + timedelta(days=1))
        with database_down(pg_admin_dsn, module_db):
            producer.send(during)
            producer.flush()
            wait_until(lambda: retries(worker) > 0, what="the worker to retry the batch")
            assert worker.process is not None and worker.process.poll() is None
        wait_until(lambda: stored(module_db, during) == 50, what="the batch held during the outage")

        # Stopped while retrying: it stops cleanly and acks nothing, so a new worker gets the batch again.
        before_stop = observations(30, start=BASE + timedelta(days=2))
        with database_down(pg_admin_dsn, module_db):
            seen = retries(worker)
            producer.send(before_stop)
            producer.flush()
            wait_until(lambda: retries(worker) > seen, what="the worker to retry the second batch")
            assert worker.stop(timeout_s=20) == 0, worker.log_tail()
        assert stored(module_db, before_stop) == 0
        worker.start()
        wait_until(lambda: stored(module_db, before_stop) == 30, what="the unacked batch to be redelivered")
    finally:
        code = worker.stop()
    assert code == 0, worker.log_tail()
