"""Pipeline health in the store: per-partition progress and lag, late-range refreshes, live-table upkeep.

Boundary: functions take a psycopg connection; the caller owns the transaction, except
:func:`refresh_requested_aggregates`, which needs an autocommit connection (TimescaleDB refuses to
refresh a continuous aggregate inside a transaction block). Written by the stream worker; read by the
dashboard and the alert rules (tables ``pipeline_health``, view ``pipeline_health_topics``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

logger = logging.getLogger(__name__)

# The continuous aggregates over each raw table (migrations 0004 and 0051) and the end_offset of their refresh
# policy: buckets newer than that are left to real-time aggregation and must not be materialised early. The
# daily rollups of 0051 are built on the hourly and commune-daily aggregates: they come after them, so they
# re-materialise from buckets already refreshed.
_AGGREGATES: dict[str, tuple[tuple[str, timedelta], ...]] = {
    "admissions": (
        ("admissions_hourly", timedelta(hours=1)),
        ("admissions_commune_daily", timedelta(days=1)),
        ("admissions_facility_daily", timedelta(days=1)),
        ("admissions_residents_daily", timedelta(days=1)),
    ),
    "emergency_visits": (
        ("emergency_visits_hourly", timedelta(hours=1)),
        ("emergency_visits_commune_daily", timedelta(days=1)),
        ("emergency_visits_facility_daily", timedelta(days=1)),
        ("emergency_visits_residents_daily", timedelta(days=1)),
    ),
    "bed_snapshots": (("bed_occupancy_hourly", timedelta(hours=1)), ("bed_occupancy_daily", timedelta(days=1))),
    "environment_observations": (
        ("environment_hourly", timedelta(hours=1)),
        ("environment_daily", timedelta(days=1)),
    ),
}
# A refresh only re-materialises the buckets it fully covers: widen each range by a day on both sides
# (the widest bucket is a day, in Europe/Paris). Only invalidated buckets are recomputed, so it is cheap.
_BUCKET_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class PartitionProgress:
    """What a batch read from one partition: offsets ``first_offset`` to ``last_offset`` and their counts.

    One row per partition per batch (the common case), or one row per message (``first_offset ==
    last_offset``) when a batch overlaps offsets already counted.
    """

    topic: str  # the input topic's name without the environment prefix
    partition: int
    messages: int
    events_in: int
    dead_lettered: int
    last_offset: int
    last_event_at: datetime | None
    first_offset: int = -1  # -1: same as last_offset (a row of one message)

    @property
    def start(self) -> int:
        return self.last_offset if self.first_offset < 0 else self.first_offset


@dataclass(frozen=True)
class PartitionLag:
    """How far the consumer group is behind on one partition."""

    topic: str
    partition: int
    end_offset: int
    committed_offset: int | None  # None: the group has committed nothing there yet

    @property
    def lag(self) -> int:
        return max(0, self.end_offset - (self.committed_offset or 0))


ProgressDetail = Callable[[set[tuple[str, int]]], Sequence[PartitionProgress]]
"""Per-message progress rows of the given (topic, partition) pairs of a batch."""

_RECORD_PROGRESS = """
WITH incoming AS (
    SELECT * FROM unnest(%(topics)s::text[], %(partitions)s::integer[], %(firsts)s::bigint[],
                         %(offsets)s::bigint[], %(messages)s::bigint[], %(events)s::bigint[],
                         %(dead)s::bigint[], %(times)s::timestamptz[]) AS u (t, p, f, o, m, e, d, l)
), fresh AS (
    SELECT incoming.* FROM incoming
    LEFT JOIN pipeline_health AS h
        ON h.consumer_group = %(group)s AND h.topic = incoming.t AND h.partition = incoming.p
    WHERE h.last_offset IS NULL OR incoming.f > h.last_offset
), written AS (
    INSERT INTO pipeline_health (consumer_group, topic, partition, messages_in, events_in, dead_lettered,
                                 last_offset, last_event_at, last_batch_at)
    SELECT %(group)s, t, p, sum(m), sum(e), sum(d), max(o), max(l), now() FROM fresh GROUP BY t, p
    ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
        messages_in = pipeline_health.messages_in + EXCLUDED.messages_in,
        events_in = pipeline_health.events_in + EXCLUDED.events_in,
        dead_lettered = pipeline_health.dead_lettered + EXCLUDED.dead_lettered,
        last_offset = greatest(pipeline_health.last_offset, EXCLUDED.last_offset),
        last_event_at = greatest(pipeline_health.last_event_at, EXCLUDED.last_event_at),
        last_batch_at = EXCLUDED.last_batch_at
    RETURNING 1
)
-- The partitions whose rows overlap stored offsets (the insert above runs whether or not it is read).
SELECT DISTINCT t, p FROM incoming
WHERE NOT EXISTS (SELECT 1 FROM fresh WHERE fresh.t = incoming.t AND fresh.p = incoming.p)
"""


async def record_progress(
    conn: AsyncConnection[Any],
    consumer_group: str,
    rows: Sequence[PartitionProgress],
    detail: ProgressDetail | None = None,
) -> None:
    """Add a batch's counts to ``pipeline_health``, in the batch's own transaction.

    Each offset counts once: offsets at or below a partition's stored ``last_offset`` were counted by
    the transaction that stored them, and are a redelivery (after a crash, before Kafka had the
    offsets). A row covering several offsets is added whole when it starts after the stored
    ``last_offset`` (a batch reads a partition's offsets in order); when it overlaps, ``detail`` gives
    that partition's rows message by message and only the new offsets are added. A recreated topic
    starts its offsets again from 0: delete its rows here when that happens.
    """
    if not rows:
        return
    cursor = await conn.execute(
        _RECORD_PROGRESS,
        {
            "group": consumer_group,
            "topics": [r.topic for r in rows],
            "partitions": [r.partition for r in rows],
            "firsts": [r.start for r in rows],
            "offsets": [r.last_offset for r in rows],
            "messages": [r.messages for r in rows],
            "events": [r.events_in for r in rows],
            "dead": [r.dead_lettered for r in rows],
            "times": [r.last_event_at for r in rows],
        },
    )
    overlapping = {(str(t), int(p)) for t, p in await cursor.fetchall()}
    aggregated = any(r.start != r.last_offset for r in rows if (r.topic, r.partition) in overlapping)
    if overlapping and aggregated and detail is not None:
        await record_progress(conn, consumer_group, detail(overlapping))


async def record_lag(
    conn: AsyncConnection[Any], consumer_group: str, worker: str, lags: Sequence[PartitionLag]
) -> None:
    """Write the lag of the partitions a worker holds."""
    if not lags:
        return
    await conn.execute(
        """INSERT INTO pipeline_health (consumer_group, topic, partition, end_offset, committed_offset, lag,
                                        lag_at, worker)
           SELECT %s, t, p, e, c, l, now(), %s
           FROM unnest(%s::text[], %s::integer[], %s::bigint[], %s::bigint[], %s::bigint[]) AS u (t, p, e, c, l)
           ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
               end_offset = EXCLUDED.end_offset, committed_offset = EXCLUDED.committed_offset,
               lag = EXCLUDED.lag, lag_at = EXCLUDED.lag_at, worker = EXCLUDED.worker""",
        (
            consumer_group,
            worker,
            [x.topic for x in lags],
            [x.partition for x in lags],
            [x.end_offset for x in lags],
            [x.committed_offset for x in lags],
            [x.lag for x in lags],
        ),
    )


async def prune_live_activity(conn: AsyncConnection[Any], keep: timedelta) -> int:
    """Delete hourly live counts older than ``keep``; returns the rows deleted."""
    cursor = await conn.execute("DELETE FROM live_activity_hourly WHERE bucket < now() - %s", (keep,))
    return cursor.rowcount


async def refresh_requested_aggregates(conn: AsyncConnection[Any], now: datetime | None = None) -> int:
    """Re-materialise the continuous aggregates over the ranges the worker asked for; returns refreshes run.

    Claims the requests (one worker gets each), merges them per raw table, and refreshes each
    aggregate of that table over the range, never into its real-time window (a refresh materialises
    only the buckets it fully covers, so ending the window at ``now - end_offset`` leaves the policy's
    real-time buckets alone). Requests whose refresh
    failed are put back for the next round. ``conn`` must be in autocommit mode.
    """
    if not conn.autocommit:
        raise ValueError("refresh_requested_aggregates() needs an autocommit connection")
    cursor = await conn.execute("DELETE FROM aggregate_refresh_requests RETURNING raw_table, range_start, range_end")
    ranges: dict[str, tuple[datetime, datetime]] = {}
    for table, start, end in await cursor.fetchall():
        low, high = ranges.get(table, (start, end))
        ranges[table] = (min(low, start), max(high, end))
    now = now or datetime.now(UTC)
    done = 0
    for table, (start, end) in ranges.items():
        try:
            for view, end_offset in _AGGREGATES.get(table, ()):
                window_start = start - _BUCKET_MARGIN
                window_end = min(end + _BUCKET_MARGIN, now - end_offset)
                if window_start >= window_end:
                    continue  # all inside the real-time window: already visible
                await conn.execute(
                    "CALL refresh_continuous_aggregate(%s::regclass, %s::timestamptz, %s::timestamptz)",
                    (view, window_start, window_end),
                )
                done += 1
        except Exception:
            await conn.execute(
                "INSERT INTO aggregate_refresh_requests (raw_table, range_start, range_end) VALUES (%s, %s, %s)",
                (table, start, end),
            )
            raise
    if done:
        logger.info("continuous aggregates refreshed for late events", extra={"refreshes": done})
    return done
