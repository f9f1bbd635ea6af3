"""The detail page's daily rollups on TimescaleDB: hierarchical continuous aggregates, real-time, re-materialised
by the stream worker's late-event refresh, and the history of an existing database requested for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from synopse.config import TimescaleMode
from synopse.db import migrate as migrate_module
from synopse.db import pages
from synopse.db.health import refresh_requested_aggregates
from synopse.db.ingest import StoreOptions, store_events
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.domain.codes import CareUnit
from synopse.domain.events import Event
from tests.integration.db.test_daily_rollups import (
    FACILITY,
    NANTES,
    REZE,
    TODAY,
    admission,
    at,
    beds,
    expected,
    rounded,
    visit,
)
from tests.services.timescaledb import TimescaleServer

pytestmark = pytest.mark.integration

CAGGS = ("admissions_facility_daily", "emergency_visits_facility_daily", "admissions_residents_daily",
         "emergency_visits_residents_daily", "bed_occupancy_daily")


def store(server: TimescaleServer, schema: str, *batches: Sequence[Event]) -> None:
    """The stream worker's write path, asking for refreshes of late ranges as it does on TimescaleDB."""
    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(server.dsn) as conn:
            await conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            for batch in batches:
                await store_events(conn, "test", batch, StoreOptions(continuous_aggregates=True))
                await conn.commit()
    asyncio.run(run())


def refresh_late(server: TimescaleServer, schema: str) -> int:
    """The stream worker's health round on TimescaleDB."""
    async def run() -> int:
        async with await psycopg.AsyncConnection.connect(server.dsn, autocommit=True) as conn:
            await conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            return await refresh_requested_aggregates(conn)
    return asyncio.run(run())


def observed(server: TimescaleServer, schema: str, **place: str) -> dict:  # type: ignore[type-arg]
    with server.connect(schema) as conn:
        rows = pages.observed_daily(conn, first=TODAY - timedelta(days=20), last=TODAY,
                                    facility_id=place.get("facility"), commune_code=place.get("commune"))
        split = pages.rollup_split(conn, first=TODAY - timedelta(days=20), last=TODAY)
    assert split == TODAY + timedelta(days=1)  # every day from the continuous aggregates
    return {r.day: (r.admissions, r.ed_visits, None if r.beds_occupied is None else round(r.beds_occupied, 6),
                    r.beds_total) for r in rows if r.admissions or r.ed_visits or r.beds_occupied is not None}


