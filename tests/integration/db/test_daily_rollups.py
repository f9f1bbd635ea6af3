"""The detail page's daily rollups on plain PostgreSQL: exact after late events, corrections and cancellations,
backfilled by their migration, and the page exact before the refresher has run."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest

from synopse.db import migrate as migrate_module
from synopse.db import pages
from synopse.db.indicators import LOCAL_TZ
from synopse.db.ingest import store_events
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.db.rollups import completion_horizon, refresh_daily_rollups
from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory
from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit, Event
from synopse.domain.territory import FACILITIES

pytestmark = pytest.mark.integration

FACILITY = "hp-confluent"
OTHER = "chu-nantes-hotel-dieu"
NANTES, REZE = "44109", "44143"
NOW = datetime.now(UTC)
TODAY = NOW.astimezone(LOCAL_TZ).date()


def at(days_ago: int, hour: int, minute: int = 0) -> datetime:
    """A local time ``days_ago`` days before today (today: halfway between midnight and now, whatever ``hour``)."""
    if days_ago == 0:
        midnight = datetime.combine(TODAY, time(0), tzinfo=LOCAL_TZ)
        return midnight + (NOW - midnight) / 2
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour, minute), tzinfo=LOCAL_TZ)


def admission(when: datetime, facility: str = FACILITY, commune: str = NANTES, *, cancelled: bool = False,
              event_id: uuid.UUID | None = None) -> Admission:
    return Admission(event_id=event_id or uuid.uuid4(), facility_id=facility, care_unit=CareUnit.MEDICINE,
                     admitted_at=when, age_band=AgeBand.FROM_15_TO_74, reason=ReasonCategory.RESPIRATORY,
                     patient_key="a" * 64, commune_code=commune, cancelled=cancelled)


def visit(when: datetime, facility: str = FACILITY, commune: str = REZE) -> EmergencyVisit:
    return EmergencyVisit(event_id=uuid.uuid4(), facility_id=facility, arrived_at=when,
                          age_band=AgeBand.FROM_75, reason=ReasonCategory.HEAT_RELATED, commune_code=commune)


def beds(when: datetime, unit: CareUnit, occupied: int, total: int = 40, facility: str = FACILITY) -> BedSnapshot:
    return BedSnapshot(event_id=uuid.uuid4(), facility_id=facility, care_unit=unit, observed_at=when,
                       beds_total=total, beds_occupied=occupied)


def store(dsn: str, *batches: Sequence[Event]) -> None:
    """Through the stream worker's own write path, one transaction per batch."""
    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            for batch in batches:
                await store_events(conn, "test", batch)
                await conn.commit()
    asyncio.run(run())


def refresh(dsn: str) -> int:
    async def run() -> int:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            return (await refresh_daily_rollups(conn)).days_recomputed
    return asyncio.run(run())


def expected(events: Sequence[Event], *, facility: str | None = None, commune: str | None = None
             ) -> dict[date, tuple[int, int, float | None, int | None]]:
    """What a place's days must read, computed in Python from the latest version of every event."""
    # Beds: the facility's, or those of the facilities located in the commune.
    located = {facility} if commune is None else {f.facility_id for f in FACILITIES if f.commune_code == commune}
    latest: dict[object, Event] = {}
    for event in events:
        key = (event.event_id if not isinstance(event, BedSnapshot)
               else (event.facility_id, event.care_unit, event.observed_at))
        latest[key] = event
    adm: dict[date, int] = defaultdict(int)
    ed: dict[date, int] = defaultdict(int)
    hours: dict[tuple[date, str, datetime], list[int]] = defaultdict(list)
    totals: dict[tuple[date, str], int] = {}
    for event in latest.values():
        if isinstance(event, Admission) and not event.cancelled and (
                event.facility_id == facility if commune is None else event.commune_code == commune):
            adm[event.admitted_at.astimezone(LOCAL_TZ).date()] += 1
        elif isinstance(event, EmergencyVisit) and (
                event.facility_id == facility if commune is None else event.commune_code == commune):
            ed[event.arrived_at.astimezone(LOCAL_TZ).date()] += 1
        elif isinstance(event, BedSnapshot) and event.facility_id in located:
            day = event.observed_at.astimezone(LOCAL_TZ).date()
            hour = event.observed_at.replace(minute=0, second=0, microsecond=0)
            unit = f"{event.facility_id}/{event.care_unit}"
            hours[(day, unit, hour)].append(event.beds_occupied)
            totals[(day, unit)] = max(totals.get((day, unit), 0), event.beds_total)
    unit_means: dict[tuple[date, str], list[float]] = defaultdict(list)
    for (day, unit, _), values in hours.items():
        unit_means[(day, unit)].append(sum(values) / len(values))
    occupied: dict[date, float] = defaultdict(float)
    capacity: dict[date, int] = defaultdict(int)
    for (day, unit), means in unit_means.items():
        occupied[day] += sum(means) / len(means)
        capacity[day] += totals[(day, unit)]
    days = set(adm) | set(ed) | set(occupied)
    return {day: (adm.get(day, 0), ed.get(day, 0), occupied.get(day), capacity.get(day)) for day in days}


