"""Upkeep of the daily rollups on plain PostgreSQL (migration 0050): recompute requested days, follow the days.

The rollup tables (``admissions_facility_daily``, ``emergency_visits_facility_daily``,
``admissions_residents_daily``, ``emergency_visits_residents_daily``, ``bed_occupancy_daily``) hold exact
values for every local day before ``daily_rollup_state.complete_before``. Triggers on the raw tables record
each past day a statement inserted, corrected or deleted in ``daily_rollup_requests``; :func:`refresh_daily_rollups`
recomputes those days from the raw rows (a recount: a cancelled or corrected admission leaves its day exact)
and, at each day change, adds the day that ended. Readers (``synopse.db.pages``) take the days from
``complete_before`` on, and any day still requested, from the hourly views, so what they show never waits for
this: it only makes them fast again. On TimescaleDB the same names are continuous aggregates kept by
``synopse.db.health.refresh_requested_aggregates`` and ``complete_before`` is 'infinity': nothing to do here.

Boundary: takes an autocommit connection and runs its own short transactions (a chunk of days each), so a
long backlog (a bulk load, a worker down for days) commits as it goes and never holds a lock for long.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from synopse.db.indicators import LOCAL_TZ

logger = logging.getLogger(__name__)

# A local day enters the rollups once it has been over for this long. The triggers record only days before
# the current one as seen at the writing transaction's start, so a batch that began before midnight and
# writes into the day that just ended records nothing: it must have committed before that day is computed.
# Batches last well under a second; an hour is a wide margin (migration 0050 uses the same one).
COMPLETION_GRACE = timedelta(hours=1)
# Days recomputed per transaction: a month of one metropolis is a few tens of thousands of raw rows per
# table, well under a second, and a backlog of years commits a month at a time.
CHUNK_DAYS = 31
RAW_TABLES = ("admissions", "emergency_visits", "bed_snapshots")


@dataclass(frozen=True)
class RollupRefresh:
    """What a refresh did: days recomputed (per raw table, summed) and the rollups' completeness after it."""

    days_recomputed: int
    complete_before: date | None  # None: not plain PostgreSQL (continuous aggregates), or busy elsewhere


def completion_horizon(now: datetime) -> date:
    """The first local day the rollups must not hold yet at ``now`` (the current day, or the previous one
    during the first :data:`COMPLETION_GRACE` after midnight)."""
    return (now - COMPLETION_GRACE).astimezone(LOCAL_TZ).date()


async def refresh_daily_rollups(conn: AsyncConnection[Any], now: datetime | None = None) -> RollupRefresh:
    """Recompute the requested days, then add the days that ended; returns what was done.

    Several workers may call it at once: one holds the state row and does the work, the others return at
    once. ``conn`` must be in autocommit mode (each chunk of days is its own transaction).
    """
    if not conn.autocommit:
        raise ValueError("refresh_daily_rollups() needs an autocommit connection")
    horizon = completion_horizon(now or datetime.now(UTC))
    recomputed = 0
    complete_before: date | None = None
    while True:
        async with conn.transaction():
            cursor = await conn.execute(
                "SELECT isfinite(complete_before), CASE WHEN isfinite(complete_before) THEN complete_before END"
                " FROM daily_rollup_state FOR UPDATE SKIP LOCKED"
            )
            row = await cursor.fetchone()
            if row is None or not row[0] or row[1] is None:
                break  # another worker is at it, or the rollups are continuous aggregates
            current: date = row[1]
            done = await _recompute_requested(conn, current)
            if not done and current < horizon:
                upto = min(horizon, current + timedelta(days=CHUNK_DAYS))
                done = await _add_ended_days(conn, current, upto)
                current = upto
            complete_before = current
            if not done:
                break
            recomputed += done
    if recomputed:
        logger.info("daily rollups recomputed", extra={"days": recomputed, "complete_before": str(complete_before)})
    return RollupRefresh(recomputed, complete_before)


async def _recompute_requested(conn: AsyncConnection[Any], complete_before: date) -> int:
    """Claim the requests of the earliest requested days and recompute those already in the rollups."""
    # Claimed (deleted) before the recount reads the raw rows: a request committed in between is either
    # claimed here or left for the next round, never lost.
    cursor = await conn.execute(
        """DELETE FROM daily_rollup_requests
           WHERE day IN (SELECT DISTINCT day FROM daily_rollup_requests ORDER BY day LIMIT %s)
           RETURNING raw_table, day""",
        (CHUNK_DAYS,),
    )
    claimed = await cursor.fetchall()
    if not claimed:
        return 0
    by_table: dict[str, set[date]] = defaultdict(set)
    for table, day in claimed:
        # Days from complete_before on are read from the hourly views and computed when they are added.
        if day < complete_before and table in RAW_TABLES:
            by_table[table].add(day)
    for table, days in by_table.items():
        await conn.execute("SELECT recompute_daily_rollups(%s, %s::date[])", (table, sorted(days)))
    # A claim of requests all past complete_before still counts as progress (the loop goes on).
    return sum(len(days) for days in by_table.values()) or 1


async def _add_ended_days(conn: AsyncConnection[Any], first: date, upto: date) -> int:
    """Compute the local days ``first`` (included) to ``upto`` (excluded) and mark them complete."""
    days = [first + timedelta(days=i) for i in range((upto - first).days)]
    # Their requests are superseded by this full recount (deleted first, for the same reason as above).
    await conn.execute("DELETE FROM daily_rollup_requests WHERE day >= %s AND day < %s", (first, upto))
    for table in RAW_TABLES:
        await conn.execute("SELECT recompute_daily_rollups(%s, %s::date[])", (table, days))
    await conn.execute("UPDATE daily_rollup_state SET complete_before = %s", (upto,))
    return len(days) * len(RAW_TABLES)
