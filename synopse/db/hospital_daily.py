"""Daily hospital counts per area (``hospital_daily_counts``): the idempotent upsert and a reader.

The stream worker stores HospitalDailyCount events here (the contract of ``synopse.hospital_daily.v1``);
forecasting and the dashboard read them. A re-delivered count leaves its row untouched; a revised one
(same source, area, condition, measure and day, new value) replaces it. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from psycopg import AsyncConnection, Connection

from synopse.db.ingest import WriteCounts, record_freshness
from synopse.domain.events import HospitalDailyCount, HospitalMeasure


def _condition(event: HospitalDailyCount) -> str:
    return str(getattr(event.condition, "value", event.condition))


async def store_hospital_daily(
    conn: AsyncConnection[Any], topic: str, events: Sequence[HospitalDailyCount]
) -> WriteCounts:
    """Upsert daily counts and record each area's freshness.

    Args:
        conn: A connection inside the caller's transaction.
        topic: The contract topic the counts came from (``source_freshness.topic``).
        events: Validated counts.
    """
    if not events:
        return WriteCounts()
    # Last occurrence wins: one statement may not touch a row twice, and a later message is the newer truth.
    latest = {(e.territory, _condition(e), e.measure.value, e.day, e.source): e for e in events}
    keys = list(latest)
    cursor = await conn.execute(
        """INSERT INTO hospital_daily_counts (territory, condition, measure, day, source, value, event_id)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::date[], %s::text[], %s::integer[],
                                %s::uuid[])
           ON CONFLICT (territory, condition, measure, day, source) DO UPDATE
               SET value = EXCLUDED.value, event_id = EXCLUDED.event_id, ingested_at = now()
               WHERE (hospital_daily_counts.value, hospital_daily_counts.event_id)
                     IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.event_id)
           RETURNING (xmax = 0)""",
        (
            [k[0] for k in keys],
            [k[1] for k in keys],
            [k[2] for k in keys],
            [k[3] for k in keys],
            [k[4] for k in keys],
            [latest[k].value for k in keys],
            [latest[k].event_id for k in keys],
        ),
    )
    flags = [row[0] for row in await cursor.fetchall()]
    inserted = sum(1 for flag in flags if flag)
    counts = WriteCounts(inserted, len(flags) - inserted, len(events) - len(flags))
    await record_freshness(conn, topic, ((e.territory, e.occurred_at) for e in events))
    return counts


def load_hospital_daily(
    conn: Connection[Any],
    territory: str,
    measure: HospitalMeasure,
    *,
    condition: str = "all",
    start: date | None = None,
    end: date | None = None,
) -> dict[date, int]:
    """One daily series of an area, ``{day: value}`` in day order, optionally within ``[start, end]``.

    Sources are merged by taking the largest value of a day (publishers revise upwards as reports arrive).
    """
    rows = conn.execute(
        """SELECT day, max(value) FROM hospital_daily_counts
           WHERE territory = %s AND measure = %s AND condition = %s
             AND (%s::date IS NULL OR day >= %s::date) AND (%s::date IS NULL OR day <= %s::date)
           GROUP BY day ORDER BY day""",
        (territory, measure.value, condition, start, start, end, end),
    ).fetchall()
    return {day: int(value) for day, value in rows}