def observed(dsn: str, *, facility: str | None = None, commune: str | None = None
             ) -> dict[date, tuple[int, int, float | None, int | None]]:
    with psycopg.connect(dsn) as conn:
        rows = pages.observed_daily(conn, first=TODAY - timedelta(days=20), last=TODAY,
                                    facility_id=facility, commune_code=commune)
    assert len(rows) == 21
    return {r.day: (r.admissions, r.ed_visits, None if r.beds_occupied is None else round(r.beds_occupied, 6),
                    r.beds_total) for r in rows if r.admissions or r.ed_visits or r.beds_occupied is not None}


def rounded(values: dict[date, tuple[int, int, float | None, int | None]]
            ) -> dict[date, tuple[int, int, float | None, int | None]]:
    return {d: (a, e, None if o is None else round(o, 6), t) for d, (a, e, o, t) in values.items()}


def rollups_match_views(dsn: str) -> None:
    """Every rollup row equals the hourly (commune-daily) views summed per local day, for the complete days."""
    pairs = [
        ("SELECT facility_id, bucket, admissions FROM admissions_facility_daily",
         "SELECT facility_id, date_trunc('day', bucket, 'Europe/Paris'), sum(admissions) FROM admissions_hourly"
         " GROUP BY 1, 2"),
        ("SELECT facility_id, bucket, visits FROM emergency_visits_facility_daily",
         "SELECT facility_id, date_trunc('day', bucket, 'Europe/Paris'), sum(visits) FROM emergency_visits_hourly"
         " GROUP BY 1, 2"),
        ("SELECT commune_code, bucket, admissions FROM admissions_residents_daily",
         "SELECT commune_code, bucket, sum(admissions) FROM admissions_commune_daily GROUP BY 1, 2"),
        ("SELECT commune_code, bucket, visits FROM emergency_visits_residents_daily",
         "SELECT commune_code, bucket, sum(visits) FROM emergency_visits_commune_daily GROUP BY 1, 2"),
        ("SELECT facility_id || care_unit, bucket, round(beds_occupied_avg::numeric, 6) FROM bed_occupancy_daily",
         "SELECT facility_id || care_unit, date_trunc('day', bucket, 'Europe/Paris'),"
         " round(avg(beds_occupied_avg), 6) FROM bed_occupancy_hourly GROUP BY 1, 2"),
    ]
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        row = conn.execute("SELECT complete_before::timestamp AT TIME ZONE 'Europe/Paris'"
                           " FROM daily_rollup_state").fetchone()
        assert row is not None
        for rollup, view in pairs:
            stored = {(k, b): v for k, b, v in conn.execute(rollup)}
            truth = {(k, b): v for k, b, v in conn.execute(view) if b < row[0] and k is not None}
            assert stored == truth, rollup


