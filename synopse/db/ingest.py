"""Idempotent batched writes of validated events, with the live tables they feed.

Delivery is at least once; these upserts make the effect exactly once. A re-delivered event leaves its
row untouched; a corrected one (same natural key, new content) updates it in place. The caller owns the
transaction, and commits it before the stream commits its Kafka offsets.

Two write paths, same SQL effect (``INSERT ... ON CONFLICT (natural key) DO UPDATE ... WHERE changed``):

- large batches on a server that accepts it: binary ``COPY FROM STDIN`` into a temporary staging table,
  then one ``INSERT ... SELECT`` from it (about 2 µs of Python per row, the fastest server side);
- otherwise (small batches, or servers refusing COPY FROM STDIN such as the TimescaleDB test server):
  the rows as one JSON document read with ``json_to_recordset`` (serialised by pydantic in Rust, also
  about 2 µs a row). The ``unnest``-of-arrays path this replaced cost 10-14 µs of Python per row
  (psycopg dumps arrays element by element): see benchmarks/RESULTS.md.

Per batch it also keeps ``source_freshness``, ``bed_occupancy_current``, the hourly counts behind
``live_indicators`` (recounted from the raw rows for every hour the batch touched, so a late or
corrected event lands in its own hour), and, where TimescaleDB continuous aggregates exist, a request to
re-materialise the time range of events older than their real-time window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from pydantic import TypeAdapter

from synopse.db.live import ACTIVITY_TABLES, recount_activity, refresh_current_beds
from synopse.domain.events import (
    Admission,
    BedSnapshot,
    EmergencyVisit,
    EnvironmentObservation,
    Event,
    HospitalDailyCount,
)

# Below this many rows the single JSON statement beats three round trips (create staging, COPY, insert);
# above it COPY's cheaper server-side parsing wins (measured: see the module docstring).
COPY_MIN_ROWS = 200

# Continuous aggregates leave their newest hour (daily ones: day) to real-time aggregation over the raw
# rows (migration 0004, end_offset); an event older than this may sit in an already materialised bucket,
# which shows it only once re-materialised.
REALTIME_WINDOW = timedelta(hours=1)


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
class StoreOptions:
    """What the server allows; probed once per pool by :func:`probe_store_options`."""

    copy: bool = False  # COPY FROM STDIN accepted
    continuous_aggregates: bool = False  # TimescaleDB continuous aggregates over the raw tables


@dataclass(frozen=True)
class _Table:
    """How one event type maps to its raw table."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (column, PostgreSQL type)
    key: tuple[str, ...]
    source_field: str
    row: Callable[[Any], tuple[object, ...]]
    model: type[Event]
    # The event id identifies the fact whatever its time: a correction may move it (see migration 0049).
    movable: bool = False
    row_key: Callable[[tuple[object, ...]], Any] = field(init=False)  # C-level getter of a row's key (hot path)
    source_at: Callable[[tuple[object, ...]], Any] = field(init=False)  # (source id, event time) of a row
    adapter: TypeAdapter[list[Any]] = field(init=False)
    upsert_copy: sql.Composed = field(init=False)
    upsert_json: sql.Composed = field(init=False)
    move_copy: sql.Composed = field(init=False)
    move_json: sql.Composed = field(init=False)
    staging: sql.Identifier = field(init=False)

    def __post_init__(self) -> None:
        names = [c for c, _ in self.columns]
        staging = sql.Identifier(f"_synopse_staging_{self.name}")
        source = sql.SQL("json_to_recordset(%s::json) AS incoming ({defs})").format(
            defs=sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in self.columns)
        )
        identity = ("event_id",) if self.movable else self.key
        object.__setattr__(self, "row_key", itemgetter(*(names.index(k) for k in identity)))
        object.__setattr__(
            self, "source_at", itemgetter(names.index(self.source_field), names.index(self.model.time_field))
        )
        object.__setattr__(self, "adapter", TypeAdapter(list[self.model]))  # type: ignore[name-defined]
        object.__setattr__(self, "staging", staging)
        object.__setattr__(self, "upsert_copy", _upsert_sql(self.name, names, self.key, staging))
        object.__setattr__(self, "upsert_json", _upsert_sql(self.name, names, self.key, source))
        time = self.model.time_field
        moved_from = sql.SQL("json_to_recordset(%s::json) AS incoming (event_id uuid, {} timestamptz)").format(
            sql.Identifier(time)
        )
        object.__setattr__(self, "move_copy", _move_sql(self.name, time, sql.SQL("{} AS incoming").format(staging)))
        object.__setattr__(self, "move_json", _move_sql(self.name, time, moved_from))


