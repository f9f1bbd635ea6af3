"""The live tables the stream keeps beside the raw events: current beds, and hourly activity counts.

Boundary: functions take a connection inside the batch's transaction (``synopse.db.ingest.store_events``
calls them after its upsert); the dashboard and the alert rules read ``bed_occupancy_current`` and the
view ``live_indicators`` (migration 0045).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection, sql

from synopse.domain.events import BedSnapshot, Event


async def refresh_current_beds(conn: AsyncConnection[Any], events: Sequence[Event]) -> None:
    newest: dict[tuple[str, str], BedSnapshot] = {}
    for event in events:
        if not isinstance(event, BedSnapshot):
            raise TypeError(f"expected BedSnapshot, got {type(event).__name__}")
        key = (event.facility_id, event.care_unit.value)
        if key not in newest or event.observed_at >= newest[key].observed_at:
            newest[key] = event
    snaps = list(newest.values())
    await conn.execute(
        """INSERT INTO bed_occupancy_current (facility_id, care_unit, observed_at, beds_total, beds_occupied)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::integer[], %s::integer[])
           ON CONFLICT (facility_id, care_unit) DO UPDATE SET
               observed_at = EXCLUDED.observed_at,
               beds_total = EXCLUDED.beds_total,
               beds_occupied = EXCLUDED.beds_occupied
           WHERE EXCLUDED.observed_at >= bed_occupancy_current.observed_at""",
        (
            [s.facility_id for s in snaps],
            [s.care_unit.value for s in snaps],
            [s.observed_at for s in snaps],
            [s.beds_total for s in snaps],
            [s.beds_occupied for s in snaps],
        ),
    )


# Raw tables counted in live_activity_hourly: (kind, time column, extra filter). The filter matches the
# hourly aggregates' (a cancelled admission was entered in error and counts nowhere).
ACTIVITY_TABLES: dict[str, tuple[str, str, str]] = {
    "admissions": ("admissions", "admitted_at", "AND NOT cancelled"),
    "emergency_visits": ("ed_visits", "arrived_at", ""),
}
_SCOPES = (("facility", "facility_id"), ("commune", "commune_code"))
# Advisory locks of the live recounts: (class, slot) pairs, a key space of their own (the migrations lock
# a single bigint key, which PostgreSQL keeps apart from two-integer keys).
LIVE_LOCK_CLASS = 0x5F11E
LOCK_SLOTS = 256


def _hour(instant: datetime) -> datetime:
    """The UTC hour starting at or before ``instant`` (in UTC: the advisory-lock keys are its text)."""
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def recount_activity(
    conn: AsyncConnection[Any],
    table_name: str,
    events: Sequence[Event],
    moved: Sequence[tuple[str, str | None, datetime]] = (),
) -> None:
    """Recount, from the raw rows, every (facility, hour) and (commune, hour) the batch touched.

    ``moved``: (facility, commune, former instant) of events a correction moved in time; their former
    hours are recounted too.

    A recount (not an increment) is what makes re-deliveries, corrections and late events exact. Two
    workers may touch one commune's hour at once (a commune's residents go to facilities on several
    partitions); each takes transaction-scoped advisory locks on the places it recounts, after its own
    raw rows are written, so the later recount waits for the earlier commit and sees its rows. A lock
    covers a place (all its hours) through one of ``LOCK_SLOTS`` slots: a replay batch spanning weeks
    touches thousands of (place, hour) pairs, and one lock each would exhaust PostgreSQL's lock table
    (``max_locks_per_transaction``). Slots are locked in ascending order, so two batches never wait on
    each other in a cycle.
    """
    kind, time_column, extra = ACTIVITY_TABLES[table_name]
    touched: set[tuple[str, str, datetime]] = set()
    for event in events:
        hour = _hour(event.occurred_at)
        for scope, attribute in _SCOPES:
            scope_id = getattr(event, attribute)
            if scope_id is not None:  # an unknown residence has no commune to count in
                touched.add((scope, scope_id, hour))
    for facility_id, commune_code, former in moved:
        touched.add(("facility", facility_id, _hour(former)))
        if commune_code is not None:
            touched.add(("commune", commune_code, _hour(former)))
    keys = sorted(touched)
    await conn.execute(
        """SELECT pg_advisory_xact_lock(%s, slot) FROM (
               SELECT DISTINCT (hashtext(k) & 2147483647) %% %s AS slot FROM unnest(%s::text[]) AS k ORDER BY 1
           ) AS slots""",
        (LIVE_LOCK_CLASS, LOCK_SLOTS, sorted({f"live|{kind}|{scope}|{scope_id}" for scope, scope_id, _ in keys})),
    )
    for scope, attribute in _SCOPES:
        ids = [scope_id for s, scope_id, _ in keys if s == scope]
        hours = [hour for s, _, hour in keys if s == scope]
        if not ids:
            continue
        await conn.execute(
            sql.SQL(
                """INSERT INTO live_activity_hourly (scope, scope_id, kind, bucket, events, updated_at)
                   SELECT %s, k.scope_id, %s, k.bucket,
                          (SELECT count(*) FROM {table} AS raw
                           WHERE raw.{scope_column} = k.scope_id AND raw.{time} >= k.bucket
                             AND raw.{time} < k.bucket + INTERVAL '1 hour' {extra}),
                          now()
                   FROM unnest(%s::text[], %s::timestamptz[]) AS k (scope_id, bucket)
                   ON CONFLICT (scope, scope_id, kind, bucket) DO UPDATE SET
                       events = EXCLUDED.events, updated_at = EXCLUDED.updated_at"""
            ).format(
                table=sql.Identifier(table_name),
                scope_column=sql.Identifier(attribute),
                time=sql.Identifier(time_column),
                extra=sql.SQL(extra),
            ),
            (scope, kind, ids, hours),
        )