def test_daily_rollups_are_real_time_and_refreshed_for_late_events(
    timescaledb_server: TimescaleServer, schema: str
) -> None:
    with timescaledb_server.connect(schema) as conn:
        migrate(conn, timescale=TimescaleMode.REQUIRE)
        seed_territory(conn)
        caggs = {r[0] for r in conn.execute(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates WHERE view_schema = %s", (schema,))}
        state = conn.execute("SELECT complete_before = 'infinity' FROM daily_rollup_state").fetchone()
    assert set(CAGGS) <= caggs and state == (True,)
    first = admission(at(10, 8))
    events: list[Event] = [first, admission(at(5, 9)), admission(at(5, 11), commune=REZE), admission(at(0, 0))]
    visits: list[Event] = [visit(at(5, 12)), visit(at(0, 0))]
    snapshots: list[Event] = [*(beds(at(5, h, m), CareUnit.MEDICINE, 20 + h + m // 30)
                                for h in range(6, 10) for m in (0, 30)), beds(at(5, 7), CareUnit.SURGERY, 10, total=12)]
    store(timescaledb_server, schema, events, visits, snapshots)
    everything = events + visits + snapshots
    # Nothing materialised yet: the real-time part reads every day from the hourly aggregates.
    assert observed(timescaledb_server, schema, facility=FACILITY) == rounded(expected(everything, facility=FACILITY))

    # What the health round does with the requests the batches left (they were late): afterwards the past days
    # are materialised, and a later late event needs the same refresh to be seen.
    assert refresh_late(timescaledb_server, schema) > 0
    with timescaledb_server.connect(schema) as conn:
        left = conn.execute("SELECT count(*) FROM aggregate_refresh_requests").fetchone()
        stored = {view: materialised_rows(conn, schema, view) for view in CAGGS}
    assert left == (0,)
    assert all(stored.values()), stored
    before = expected(everything, facility=FACILITY)
    assert observed(timescaledb_server, schema, facility=FACILITY) == rounded(before)

    # Late: an admission five days back and the A11 cancel of the one ten days back, both under the watermark.
    late: list[Event] = [admission(at(5, 16)),
                         admission(first.admitted_at, cancelled=True, event_id=first.event_id)]
    store(timescaledb_server, schema, late)
    stale = observed(timescaledb_server, schema, facility=FACILITY)
    assert (stale[TODAY - timedelta(days=10)][0], stale[TODAY - timedelta(days=5)][0]) == (1, 2)  # not seen yet
    everything += late
    assert refresh_late(timescaledb_server, schema) > 0
    for place in ({"facility": FACILITY}, {"commune": NANTES}, {"commune": REZE}):
        truth = expected(everything, facility=place.get("facility"), commune=place.get("commune"))
        assert observed(timescaledb_server, schema, **place) == rounded(truth), place
    after = observed(timescaledb_server, schema, facility=FACILITY)
    assert TODAY - timedelta(days=10) not in after and after[TODAY - timedelta(days=5)][0] == 3


def materialised_rows(conn: psycopg.Connection, schema: str, view: str) -> int:
    row = conn.execute(
        "SELECT materialization_hypertable_schema, materialization_hypertable_name"
        " FROM timescaledb_information.continuous_aggregates WHERE view_schema = %s AND view_name = %s",
        (schema, view)).fetchone()
    assert row is not None
    count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*row))).fetchone()
    return int(count[0]) if count else 0


def test_the_migration_requests_the_history_of_an_existing_database(
    timescaledb_server: TimescaleServer, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = migrate_module.load_migrations()
    monkeypatch.setattr(migrate_module, "load_migrations", lambda: [m for m in every if m.version < "0050"])
    with timescaledb_server.connect(schema) as conn:
        migrate(conn, timescale=TimescaleMode.REQUIRE)
    events: list[Event] = [admission(at(200, 10)), admission(at(3, 10))]
    store(timescaledb_server, schema, events)
    with timescaledb_server.connect(schema) as conn:
        conn.execute("DELETE FROM aggregate_refresh_requests")  # as if long refreshed by the policies
    monkeypatch.setattr(migrate_module, "load_migrations", lambda: every)
    with timescaledb_server.connect(schema) as conn:
        migrate(conn, timescale=TimescaleMode.REQUIRE)
        requested = conn.execute("SELECT raw_table, range_start, range_end FROM aggregate_refresh_requests").fetchall()
    assert requested == [("admissions", events[0].admitted_at, events[1].admitted_at)]  # type: ignore[attr-defined]
    long_ago = {"first": TODAY - timedelta(days=200), "last": TODAY - timedelta(days=200), "facility_id": FACILITY}
    with timescaledb_server.connect(schema) as conn:
        # What the refresh policy does (last 90 days, hourly aggregate first): the watermark moves past the
        # old day, which the real-time part then no longer covers.
        now = datetime.now(UTC)
        for view in ("admissions_hourly", "admissions_facility_daily"):
            conn.execute("CALL refresh_continuous_aggregate(%s::regclass, %s, %s)",
                         (view, now - timedelta(days=90), now - timedelta(days=1)))
        assert pages.observed_daily(conn, **long_ago)[0].admissions == 0  # type: ignore[arg-type]
    refresh_late(timescaledb_server, schema)
    with timescaledb_server.connect(schema) as conn:
        assert pages.observed_daily(conn, **long_ago)[0].admissions == 1  # type: ignore[arg-type]
