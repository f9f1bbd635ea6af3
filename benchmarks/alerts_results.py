"""Shared by the alerts benchmarks: a scratch database, the machine line, and recording into RESULTS.md."""

from __future__ import annotations

import os
import platform
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg

from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
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
    server = (row[0] if row else "PostgreSQL ?").split(" on ")[0]
    load = os.getloadavg()[0]
    return (f"Machine: {psutil.cpu_count()} cores, {platform.system()} {platform.machine()}, Python "
            f"{platform.python_version()}; {server}; 1-minute load average before the run: {load:.2f} "
            "(other engineers' jobs share the machine).")


def record(title: str, lines: list[str]) -> None:
    """Insert an entry at the end of the alerts section of RESULTS.md (created at the end if missing)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = f"\n### {title} — {stamp}\n\n" + "\n".join(lines) + "\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION + "\n"
    head, _, tail = text.partition(SECTION)
    next_section = tail.find("\n## ")
    if next_section == -1:
        text = head + SECTION + tail.rstrip("\n") + "\n" + entry
    else:
        text = head + SECTION + tail[:next_section].rstrip("\n") + "\n" + entry + tail[next_section:]
    RESULTS.write_text(text, encoding="utf-8")
