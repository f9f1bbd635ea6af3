"""A correction that moves an admission in time (an HL7 A08 fixing the admission time) replaces its row."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from synopse.config import TimescaleMode
from synopse.db.ingest import COPY_MIN_ROWS, StoreOptions, WriteCounts, probe_store_options, store_events
from synopse.db.migrate import migrate
from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory
from synopse.domain.events import Admission, EmergencyVisit
from tests.services.timescaledb import TimescaleServer

FACILITY = "chu-nantes-hotel-dieu"
COMMUNE = "44109"
FIRST = datetime(2026, 3, 2, 8, 20, tzinfo=UTC)
MOVED = datetime(2026, 3, 1, 22, 40, tzinfo=UTC)  # corrected: the evening before, another day and hour


def _admission(event_id: uuid.UUID, at: datetime) -> Admission:
    return Admission(
        event_id=event_id, facility_id=FACILITY, care_unit=CareUnit.MEDICINE, admitted_at=at,
        age_band=AgeBand.FROM_75, reason=ReasonCategory.RESPIRATORY, patient_key="a" * 64, commune_code=COMMUNE,
    )


def _others(n: int) -> list[Admission]:
    """Unrelated admissions, enough to send a batch down the COPY path."""
    return [_admission(uuid.uuid4(), FIRST + timedelta(days=10, minutes=i)) for i in range(n)]


async def _store(dsn: str, events: list[Admission], *, allow_copy: bool, schema: str | None = None) -> WriteCounts:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        if schema:
            await conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            await conn.commit()  # a SET rolled back with the store-options probe would be lost
        options = await probe_store_options(conn)
        options = StoreOptions(copy=options.copy and allow_copy, continuous_aggregates=options.continuous_aggregates)
        counts = await store_events(conn, "admissions", events, options)
        await conn.commit()
    return counts


def _stored(conn: psycopg.Connection[tuple[object, ...]], event_id: uuid.UUID) -> list[datetime]:
    rows = conn.execute("SELECT admitted_at FROM admissions WHERE event_id = %s", (event_id,)).fetchall()
    return [row[0] for row in rows]  # type: ignore[misc]


def _live(conn: psycopg.Connection[tuple[object, ...]], hour: datetime) -> dict[str, int]:
    rows = conn.execute(
        "SELECT scope, events FROM live_activity_hourly WHERE kind = 'admissions' AND bucket = %s", (hour,)
    ).fetchall()
    return {str(scope): int(n) for scope, n in rows}  # type: ignore[call-overload]


@pytest.mark.parametrize("allow_copy", [False, True], ids=["json", "copy"])
def test_an_admission_moved_in_time_is_one_row_counted_in_its_new_hour(pg_dsn: str, allow_copy: bool) -> None:
    event_id = uuid.uuid4()
    padding = _others(COPY_MIN_ROWS) if allow_copy else []
    first = asyncio.run(_store(pg_dsn, [_admission(event_id, FIRST), *padding], allow_copy=allow_copy))
    assert first.inserted == 1 + len(padding)

    moved = asyncio.run(_store(pg_dsn, [_admission(event_id, MOVED), *padding], allow_copy=allow_copy))
    assert (moved.inserted, moved.updated, moved.unchanged) == (0, 1, len(padding))

    with psycopg.connect(pg_dsn) as conn:
        assert _stored(conn, event_id) == [MOVED]
        assert _live(conn, FIRST.replace(minute=0)) == {"facility": 0, "commune": 0}
        assert _live(conn, MOVED.replace(minute=0)) == {"facility": 1, "commune": 1}

    # Redelivered as corrected: nothing changes.
    again = asyncio.run(_store(pg_dsn, [_admission(event_id, MOVED)], allow_copy=allow_copy))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)


def test_the_original_and_its_correction_in_one_batch_keep_the_correction(pg_dsn: str) -> None:
    event_id = uuid.uuid4()
    counts = asyncio.run(_store(pg_dsn, [_admission(event_id, FIRST), _admission(event_id, MOVED)], allow_copy=False))
    assert (counts.inserted, counts.unchanged) == (1, 1)
    with psycopg.connect(pg_dsn) as conn:
        assert _stored(conn, event_id) == [MOVED]


def test_an_emergency_visit_moved_in_time_replaces_its_row(pg_dsn: str) -> None:
    event_id = uuid.uuid4()

    def visit(at: datetime) -> EmergencyVisit:
        return EmergencyVisit(event_id=event_id, facility_id=FACILITY, arrived_at=at, age_band=AgeBand.FROM_15_TO_74,
                              reason=ReasonCategory.RESPIRATORY, commune_code=COMMUNE)

    async def store(at: datetime) -> WriteCounts:
        async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
            counts = await store_events(conn, "ed", [visit(at)])
            await conn.commit()
        return counts

    asyncio.run(store(FIRST))
    assert asyncio.run(store(MOVED)).updated == 1
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute("SELECT arrived_at FROM emergency_visits WHERE event_id = %s", (event_id,)).fetchall()
    assert [r[0] for r in rows] == [MOVED]


def test_an_admission_moved_in_time_on_timescaledb(timescaledb_server: TimescaleServer, schema: str) -> None:
    dsn = timescaledb_server.dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        migrate(conn, timescale=TimescaleMode.REQUIRE)
    event_id = uuid.uuid4()
    asyncio.run(_store(dsn, [_admission(event_id, FIRST)], allow_copy=False, schema=schema))
    moved = asyncio.run(_store(dsn, [_admission(event_id, MOVED)], allow_copy=False, schema=schema))
    assert moved.updated == 1
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        assert _stored(conn, event_id) == [MOVED]
        assert conn.execute("SELECT count(*) FROM admissions").fetchone() == (1,)
