"""On a real TimescaleDB the same migrations make hypertables, continuous aggregates and policies."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from synopse.config import TimescaleMode
from synopse.db.ingest import store_events
from synopse.db.migrate import load_migrations, migrate
from synopse.domain.codes import CareUnit, Indicator
from synopse.domain.events import BedSnapshot, EnvironmentObservation
from tests.services.timescaledb import TimescaleServer

pytestmark = pytest.mark.integration


def test_migrations_apply_twice_with_timescaledb_features(timescaledb_server: TimescaleServer, schema: str) -> None:
    with timescaledb_server.connect(schema) as conn:
        first = migrate(conn, timescale=TimescaleMode.REQUIRE)
        second = migrate(conn, timescale=TimescaleMode.REQUIRE)
        hypertables = {r[0] for r in conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = %s", (schema,))}
        caggs = {r[0] for r in conn.execute(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates WHERE view_schema = %s", (schema,))}
        jobs = conn.execute(
            """SELECT proc_name, count(*) FROM timescaledb_information.jobs
               WHERE hypertable_schema = %s OR hypertable_name IN (
                   SELECT materialization_hypertable_name FROM timescaledb_information.continuous_aggregates
                   WHERE view_schema = %s)
               GROUP BY proc_name""",
            (schema, schema),
        ).fetchall()
    assert first.timescaledb
    assert first.applied == [m.name for m in load_migrations()]
    assert second.applied == []
    assert hypertables == {"admissions", "emergency_visits", "bed_snapshots", "environment_observations"}
    assert caggs == {
        "admissions_hourly", "admissions_commune_daily", "emergency_visits_hourly",
        "emergency_visits_commune_daily", "bed_occupancy_hourly", "environment_hourly", "environment_daily",
        # the daily rollups of the detail page (0051), hierarchical over the ones above
        "admissions_facility_daily", "emergency_visits_facility_daily", "admissions_residents_daily",
        "emergency_visits_residents_daily", "bed_occupancy_daily",
    }
    by_proc = dict(jobs)
    assert by_proc.get("policy_refresh_continuous_aggregate") == 12
    assert by_proc.get("policy_compression") == 4
    assert by_proc.get("policy_retention") == 2


def test_aggregates_read_the_same_names_with_fresh_data(timescaledb_server: TimescaleServer, schema: str) -> None:
    with timescaledb_server.connect(schema) as conn:
        migrate(conn, timescale=TimescaleMode.REQUIRE)
    start = datetime(2026, 7, 1, 10, tzinfo=UTC)
    observations = [
        EnvironmentObservation(event_id=uuid.uuid4(), station_id="FR23188", indicator=Indicator.PM10,
                               value=float(v), unit="µg/m³", observed_at=start + timedelta(minutes=15 * i))
        for i, v in enumerate([40, 60, 80, 100])
    ]
    snapshots = [
        BedSnapshot(event_id=uuid.uuid4(), facility_id="chu", care_unit=CareUnit.ICU,
                    observed_at=start + timedelta(minutes=30 * i), beds_total=80, beds_occupied=70 + i)
        for i in range(2)
    ]

    async def load() -> None:
        async with await psycopg.AsyncConnection.connect(timescaledb_server.dsn) as aconn:
            await aconn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            await store_events(aconn, "env", observations)
            await store_events(aconn, "beds", snapshots)
            await store_events(aconn, "env", observations)  # re-delivery
            await aconn.commit()

    asyncio.run(load())
    with timescaledb_server.connect(schema) as conn:
        hourly = conn.execute("SELECT value_avg, value_max, observations FROM environment_hourly").fetchall()
        beds = conn.execute("SELECT beds_occupied_max, beds_total_max, snapshots FROM bed_occupancy_hourly").fetchall()
        raw = conn.execute("SELECT count(*) FROM environment_observations").fetchone()
    assert hourly == [(70.0, 100.0, 4)]
    assert beds == [(71, 80, 2)]
    assert raw == (4,)
