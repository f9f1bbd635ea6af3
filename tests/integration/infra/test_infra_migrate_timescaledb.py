"""The migration service of infra/compose.yaml (and the Kubernetes Job) works on TimescaleDB, as CI runs it.

The commands and variables are read from the resolved compose file, then run as the container would, with the
database pointed at a TimescaleDB test server of this module's own: `synopse db migrate` cannot choose a schema,
so it gets a server whose public schema no other test uses (the shared server stays untouched).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.services.timescaledb import TimescaleServer, start_timescaledb_server
from tests.unit.infra.infra_support import compose_config

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).resolve().parents[3] / "synopse" / "db" / "migrations"
SYNOPSE = Path(sys.executable).parent / "synopse"


@pytest.fixture(scope="module")
def dedicated_timescaledb() -> Iterator[TimescaleServer]:
    with start_timescaledb_server() as server:
        yield server


def _run_service(name: str, dsn: str) -> subprocess.CompletedProcess[str]:
    """Run a compose service's command with its environment, the database replaced by ``dsn``."""
    service = compose_config()["services"][name]
    argv = service["command"]
    assert argv[0] == "synopse"
    keep = {key: value for key, value in os.environ.items() if not key.startswith("SYNOPSE_")}
    env = {**keep, **service["environment"], "SYNOPSE_DB__DSN": dsn, "SYNOPSE_LOG_JSON": "false"}
    return subprocess.run(
        [str(SYNOPSE), *argv[1:]], env=env, capture_output=True, text=True, timeout=240, check=False
    )


def test_the_migration_service_builds_the_timescaledb_schema(dedicated_timescaledb: TimescaleServer) -> None:
    dsn = dedicated_timescaledb.dsn
    assert compose_config()["services"]["migrate"]["environment"]["SYNOPSE_DB__TIMESCALEDB"] == "require"

    first = _run_service("migrate", dsn)
    assert first.returncode == 0, first.stderr
    files = sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert f"schema up to date (TimescaleDB): {len(files)} applied" in first.stdout

    with psycopg.connect(dsn) as conn:
        hypertables = {r[0] for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")}
        aggregates = {r[0] for r in conn.execute("SELECT view_name FROM timescaledb_information.continuous_aggregates")}
        recorded = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert {"admissions", "emergency_visits", "bed_snapshots", "environment_observations"} <= hypertables
    assert {"admissions_hourly", "environment_daily"} <= aggregates
    assert recorded == (len(files),)

    # A Job retried, or a second `up`: nothing to do, and it says so.
    again = _run_service("migrate", dsn)
    assert again.returncode == 0, again.stderr
    assert f"0 applied, {len(files)} already applied" in again.stdout

    seeded = _run_service("seed", dsn)
    assert seeded.returncode == 0, seeded.stderr
    with psycopg.connect(dsn) as conn:
        communes = conn.execute("SELECT count(*) FROM communes").fetchone()
    assert communes == (24,)


def test_require_refuses_a_database_without_timescaledb(empty_pg_dsn: str) -> None:
    result = _run_service("migrate", empty_pg_dsn)
    assert result.returncode != 0
    assert "timescaledb" in result.stderr.lower()
    with psycopg.connect(empty_pg_dsn) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables is not None and tables[0] <= 1  # at most the migration ledger: nothing half-built
