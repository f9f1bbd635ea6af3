"""Shared fixtures: the real services the tests talk to, started here when they are not given.

- Kafka: ``SYNOPSE_TEST_KAFKA`` (host:port) or an embedded tansu broker started for the session.
- PostgreSQL: ``SYNOPSE_TEST_PG_DSN`` (a superuser DSN), else the machine's server on 127.0.0.1:5432,
  else an embedded PostgreSQL started for the session. Each test gets its own fresh, migrated database.
- TimescaleDB: the PGlite + TimescaleDB test server (tests/timescaledb), started for the session.
Nothing is skipped when a service is missing: it is started, or the test fails saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import psycopg.sql
import pytest

from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.runtime.broker import EmbeddedBroker
from synopse.runtime.ports import find_free_port
from synopse.runtime.postgres import EmbeddedPostgres
from tests.services.timescaledb import TimescaleServer, start_timescaledb_server

SYSTEM_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of a real Kafka-compatible broker."""
    given = os.environ.get("SYNOPSE_TEST_KAFKA")
    if given:
        yield given
        return
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    broker = EmbeddedBroker(port=find_free_port(), log_path=log)
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


def _reachable(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A superuser DSN on a real PostgreSQL server (used to create one database per test)."""
    given = os.environ.get("SYNOPSE_TEST_PG_DSN")
    if given:
        yield given
        return
    if _reachable(SYSTEM_PG):
        yield SYSTEM_PG
        return
    server = EmbeddedPostgres(data_dir=tmp_path_factory.mktemp("pg") / "data", port=find_free_port())
    server.start()
    try:
        yield server.dsn("postgres")
    finally:
        server.stop()


def _with_dbname(dsn: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, dbname=dbname)


@pytest.fixture
def empty_pg_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A brand-new empty database, dropped after the test."""
    name = f"synopse_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # name is generated above, not user input
    try:
        yield _with_dbname(pg_admin_dsn, name)
    finally:
        with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_dsn(empty_pg_dsn: str) -> str:
    """A fresh database with the schema applied and the default territory seeded."""
    with psycopg.connect(empty_pg_dsn, autocommit=True) as conn:
        migrate(conn)
    with psycopg.connect(empty_pg_dsn) as conn:
        seed_territory(conn)
    return empty_pg_dsn


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic prefix, so tests sharing one broker never see each other's messages."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture(scope="session")
def timescaledb_server() -> Iterator[TimescaleServer]:
    """The PGlite + TimescaleDB test server: ONE connection at a time, one database (see its module)."""
    with start_timescaledb_server() as server:
        yield server


@pytest.fixture
def schema(timescaledb_server: TimescaleServer) -> str:
    """A schema of its own on the TimescaleDB test server (it has a single database)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(timescaledb_server.dsn, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(name)))
    return name


REPO_ROOT = Path(__file__).resolve().parent.parent