def _upsert_sql(table: str, names: list[str], key: tuple[str, ...], source: sql.Composable) -> sql.Composed:
    """Upsert from ``source``; returns one row: (inserted, inserted or updated)."""
    mutable = [c for c in names if c not in key]
    cols = sql.SQL(", ").join(map(sql.Identifier, names))
    return sql.SQL(
        "WITH written AS ("
        "INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} "
        "ON CONFLICT ({key}) DO UPDATE SET {assign}, ingested_at = now() "
        "WHERE ({current}) IS DISTINCT FROM ({incoming}) "
        "RETURNING (xmax = 0) AS inserted) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"
    ).format(
        table=sql.Identifier(table),
        cols=cols,
        source=source,
        key=sql.SQL(", ").join(map(sql.Identifier, key)),
        assign=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in mutable),
        current=sql.SQL(", ").join(sql.Identifier(table, c) for c in mutable),
        incoming=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in mutable),
    )


def _move_sql(table: str, time: str, source: sql.Composable) -> sql.Composed:
    """Record each event's instant; delete the rows of events that moved; returns the deleted rows' places.

    Every part reads the table as it was before the statement: ``previous`` sees the old instants.
    """
    return sql.SQL(
        "WITH previous AS ("
        " SELECT known.event_id, known.occurred_at FROM event_instants AS known"
        " JOIN {source} ON incoming.event_id = known.event_id"
        " WHERE known.raw_table = {name} AND known.occurred_at <> incoming.{time}"
        "), removed AS ("
        " DELETE FROM {table} AS raw USING previous"
        " WHERE raw.event_id = previous.event_id AND raw.{time} = previous.occurred_at"
        " RETURNING raw.facility_id, raw.commune_code, raw.{time}"
        "), recorded AS ("
        " INSERT INTO event_instants (raw_table, event_id, occurred_at)"
        " SELECT {name}, incoming.event_id, incoming.{time} FROM {source}"
        " ON CONFLICT (raw_table, event_id) DO UPDATE SET occurred_at = EXCLUDED.occurred_at"
        " WHERE event_instants.occurred_at <> EXCLUDED.occurred_at"
        ") SELECT * FROM removed"
    ).format(table=sql.Identifier(table), name=sql.Literal(table), time=sql.Identifier(time), source=source)


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
        Admission,
        movable=True,
    ),
    EmergencyVisit: _Table(
        "emergency_visits",
        (("event_id", "uuid"), ("arrived_at", "timestamptz"), ("facility_id", "text"), ("age_band", "text"),
         ("reason", "text"), ("commune_code", "text"), ("hospitalised", "boolean"), ("patient_key", "text")),
        ("event_id", "arrived_at"),
        "facility_id",
        lambda e: (e.event_id, e.arrived_at, e.facility_id, e.age_band.value, e.reason.value, e.commune_code,
                   e.hospitalised, e.patient_key),
        EmergencyVisit,
        movable=True,
    ),
    BedSnapshot: _Table(
        "bed_snapshots",
        (("facility_id", "text"), ("care_unit", "text"), ("observed_at", "timestamptz"), ("beds_total", "integer"),
         ("beds_occupied", "integer"), ("event_id", "uuid")),
        ("facility_id", "care_unit", "observed_at"),
        "facility_id",
        lambda e: (e.facility_id, e.care_unit.value, e.observed_at, e.beds_total, e.beds_occupied, e.event_id),
        BedSnapshot,
    ),
    EnvironmentObservation: _Table(
        "environment_observations",
        (("station_id", "text"), ("indicator", "text"), ("observed_at", "timestamptz"), ("value", "float8"),
         ("unit", "text"), ("event_id", "uuid")),
        ("station_id", "indicator", "observed_at"),
        "station_id",
        lambda e: (e.station_id, e.indicator.value, e.observed_at, e.value, e.unit, e.event_id),
        EnvironmentObservation,
    ),
}


