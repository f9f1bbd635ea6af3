"""Ordered SQL migrations with a ledger table; safe to run again and from several replicas at once.

A migration is ``migrations/NNNN_name.sql``. A file whose name ends in ``.timescaledb.sql`` applies only
where the ``timescaledb`` extension is available (or required by setting); elsewhere it is skipped and
not recorded, so it applies later if the extension appears. An applied file must never change: its
checksum is recorded and a mismatch stops the run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from synopse.config import TimescaleMode
from synopse.errors import ConfigurationError, SynopseError

log = logging.getLogger(__name__)

TIMESCALEDB_SUFFIX = ".timescaledb.sql"
# Arbitrary but fixed: all migrators of one database serialise on this advisory lock.
_LOCK_ID = 0x53594E4F


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def needs_timescaledb(self) -> bool:
        return self.name.endswith(TIMESCALEDB_SUFFIX)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationReport:
    applied: list[str]
    already_applied: list[str]
    skipped: list[str]
    timescaledb: bool


class MigrationError(SynopseError):
    """A migration failed or an applied migration was edited."""


def load_migrations() -> list[Migration]:
    """The migrations shipped with the package, in order."""
    folder = resources.files("synopse.db") / "migrations"
    migrations = [
        Migration(entry.name.split("_", 1)[0], entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    migrations.sort(key=lambda m: m.name)
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version number: {versions}")
    return migrations


def timescaledb_available(conn: psycopg.Connection[Any]) -> bool:
    """True when the extension is installed or can be created in this database."""
    row = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    return bool(row and row[0])


def migrate(
    conn: psycopg.Connection[Any],
    *,
    timescale: TimescaleMode = TimescaleMode.AUTO,
    progress: Callable[[str], None] | None = None,
) -> MigrationReport:
    """Apply every pending migration. The connection must be in autocommit mode.

    Each migration runs in its own transaction together with its ledger row, so a failure leaves the
    database at the previous migration.
    """
    if not conn.autocommit:
        raise ValueError("migrate() needs an autocommit connection (it manages its own transactions)")
    use_timescale = _resolve_timescale(conn, timescale)
    if use_timescale:
        # Created alone and committed first: a CREATE EXTENSION rolled back together with a failed
        # migration can leave the library loaded without its catalog entries on some servers.
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version     text PRIMARY KEY,
               name        text NOT NULL,
               checksum    text NOT NULL,
               applied_at  timestamptz NOT NULL DEFAULT now()
           )"""
    )
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        done = {row[0]: row[1] for row in conn.execute("SELECT name, checksum FROM schema_migrations")}
        applied: list[str] = []
        already: list[str] = []
        skipped: list[str] = []
        for migration in load_migrations():
            if migration.name in done:
                if done[migration.name] != migration.checksum:
                    raise MigrationError(
                        f"{migration.name} was edited after it was applied; add a new migration instead"
                    )
                already.append(migration.name)
                continue
            if migration.needs_timescaledb and not use_timescale:
                skipped.append(migration.name)
                continue
            if progress:
                progress(migration.name)
            _apply(conn, migration)
            applied.append(migration.name)
        return MigrationReport(applied, already, skipped, use_timescale)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))


def _resolve_timescale(conn: psycopg.Connection[Any], mode: TimescaleMode) -> bool:
    if mode is TimescaleMode.OFF:
        return False
    available = timescaledb_available(conn)
    if mode is TimescaleMode.REQUIRE and not available:
        raise ConfigurationError(
            "SYNOPSE_DB__TIMESCALEDB=require but the timescaledb extension is not available on this server"
        )
    return available


def _apply(conn: psycopg.Connection[Any], migration: Migration) -> None:
    log.info("applying migration %s", migration.name, extra={"migration": migration.name})
    try:
        with conn.transaction():
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
    except psycopg.Error as exc:
        raise MigrationError(f"{migration.name} failed: {exc}".strip()) from exc