def test_rollups_stay_exact_through_late_events_corrections_and_cancellations(pg_dsn: str) -> None:
    cancelled_later = admission(at(5, 9))
    moved_later = admission(at(5, 11), commune=NANTES)
    lone = admission(at(10, 8), facility=OTHER)
    events: list[Event] = [
        admission(at(10, 8)), admission(at(10, 23, 30)), lone, cancelled_later, moved_later,
        admission(at(2, 14), commune=REZE), admission(at(0, 0)), admission(at(0, 0), cancelled=True),
        visit(at(10, 3)), visit(at(5, 12)), visit(at(0, 0)),
        # unit medicine reports every hour of its morning twice, surgery once: a unit silent does not count
        *(beds(at(5, h, m), CareUnit.MEDICINE, 20 + h + m // 30) for h in range(6, 10) for m in (0, 30)),
        beds(at(5, 7), CareUnit.SURGERY, 10, total=12), beds(at(0, 0), CareUnit.MEDICINE, 30),
    ]
    store(pg_dsn, events[:8], events[8:11], events[11:])
    with psycopg.connect(pg_dsn) as conn:
        pending = conn.execute("SELECT count(*) FROM daily_rollup_requests").fetchone()
    assert pending is not None and pending[0] > 0  # past days were written: recorded for a recount
    # Before any refresh the page is already exact (the requested days are read from the hourly views).
    assert observed(pg_dsn, facility=FACILITY) == rounded(expected(events, facility=FACILITY))
    assert refresh(pg_dsn) > 0
    rollups_match_views(pg_dsn)
    with psycopg.connect(pg_dsn) as conn:
        left = conn.execute("SELECT count(*) FROM daily_rollup_requests").fetchone()
        split = pages.rollup_split(conn, first=TODAY - timedelta(days=20), last=TODAY)
    assert left == (0,)
    assert split == completion_horizon(datetime.now(UTC))  # today (yesterday in the first hour after midnight)
    facility_before = expected(events, facility=FACILITY)
    assert facility_before[TODAY - timedelta(days=5)][:2] == (2, 1)
    assert observed(pg_dsn, facility=FACILITY) == rounded(facility_before)
    assert observed(pg_dsn, commune=NANTES) == rounded(expected(events, commune=NANTES))
    assert observed(pg_dsn, commune=REZE) == rounded(expected(events, commune=REZE))

    # A late admission five days back, an A11 cancel, an A08 that moves a patient's commune, and the only
    # admission of a facility on its day cancelled: exact before the refresh and after it.
    corrections: list[Event] = [
        admission(at(5, 16)),
        admission(cancelled_later.admitted_at, cancelled=True, event_id=cancelled_later.event_id),
        admission(moved_later.admitted_at, commune=REZE, event_id=moved_later.event_id),
        admission(lone.admitted_at, facility=OTHER, cancelled=True, event_id=lone.event_id),
        beds(at(5, 7), CareUnit.SURGERY, 12, total=12),  # a corrected snapshot
    ]
    store(pg_dsn, corrections[:4], corrections[4:])
    events += corrections
    assert observed(pg_dsn, facility=FACILITY) == rounded(expected(events, facility=FACILITY))
    assert observed(pg_dsn, commune=REZE) == rounded(expected(events, commune=REZE))
    assert refresh(pg_dsn) > 0
    rollups_match_views(pg_dsn)
    after = expected(events, facility=FACILITY)
    assert after[TODAY - timedelta(days=5)][:2] == (2, 1)  # +1 late, -1 cancelled
    assert observed(pg_dsn, facility=FACILITY) == rounded(after)
    assert observed(pg_dsn, commune=NANTES) == rounded(expected(events, commune=NANTES))
    assert observed(pg_dsn, commune=REZE) == rounded(expected(events, commune=REZE))
    with psycopg.connect(pg_dsn) as conn:
        gone = conn.execute(
            "SELECT count(*) FROM admissions_facility_daily WHERE facility_id = %s AND bucket = %s",
            (OTHER, datetime.combine(TODAY - timedelta(days=10), time(0), tzinfo=LOCAL_TZ))).fetchone()
        territory = pages.observed_daily(conn, first=TODAY - timedelta(days=10), last=TODAY - timedelta(days=10))
    assert gone == (0,)  # a day that became empty leaves no row
    assert territory[0].admissions == 2
    # A re-delivery changes nothing and asks for nothing.
    store(pg_dsn, corrections[:4], corrections[4:])
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM daily_rollup_requests").fetchone() == (0,)


def test_rollups_catch_up_on_the_days_that_ended_while_nothing_refreshed_them(pg_dsn: str) -> None:
    events: list[Event] = [admission(at(d, 10)) for d in (1, 2, 3, 4)] + [visit(at(3, 10))]
    store(pg_dsn, events[:4], events[4:])
    refresh(pg_dsn)
    with psycopg.connect(pg_dsn) as conn:
        # As if no worker had run for four days: the rollups know nothing past four days ago.
        conn.execute("UPDATE daily_rollup_state SET complete_before = %s", (TODAY - timedelta(days=4),))
        conn.execute("DELETE FROM admissions_facility_daily WHERE bucket >= %s",
                     (datetime.combine(TODAY - timedelta(days=4), time(0), tzinfo=LOCAL_TZ),))
        assert pages.rollup_split(conn, first=TODAY - timedelta(days=20), last=TODAY) == TODAY - timedelta(days=4)
    assert observed(pg_dsn, facility=FACILITY) == rounded(expected(events, facility=FACILITY))  # from the views
    refresh(pg_dsn)
    rollups_match_views(pg_dsn)
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute("SELECT complete_before FROM daily_rollup_state").fetchone()
    assert row == (completion_horizon(datetime.now(UTC)),)
    assert observed(pg_dsn, facility=FACILITY) == rounded(expected(events, facility=FACILITY))


def test_the_migration_backfills_an_existing_database(empty_pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    every = migrate_module.load_migrations()
    monkeypatch.setattr(migrate_module, "load_migrations", lambda: [m for m in every if m.version < "0050"])
    with psycopg.connect(empty_pg_dsn, autocommit=True) as conn:
        migrate(conn)
    with psycopg.connect(empty_pg_dsn) as conn:
        seed_territory(conn)
    events: list[Event] = [admission(at(d, 10), commune=REZE) for d in (3, 3, 9)] + [
        visit(at(9, 1)), beds(at(3, 4), CareUnit.ICU, 7, total=9), admission(at(0, 0))]
    store(empty_pg_dsn, events[:3], events[3:4], events[4:5], events[5:])
    monkeypatch.setattr(migrate_module, "load_migrations", lambda: every)
    with psycopg.connect(empty_pg_dsn, autocommit=True) as conn:
        report = migrate(conn)
    assert "0050_daily_rollups.sql" in report.applied
    rollups_match_views(empty_pg_dsn)
    with psycopg.connect(empty_pg_dsn) as conn:
        stored = conn.execute("SELECT sum(admissions) FROM admissions_facility_daily").fetchone()
        requests = conn.execute("SELECT count(*) FROM daily_rollup_requests").fetchone()
    assert stored == (3,)
    assert requests == (0,)
    assert observed(empty_pg_dsn, facility=FACILITY) == rounded(expected(events, facility=FACILITY))
    assert observed(empty_pg_dsn, commune=REZE) == rounded(expected(events, commune=REZE))