async def probe_store_options(conn: AsyncConnection[Any]) -> StoreOptions:
    """What this server allows: COPY FROM STDIN, and continuous aggregates to keep refreshed.

    Runs in its own transaction, rolled back (the probe creates nothing that outlives it).
    """
    copy = True
    try:
        async with conn.transaction(force_rollback=True):
            await conn.execute("CREATE TEMP TABLE _synopse_copy_probe (x integer) ON COMMIT DROP")
            async with conn.cursor().copy("COPY _synopse_copy_probe (x) FROM STDIN") as copy_in:
                await copy_in.write_row((1,))
    except psycopg.Error:
        copy = False
    cursor = await conn.execute(
        "SELECT to_regclass('timescaledb_information.continuous_aggregates') IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')"
    )
    row = await cursor.fetchone()
    caggs = bool(row and row[0])
    if caggs:
        cursor = await conn.execute(
            "SELECT count(*) FROM timescaledb_information.continuous_aggregates WHERE view_schema = current_schema()"
        )
        row = await cursor.fetchone()
        caggs = bool(row and row[0])
    await conn.rollback()
    return StoreOptions(copy=copy, continuous_aggregates=caggs)


async def store_events(
    conn: AsyncConnection[Any], topic: str, events: Sequence[Event], options: StoreOptions | None = None
) -> WriteCounts:
    """Upsert a batch of events of one type, then refresh the live tables they feed.

    Args:
        conn: A connection inside the caller's transaction.
        topic: The topic the events came from (recorded with the sources' freshness).
        events: Validated events, all of one contract.
        options: What the server allows (defaults: no COPY, no continuous aggregates).
    """
    if not events:
        return WriteCounts()
    if isinstance(events[0], HospitalDailyCount):
        # Published daily counts have their own table and upsert (imported here: that module uses this one).
        from synopse.db.hospital_daily import store_hospital_daily

        return await store_hospital_daily(conn, topic, events)  # type: ignore[arg-type]
    options = options or StoreOptions()
    table = _TABLES[type(events[0])]
    received = len(events)
    rows = list(map(table.row, events))
    # Last occurrence wins: PostgreSQL refuses to touch one row twice in a single upsert, and a later
    # message for the same key is the newer truth. Keys are read from the rows (plain strings and UTC
    # datetimes: cheap to hash), and the common case, no duplicate, keeps the lists as they are. An
    # event that may move in time is keyed by its id alone: its last version is the one kept.
    last = {table.row_key(row): index for index, row in enumerate(rows)}
    if len(last) < len(rows):
        keep = sorted(last.values())
        rows = [rows[i] for i in keep]
        events = [events[i] for i in keep]
    moved: list[tuple[str, str | None, datetime]] = []
    if options.copy and len(rows) >= COPY_MIN_ROWS:
        counts, moved = await _upsert_copy(conn, table, rows)
    else:
        document = table.adapter.dump_json(list(events)).decode()
        cursor = await conn.execute(table.upsert_json, (document,))
        counts = _counts(await cursor.fetchone(), len(rows))
        if table.movable:
            cursor = await conn.execute(table.move_json, (document, document))
            moved = await cursor.fetchall()
    # A moved event's new row was counted as inserted: it is an update of the event.
    counts = WriteCounts(
        counts.inserted - len(moved), counts.updated + len(moved), counts.unchanged + received - len(rows)
    )
    await record_freshness(conn, topic, map(table.source_at, rows))
    if table.name == "bed_snapshots":
        await refresh_current_beds(conn, events)
    elif table.name in ACTIVITY_TABLES:
        await recount_activity(conn, table.name, events, moved)
    if options.continuous_aggregates:
        await _request_refresh(conn, table, [when for _, when in map(table.source_at, rows)] + [m[2] for m in moved])
    return counts


