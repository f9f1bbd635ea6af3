"""Shared by the alerts benchmarks: a scratch database, the machine line, and recording into RESULTS.md."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from benchmarks import results_file, scratch

SECTION = "## Alerts (`alerts_*.py`)"


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated, seeded database on SYNOPSE_BENCH_PG_DSN (superuser) or the machine's PostgreSQL, dropped after."""
    with scratch.scratch_database("bench_alerts") as dsn:
        yield dsn


def machine_line(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT version()").fetchone()
    return results_file.machine_line((row[0] if row else "PostgreSQL ?").split(" on ")[0])


def record(title: str, lines: list[str]) -> None:
    """Insert an entry at the end of this component's section of RESULTS.md."""
    results_file.record(SECTION, title, lines)
