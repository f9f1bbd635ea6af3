"""On TimescaleDB, late events reach the continuous aggregates once the worker's refresh requests run.

A real-time continuous aggregate shows raw rows only above its watermark: an event older than that is
invisible until its bucket is re-materialised, and never by the policy when it is older than its 90-day
window. The ingest path asks for a refresh of the late range; ``refresh_requested_aggregates`` (run by
the worker's health rounds) makes the aggregates right.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from synopse.config import TimescaleMode
from synopse.db.health import refresh_requested_aggregates
from synopse.db.ingest import probe_store_options, store_events
from synopse.db.migrate import migrate
from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory
from synopse.domain.events import Admission
from tests.services.timescaledb import TimescaleServer

pytestmark = pytest.mark.integration


def admission(at: datetime) -> Admission:
    return Admission(event_id=uuid.uuid4(), facility_id="hp-confluent", care_unit=CareUnit.MEDICINE, admitted_at=at,
                     age_band=AgeBand.FROM_75, reason=ReasonCategory.INFLUENZA_LIKE, patient_key="a" * 64,
                     commune_code="44109")


def test_late_events_are_refreshed_into_the_continuous_aggregates(
    timescaledb_server: TimescaleServer, schema: str
) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    recent, late, very_late = now - timedelta(days=10), now - timedelta(days=5), now - timedelta(days=100)

    async def scenario() -> tuple[list[tuple[datetime, int]], list[tuple[datetime, int]], int]:
        with psycopg.connect(timescaledb_server.dsn, autocommit=True) as sync:
            sync.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            migrate(sync, timescale=TimescaleMode.REQUIRE)
        conn = await timescaledb_server.connect_async(schema)
        async with conn:
            options = await probe_store_options(conn)
            assert options.continuous_aggregates
            assert not options.copy  # the test server refuses COPY FROM STDIN: the JSON path is used
            await store_events(conn, "synopse.admissions.v1", [admission(recent)], options)
            await conn.commit()
        conn = await timescaledb_server.connect_async(schema, autocommit=True)
        async with conn:
            # Materialise everything up to the real-time window, as the policy would have done by now.
            await conn.execute("CALL refresh_continuous_aggregate('admissions_hourly', NULL, %s)",
                               (now - timedelta(hours=1),))
            await conn.execute("DELETE FROM aggregate_refresh_requests")
            # Read what is materialised only (what a real-time aggregate shows below its watermark): the
            # aggregate's materialisation hypertable.
            row = await (await conn.execute(
                "SELECT materialization_hypertable_schema, materialization_hypertable_name"
                " FROM timescaledb_information.continuous_aggregates"
                " WHERE view_schema = %s AND view_name = 'admissions_hourly'", (schema,))).fetchone()
            assert row is not None
            materialised = sql.SQL("SELECT bucket, admissions::integer FROM {} ORDER BY bucket").format(
                sql.Identifier(*row))
        conn = await timescaledb_server.connect_async(schema)
        async with conn:
            await store_events(conn, "synopse.admissions.v1", [admission(late), admission(very_late)], options)
            await conn.commit()
            before = await (await conn.execute(materialised)).fetchall()
            await conn.rollback()
        conn = await timescaledb_server.connect_async(schema, autocommit=True)
        async with conn:
            refreshed = await refresh_requested_aggregates(conn)
            left = await (await conn.execute("SELECT count(*) FROM aggregate_refresh_requests")).fetchone()
            assert left == (0,)
            after = await (await conn.execute(materialised)).fetchall()
            shown = await (await conn.execute(
                "SELECT bucket, admissions::integer FROM admissions_hourly ORDER BY bucket")).fetchall()
            assert shown == after
        return before, after, refreshed

    before, after, refreshed = asyncio.run(scenario())
    assert before == [(recent, 1)]  # the late events are stored, but not materialised
    assert after == [(very_late, 1), (recent, 1), (late, 1)]
    assert refreshed == 4  # admissions_hourly, admissions_commune_daily and the daily rollups built on them