async def _upsert_copy(
    conn: AsyncConnection[Any], table: _Table, rows: list[tuple[object, ...]]
) -> tuple[WriteCounts, list[tuple[str, str | None, datetime]]]:
    # ON COMMIT DELETE ROWS: the staging table lives as long as the session and is empty at each batch;
    # created on demand, so a session handed over by a pooler works too.
    await conn.execute(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
            table.staging,
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in table.columns),
        )
    )
    names = sql.SQL(", ").join(sql.Identifier(c) for c, _ in table.columns)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(table.staging, names)
    async with conn.cursor().copy(copy_sql) as copy:
        copy.set_types([t for _, t in table.columns])
        for row in rows:
            await copy.write_row(row)
    cursor = await conn.execute(table.upsert_copy)
    counts = _counts(await cursor.fetchone(), len(rows))
    moved = await (await conn.execute(table.move_copy)).fetchall() if table.movable else []
    # Emptied now rather than at commit: a second chunk in the same transaction starts from nothing.
    await conn.execute(sql.SQL("TRUNCATE {}").format(table.staging))
    return counts, moved


async def known_source_ids(conn: AsyncConnection[Any]) -> tuple[set[str], set[str]]:
    """The facility ids and the station ids of the reference data."""
    cursor = await conn.execute("SELECT facility_id FROM facilities")
    facilities = {str(row[0]) for row in await cursor.fetchall()}
    cursor = await conn.execute("SELECT station_id FROM stations")
    stations = {str(row[0]) for row in await cursor.fetchall()}
    await conn.rollback()
    return facilities, stations


def columns_of(model: type[Event]) -> list[str]:
    """The raw table's columns for a contract, in the order :func:`upsert_text_rows` expects."""
    return [c for c, _ in _TABLES[model].columns]


async def upsert_text_rows(
    conn: AsyncConnection[Any], model: type[Event], rows: Sequence[Sequence[object]]
) -> WriteCounts:
    """The same upsert from rows already in PostgreSQL's text form (unvalidated: for bulk loads of trusted
    exports and the benchmarks' raw-consumer ceiling). Only the raw table is written, not the live tables."""
    table = _TABLES[model]
    await conn.execute(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
            table.staging,
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in table.columns),
        )
    )
    names = sql.SQL(", ").join(sql.Identifier(c) for c, _ in table.columns)
    async with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table.staging, names)) as copy:
        for row in rows:
            await copy.write_row(row)
    cursor = await conn.execute(table.upsert_copy)
    counts = _counts(await cursor.fetchone(), len(rows))
    await conn.execute(sql.SQL("TRUNCATE {}").format(table.staging))
    return counts


def _counts(row: tuple[Any, ...] | None, rows: int) -> WriteCounts:
    inserted, written = (int(row[0]), int(row[1])) if row else (0, 0)
    return WriteCounts(inserted, written - inserted, rows - written)


async def record_freshness(
    conn: AsyncConnection[Any], topic: str, sightings: Iterable[tuple[str, datetime]]
) -> None:
    """Fold ``(source id, event time)`` pairs into ``source_freshness``: newest event and count per source.

    One upsert shared by every write path (raw tables, hospital daily counts), so the dashboard's and the
    alert rules' notion of a stale source cannot drift between them. The caller owns the transaction.
    """
    latest: dict[str, datetime] = {}
    counts: dict[str, int] = {}
    for source, when in sightings:
        previous = latest.get(source)
        if previous is None or when > previous:
            latest[source] = when
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


async def _request_refresh(conn: AsyncConnection[Any], table: _Table, instants: Sequence[datetime]) -> None:
    """Ask for the re-materialisation of the range of events older than the real-time window."""
    horizon = datetime.now(UTC) - REALTIME_WINDOW
    late = [when for when in instants if when < horizon]
    if late:
        await conn.execute(
            "INSERT INTO aggregate_refresh_requests (raw_table, range_start, range_end) VALUES (%s, %s, %s)",
            (table.name, min(late), max(late)),
        )
