"""Fixtures of the stream-worker tests: one database, topic prefix and worker per test module.

A faust worker takes seconds to join its consumer group, so the tests of a module share one; each
test sends its own events (fresh ids and times) and asserts only on those.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.producer import EventProducer
from synopse.runtime.ports import find_free_port
from tests.integration.streams.streams_support import WorkerProcess


@pytest.fixture(scope="module")
def module_db(pg_admin_dsn: str) -> Iterator[str]:
    """A migrated, seeded database for the module's worker, dropped afterwards."""
    name = f"synopse_streams_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # generated name, not input
    dsn = psycopg.conninfo.make_conninfo(pg_admin_dsn, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
    with psycopg.connect(dsn) as conn:
        seed_territory(conn)
    try:
        yield dsn
    finally:
        with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def module_prefix() -> str:
    return f"s{uuid.uuid4().hex[:10]}."


@pytest.fixture(scope="module")
def worker_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("streams")


@pytest.fixture(scope="module")
def worker_config(kafka_bootstrap: str, module_db: str, module_prefix: str, worker_home: Path) -> WorkerProcess:
    """How to run a worker for this module (not started)."""
    return WorkerProcess.configure(
        bootstrap=kafka_bootstrap, dsn=module_db, prefix=module_prefix, app_id=f"g-{module_prefix}",
        web_port=find_free_port(), home=worker_home,
    )


@pytest.fixture(scope="module")
def worker(worker_config: WorkerProcess) -> Iterator[WorkerProcess]:
    """The module's running worker; at the end it must stop cleanly on SIGTERM."""
    worker_config.start()
    try:
        yield worker_config
    finally:
        code = worker_config.stop()
    assert code == 0, worker_config.log_tail()


@pytest.fixture(scope="module")
def producer(kafka_bootstrap: str, module_prefix: str) -> Iterator[EventProducer]:
    with EventProducer(kafka_bootstrap, module_prefix) as events_producer:
        yield events_producer


@pytest.fixture
def db(module_db: str) -> Iterator[psycopg.Connection]:  # type: ignore[type-arg]
    with psycopg.connect(module_db, autocommit=True) as conn:
        yield conn
