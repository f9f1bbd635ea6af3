"""Idempotent batched writes of validated events, with the live tables they feed.

Delivery is at least once; these upserts make the effect exactly once. A re-delivered event leaves its
row untouched; a corrected one (same natural key, new content) updates it in place. The caller owns the
transaction, and commits it before the stream commits its Kafka offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection, sql

from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit, EnvironmentObservation, Event


@dataclass(frozen=True)
class WriteCounts:
    """What a batch did to its table: new rows, rows changed by a correction, and re-deliveries."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(
            self.inserted + other.inserted, self.updated + other.updated, self.unchanged + other.unchanged
        )


@dataclass(frozen=True)
class _Table:
    """How one event type maps to its raw table."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column, PostgreSQL array element type)
    key: tuple[str, ...]
    source_field: str
    row: Callable[[Any], tuple[object, ...]]
    key_positions: tuple[int, ...] = field(init=False)  # where the key columns sit in a row (hot path)

    def __post_init__(self) -> None:
        names = [c for c, _ in self.columns]
        object.__setattr__(self, "key_positions", tuple(names.index(k) for k in self.key))

    def natural_key(self, row: tuple[object, ...]) -> tuple[object, ...]:
        return tuple(row[i] for i in self.key_positions)


_TABLES: dict[type[Event], _Table] = {
    Admission: _Table(
        "admissions",
        (("event_id", "uuid"), ("admitted_at", "timestamptz"), ("facility_id", "text"), ("care_unit", "text"),
         ("age_band", "text"), ("reason", "text"), ("patient_key", "text"), ("commune_code", "text"),
         ("via_emergency", "boolean"), ("discharged_at", "timestamptz"), ("cancelled", "boolean")),
        ("event_id", "admitted_at"),
        "facility_id",
        lambda e: (e.event_id, e.admitted_at, e.facility_id, e.care_unit.value, e.age_band.value, e.reason.value,
                   e.patient_key, e.commune_code, e.via_emergency, e.discharged_at, e.cancelled),
    ),
    EmergencyVisit: _Table(
        "emergency_visits",
        (("event_id", "uuid"), ("arrived_at", "timestamptz"), ("facility_id", "text"), ("age_band", "text"),
         ("reason", "text"), ("commune_code", "text"), ("hospitalised", "boolean"), ("patient_key", "text")),
        ("event_id", "arrived_at"),
        "facility_id",
        lambda e: (e.event_id, e.arrived_at, e.facility_id, e.age_band.value, e.reason.value, e.commune_code,
                   e.hospitalised, e.patient_key),
    ),
    BedSnapshot: _Table(
        "bed_snapshots",
        (("facility_id", "text"), ("care_unit", "text"), ("observed_at", "timestamptz"), ("beds_total", "integer"),
         ("beds_occupied", "integer"), ("event_id", "uuid")),
        ("facility_id", "care_unit", "observed_at"),
        "facility_id",
        lambda e: (e.facility_id, e.care_unit.value, e.observed_at, e.beds_total, e.beds_occupied, e.event_id),
    ),
    EnvironmentObservation: _Table(
        "environment_observations",
        (("station_id", "text"), ("indicator", "text"), ("observed_at", "timestamptz"), ("value", "float8"),
         ("unit", "text"), ("event_id", "uuid")),
        ("station_id", "indicator", "observed_at"),
        "station_id",
        lambda e: (e.station_id, e.indicator.value, e.observed_at, e.value, e.unit, e.event_id),
    ),
}


async def store_events(conn: AsyncConnection[Any], topic: str, events: Sequence[Event]) -> WriteCounts:
    """Upsert a batch of events of one type, then refresh the live tables they feed.

    Args:
        conn: A connection inside the caller's transaction.
        topic: The topic the events came from (recorded with the sources' freshness).
        events: Validated events, all of one contract.
    """
    if not events:
        return WriteCounts()
    table = _TABLES[type(events[0])]
    # Last occurrence wins: PostgreSQL refuses to touch one row twice in a single upsert, and a later
    # message for the same key is the newer truth.
    rows = list({table.natural_key(row): row for row in map(table.row, events)}.values())
    counts = await _upsert(conn, table, rows)
    counts = WriteCounts(counts.inserted, counts.updated, counts.unchanged + len(events) - len(rows))
    await _record_freshness(conn, topic, table, events)
    if table.name == "bed_snapshots":
        await _refresh_current_beds(conn, events)
    return counts


async def _upsert(conn: AsyncConnection[Any], table: _Table, rows: list[tuple[object, ...]]) -> WriteCounts:
    names = [c for c, _ in table.columns]
    mutable = [c for c in names if c not in table.key]
    query = sql.SQL(
        "INSERT INTO {table} ({cols}) SELECT * FROM unnest({arrays}) "
        "ON CONFLICT ({key}) DO UPDATE SET {assign}, ingested_at = now() "
        "WHERE ({current}) IS DISTINCT FROM ({incoming}) "
        "RETURNING (xmax = 0)"
    ).format(
        table=sql.Identifier(table.name),
        cols=sql.SQL(", ").join(map(sql.Identifier, names)),
        arrays=sql.SQL(", ").join(
            sql.SQL("{}::{}[]").format(sql.Placeholder(), sql.SQL(pg_type)) for _, pg_type in table.columns
        ),
        key=sql.SQL(", ").join(map(sql.Identifier, table.key)),
        assign=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in mutable),
        current=sql.SQL(", ").join(sql.Identifier(table.name, c) for c in mutable),
        incoming=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in mutable),
    )
    columns = [list(column) for column in zip(*rows, strict=True)]
    cursor = await conn.execute(query, columns)
    flags = [row[0] for row in await cursor.fetchall()]
    inserted = sum(1 for flag in flags if flag)
    return WriteCounts(inserted, len(flags) - inserted, len(rows) - len(flags))


async def _record_freshness(
    conn: AsyncConnection[Any], topic: str, table: _Table, events: Sequence[Event]
) -> None:
    latest: dict[str, datetime] = {}
    counts: dict[str, int] = {}
    for event in events:
        source = str(getattr(event, table.source_field))
        latest[source] = max(latest.get(source, event.occurred_at), event.occurred_at)
        counts[source] = counts.get(source, 0) + 1
    now = datetime.now(UTC)
    sources = list(latest)
    await conn.execute(
        """INSERT INTO source_freshness (topic, source_id, last_event_at, last_ingested_at, events_total)
           SELECT %s, * FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[], %s::bigint[])
           ON CONFLICT (topic, source_id) DO UPDATE SET
               last_event_at = greatest(source_freshness.last_event_at, EXCLUDED.last_event_at),
               last_ingested_at = EXCLUDED.last_ingested_at,
               events_total = source_freshness.events_total + EXCLUDED.events_total""",
        (topic, sources, [latest[s] for s in sources], [now] * len(sources), [counts[s] for s in sources]),
    )


async def _refresh_current_beds(conn: AsyncConnection[Any], events: Sequence[Event]) -> None:
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
