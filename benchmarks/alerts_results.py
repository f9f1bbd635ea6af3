"""Shared by the alerts benchmarks: a scratch database, the machine line, and recording into RESULTS.md."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from benchmarks import results_file
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory

SECTION = "## Alerts (`alerts_*.py`)"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated, seeded database on SYNOPSE_BENCH_PG_DSN (superuser) or the machine's PostgreSQL, dropped after."""
    admin = os.environ.get("SYNOPSE_BENCH_PG_DSN", DEFAULT_PG)
    name = f"bench_alerts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # generated name, not input
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
        with psycopg.connect(dsn) as conn:
            seed_territory(conn)
        yield dsn
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def machine_line(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT version()").fetchone()
    return results_file.machine_line((row[0] if row else "PostgreSQL ?").split(" on ")[0])


def record(title: str, lines: list[str]) -> None:
    """Insert an entry at the end of this component's section of RESULTS.md."""
    results_file.record(SECTION, title, lines)
