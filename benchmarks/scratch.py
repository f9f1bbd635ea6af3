"""A throw-away database for a benchmark: created migrated (and seeded) on the machine's PostgreSQL, dropped after.

``SYNOPSE_BENCH_PG_DSN`` names a superuser connection (default: PostgreSQL on 127.0.0.1:5432, trust auth),
so that a benchmark never writes into a database someone uses.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_dsn() -> str:
    return os.environ.get("SYNOPSE_BENCH_PG_DSN", DEFAULT_PG)


@contextmanager
def scratch_database(prefix: str, *, seed: bool = True) -> Iterator[str]:
    """The DSN of a new database named ``prefix`` plus a random suffix, migrated and, if ``seed``, holding
    the reference territory; dropped on exit whatever happened."""
    admin = admin_dsn()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # generated name, not input
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
        if seed:
            with psycopg.connect(dsn) as conn:
                seed_territory(conn)
        yield dsn
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
