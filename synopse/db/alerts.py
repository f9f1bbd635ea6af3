"""Alert SQL: rules and their audit trail, alert state, acknowledgements, comments, silences, and the series the
rules read.

Boundary: functions take a psycopg connection inside the caller's transaction and return typed rows from
``synopse.domain.alert_records``; they never commit (the evaluator writes a state change and its outbox rows
in one transaction). Subscribers and the delivery ledger are in ``synopse.db.alert_delivery``.
Series reads use the aggregates and live tables only (``emergency_visits_hourly``,
``emergency_visits_commune_daily``, ``environment_daily``, ``bed_occupancy_current``, ``source_freshness``,
``pipeline_health_topics``) and the forecast interface described at :func:`capacity_outlook`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, LiteralString
from uuid import UUID

from psycopg import AsyncConnection, Connection, sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from synopse.domain.alert_records import (
    AlertListing,
    AlertRow,
    CapacityOutlook,
    DailyCount,
    FacilityHourCount,
    PipelineTopic,
    RuleChange,
    Silence,
    SourceSilence,
    StationDay,
    StoredRule,
    UnitBeds,
)
from synopse.domain.alerts import AlertState

LOCAL_TZ = "Europe/Paris"  # the zone of the daily aggregates (French civil day)

# ------------------------------------------------------------------------------------------------- rules


def load_rules(conn: Connection[Any], *, enabled_only: bool = False) -> list[StoredRule]:
    query: LiteralString = (
        "SELECT rule_id, kind, definition, enabled, source, file_hash, updated_at, updated_by FROM alert_rules"
        " WHERE enabled OR NOT %s ORDER BY rule_id"
    )
    with conn.cursor(row_factory=class_row(StoredRule)) as cur:
        return cur.execute(query, (enabled_only,)).fetchall()


def _record_change(
    conn: Connection[Any], rule_id: str, actor: str, action: str, source: str,
    before: dict[str, Any] | None, after: dict[str, Any] | None, comment: str = "",
) -> None:
    conn.execute(
        "INSERT INTO alert_rule_changes (rule_id, changed_by, action, source, before, after, comment)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (rule_id, actor, action, source, None if before is None else Jsonb(before),
         None if after is None else Jsonb(after), comment),
    )


def upsert_rule(
    conn: Connection[Any], *, rule_id: str, kind: str, definition: dict[str, Any], enabled: bool, source: str,
    actor: str, file_hash: str | None = None, comment: str = "",
) -> str | None:
    """Create or change a rule and record the change; returns the action taken, or None if nothing changed."""
    row = conn.execute(
        "SELECT definition, enabled FROM alert_rules WHERE rule_id = %s FOR UPDATE", (rule_id,)
    ).fetchone()
    if row is not None and row[0] == definition and row[1] == enabled:
        if file_hash is not None:
            conn.execute("UPDATE alert_rules SET file_hash = %s WHERE rule_id = %s", (file_hash, rule_id))
        return None
    conn.execute(
        """INSERT INTO alert_rules (rule_id, kind, definition, enabled, source, file_hash, updated_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (rule_id) DO UPDATE SET kind = EXCLUDED.kind, definition = EXCLUDED.definition,
               enabled = EXCLUDED.enabled, source = EXCLUDED.source,
               file_hash = coalesce(EXCLUDED.file_hash, alert_rules.file_hash),
               updated_at = now(), updated_by = EXCLUDED.updated_by""",
        (rule_id, kind, Jsonb(definition), enabled, source, file_hash, actor),
    )
    if row is None:
        action = "create"
    elif row[0] == definition:
        action = "enable" if enabled else "disable"
    else:
        action = "update"
    _record_change(conn, rule_id, actor, action, source, None if row is None else row[0], definition, comment)
    return action


def delete_rule(conn: Connection[Any], rule_id: str, *, actor: str, source: str, comment: str = "") -> bool:
    row = conn.execute("DELETE FROM alert_rules WHERE rule_id = %s RETURNING definition", (rule_id,)).fetchone()
    if row is None:
        return False
    _record_change(conn, rule_id, actor, "delete", source, row[0], None, comment)
    return True


def rule_changes(conn: Connection[Any], rule_id: str | None = None, limit: int = 100) -> list[RuleChange]:
    query: LiteralString = (
        "SELECT change_id, rule_id, changed_at, changed_by, action, source, before, after, comment"
        " FROM alert_rule_changes WHERE %(rule)s::text IS NULL OR rule_id = %(rule)s::text"
        " ORDER BY change_id DESC LIMIT %(limit)s"
    )
    with conn.cursor(row_factory=class_row(RuleChange)) as cur:
        return cur.execute(query, {"rule": rule_id, "limit": limit}).fetchall()


# ------------------------------------------------------------------------------------------------ alerts

_OPEN_ALERTS: LiteralString = """
SELECT alert_id, rule_id, scope_key, indicator, status, severity, pending_since, firing_since, clear_since,
       resolved_at, value, details, summary, notified, evaluated_at
FROM alerts WHERE status IN ('pending', 'firing')"""
_GET_ALERT: LiteralString = """
SELECT alert_id, rule_id, scope_key, indicator, status, severity, pending_since, firing_since, clear_since,
       resolved_at, value, details, summary, notified, evaluated_at
FROM alerts WHERE alert_id = %s"""


def open_alerts(conn: Connection[Any]) -> list[AlertRow]:
    """Every pending or firing alert: the live state the evaluator starts from."""
    with conn.cursor(row_factory=class_row(AlertRow)) as cur:
        return cur.execute(_OPEN_ALERTS).fetchall()


def get_alert(conn: Connection[Any], alert_id: UUID | str) -> AlertRow | None:
    with conn.cursor(row_factory=class_row(AlertRow)) as cur:
        return cur.execute(_GET_ALERT, (str(alert_id),)).fetchone()


def save_alert(conn: Connection[Any], state: AlertState, *, indicator: str, summary: str, at: datetime) -> None:
    """Write the state of one alert episode (insert or update by its id)."""
    conn.execute(_SAVE_ALERT, _alert_params(state, indicator, summary, at))


_SAVE_ALERT: LiteralString = """
INSERT INTO alerts (alert_id, rule_id, scope_key, indicator, status, severity, pending_since, firing_since,
                    clear_since, resolved_at, value, details, summary, evaluated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (alert_id) DO UPDATE SET status = EXCLUDED.status, severity = EXCLUDED.severity,
    firing_since = EXCLUDED.firing_since, clear_since = EXCLUDED.clear_since, resolved_at = EXCLUDED.resolved_at,
    value = EXCLUDED.value, details = EXCLUDED.details, summary = EXCLUDED.summary,
    evaluated_at = EXCLUDED.evaluated_at"""


def _alert_params(state: AlertState, indicator: str, summary: str, at: datetime) -> tuple[Any, ...]:
    return (state.alert_id, state.rule_id, state.key, indicator, state.status.value, state.severity.value,
            state.pending_since, state.firing_since, state.clear_since, state.resolved_at, state.value,
            Jsonb(state.details), summary, at)


def save_alerts(conn: Connection[Any], alerts: list[tuple[AlertState, str, str]], at: datetime) -> None:
    """Write many alert states at once: (state, indicator, summary) each, in one pipelined batch."""
    if alerts:
        with conn.cursor() as cur:
            cur.executemany(_SAVE_ALERT, [_alert_params(state, ind, summary, at) for state, ind, summary in alerts])


def delete_alerts(conn: Connection[Any], alert_ids: list[str]) -> None:
    """Forget pending episodes whose condition cleared before they fired (they were never notified)."""
    if alert_ids:
        conn.execute("DELETE FROM alerts WHERE alert_id = ANY(%s::uuid[]) AND status = 'pending'", (alert_ids,))


def reserve_event_ids(conn: Connection[Any], count: int) -> list[int]:
    """Take ``count`` ids of alert_events in one round trip (events then insert without waiting for each id)."""
    rows = conn.execute(
        "SELECT nextval(pg_get_serial_sequence('alert_events', 'event_id')) FROM generate_series(1, %s)", (count,)
    ).fetchall()
    return [int(row[0]) for row in rows]


def insert_events(conn: Connection[Any], events: list[tuple[int, str, str, datetime, str, float | None, bool]]) -> None:
    """(event_id, alert_id, kind, at, severity, value, silenced) each."""
    if events:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alert_events (event_id, alert_id, kind, at, severity, value, silenced)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)", events)


def set_notified_many(conn: Connection[Any], alert_ids: list[str]) -> None:
    if alert_ids:
        conn.execute("UPDATE alerts SET notified = true WHERE alert_id = ANY(%s::uuid[])", (alert_ids,))


def delete_alert(conn: Connection[Any], alert_id: str) -> None:
    """Forget a pending episode whose condition cleared before it fired (it was never notified)."""
    conn.execute("DELETE FROM alerts WHERE alert_id = %s AND status = 'pending'", (alert_id,))


def record_event(
    conn: Connection[Any], alert_id: str, kind: str, at: datetime, severity: str, value: float | None,
    *, silenced: bool,
) -> int:
    row = conn.execute(
        "INSERT INTO alert_events (alert_id, kind, at, severity, value, silenced) VALUES (%s, %s, %s, %s, %s, %s)"
        " RETURNING event_id",
        (alert_id, kind, at, severity, value, silenced),
    ).fetchone()
    assert row is not None  # noqa: S101 - INSERT ... RETURNING always returns the row
    return int(row[0])


def set_notified(conn: Connection[Any], alert_id: str, notified: bool = True) -> None:
    conn.execute("UPDATE alerts SET notified = %s WHERE alert_id = %s", (notified, alert_id))


_LISTING: LiteralString = """
SELECT a.alert_id, a.rule_id, a.scope_key, a.indicator, a.status, a.severity, a.pending_since, a.firing_since,
       a.resolved_at, a.value, a.details, a.summary, k.acked_by, k.acked_at, k.comment AS ack_comment
FROM alerts a
LEFT JOIN LATERAL (SELECT acked_by, acked_at, comment FROM alert_acks WHERE alert_id = a.alert_id
                   ORDER BY acked_at DESC LIMIT 1) k ON true
WHERE (%(statuses)s::text[] IS NULL OR a.status = ANY(%(statuses)s::text[]))
ORDER BY coalesce(a.resolved_at, a.firing_since, a.pending_since) DESC
LIMIT %(limit)s
"""


def list_alerts(conn: Connection[Any], statuses: list[str] | None = None, limit: int = 200) -> list[AlertListing]:
    """Alerts newest first, with their latest acknowledgement."""
    with conn.cursor(row_factory=class_row(AlertListing)) as cur:
        return cur.execute(_LISTING, {"statuses": statuses, "limit": limit}).fetchall()


def acknowledge(conn: Connection[Any], alert_id: str, *, by: str, comment: str = "") -> datetime | None:
    """Record who acknowledged an alert, when, and why; None when the alert does not exist."""
    row = conn.execute(
        "INSERT INTO alert_acks (alert_id, acked_by, comment) SELECT alert_id, %s, %s FROM alerts"
        " WHERE alert_id = %s RETURNING acked_at",
        (by, comment, alert_id),
    ).fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class AlertComment:
    """One comment of an alert's thread (``alert_comments``, migration 0055: append-only)."""

    comment_id: int
    alert_id: UUID
    at: datetime
    author: str
    role: str
    body: str


def add_comment(conn: Connection[Any], alert_id: str, *, author: str, role: str, body: str) -> AlertComment | None:
    """Append a comment to an alert's thread; None when the alert does not exist. Never edited nor deleted after
    (the table refuses it): a correction is another comment."""
    query: LiteralString = (
        "INSERT INTO alert_comments (alert_id, author, role, body) SELECT alert_id, %s, %s, %s FROM alerts"
        " WHERE alert_id = %s RETURNING comment_id, alert_id, at, author, role, body"
    )
    with conn.cursor(row_factory=class_row(AlertComment)) as cur:
        return cur.execute(query, (author, role, body, alert_id)).fetchone()


def list_comments(conn: Connection[Any], alert_ids: Sequence[UUID | str]) -> list[AlertComment]:
    """The comments of the given alerts, oldest first within each alert."""
    query: LiteralString = (
        "SELECT comment_id, alert_id, at, author, role, body FROM alert_comments"
        " WHERE alert_id = ANY(%s::uuid[]) ORDER BY alert_id, comment_id"
    )
    with conn.cursor(row_factory=class_row(AlertComment)) as cur:
        return cur.execute(query, ([str(a) for a in alert_ids],)).fetchall()


def add_silence(
    conn: Connection[Any], silence_id: str, *, ends_at: datetime, created_by: str, rule_id: str | None = None,
    scope_key: str | None = None, indicator: str | None = None, starts_at: datetime | None = None, comment: str = "",
) -> None:
    conn.execute(
        """INSERT INTO alert_silences (silence_id, rule_id, scope_key, indicator, starts_at, ends_at, created_by,
                                       comment)
           VALUES (%s, %s, %s, %s, coalesce(%s, now()), %s, %s, %s)""",
        (silence_id, rule_id, scope_key, indicator, starts_at, ends_at, created_by, comment),
    )


def active_silences(conn: Connection[Any], at: datetime) -> list[Silence]:
    query: LiteralString = (
        "SELECT silence_id, rule_id, scope_key, indicator, starts_at, ends_at, created_by, comment"
        " FROM alert_silences WHERE ends_at > %(at)s ORDER BY ends_at"
    )
    with conn.cursor(row_factory=class_row(Silence)) as cur:
        return [s for s in cur.execute(query, {"at": at}).fetchall() if s.starts_at <= at]


def expire_silence(conn: Connection[Any], silence_id: str) -> bool:
    cursor = conn.execute(
        "UPDATE alert_silences SET ends_at = greatest(starts_at + interval '1 microsecond', now())"
        " WHERE silence_id = %s AND ends_at > now()",
        (silence_id,),
    )
    return cursor.rowcount > 0


# ------------------------------------------------------------------------------------- series of the rules


def database_now(conn: Connection[Any]) -> datetime:
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None  # noqa: S101 - SELECT now() always returns a row
    value: datetime = row[0]
    return value


def occupancy_by_unit(conn: Connection[Any]) -> list[UnitBeds]:
    """The latest snapshot of every care unit, with its facility's commune. Cost: one row per unit."""
    query: LiteralString = """
        SELECT b.facility_id, f.commune_code, b.care_unit, b.beds_total, b.beds_occupied, b.observed_at
        FROM bed_occupancy_current b LEFT JOIN facilities f USING (facility_id)"""
    with conn.cursor(row_factory=class_row(UnitBeds)) as cur:
        return cur.execute(query).fetchall()


def ed_visits_by_hour(
    conn: Connection[Any], first: datetime, last: datetime, *, reason: str | None, age_band: str | None
) -> list[FacilityHourCount]:
    """ED visits per facility and hourly bucket in ``[first, last]``. Cost: those buckets of the aggregate."""
    query: LiteralString = """
        SELECT facility_id, bucket, sum(visits)::int AS visits FROM emergency_visits_hourly
        WHERE bucket >= %(first)s AND bucket <= %(last)s
          AND (%(reason)s::text IS NULL OR reason = %(reason)s::text)
          AND (%(age)s::text IS NULL OR age_band = %(age)s::text)
        GROUP BY facility_id, bucket"""
    params = {"first": first, "last": last, "reason": reason, "age": age_band}
    with conn.cursor(row_factory=class_row(FacilityHourCount)) as cur:
        return cur.execute(query, params).fetchall()


def latest_visit_hour(conn: Connection[Any]) -> datetime | None:
    """The newest hourly bucket with ED visits (the evaluation's "now" for a replay of old data)."""
    row = conn.execute(
        "SELECT least(max(last_event_at), now()) FROM source_freshness WHERE topic LIKE '%%emergency_visits%%'"
    ).fetchone()
    return None if row is None else row[0]


def ed_visits_daily(
    conn: Connection[Any], level: str, first: date, last: date, *, reason: str | None, age_band: str | None
) -> list[DailyCount]:
    """ED visits per local day by facility (``level='facility'``) or commune of residence (``'commune'``).

    Days without a row are zeros (the caller fills them). Cost: the window of the hourly or commune-daily
    aggregate, grouped by day.
    """
    params = {"first": first, "last": last, "reason": reason, "age": age_band, "tz": LOCAL_TZ}
    if level == "facility":
        query: LiteralString = """
            SELECT facility_id AS scope_id, (bucket AT TIME ZONE %(tz)s)::date AS day, sum(visits)::int AS visits
            FROM emergency_visits_hourly
            WHERE bucket >= (%(first)s::date::timestamp AT TIME ZONE %(tz)s)
              AND bucket < ((%(last)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
              AND (%(reason)s::text IS NULL OR reason = %(reason)s::text)
              AND (%(age)s::text IS NULL OR age_band = %(age)s::text)
            GROUP BY 1, 2"""
    else:
        query = """
            SELECT coalesce(commune_code, '') AS scope_id, (bucket AT TIME ZONE %(tz)s)::date AS day,
                   sum(visits)::int AS visits
            FROM emergency_visits_commune_daily
            WHERE bucket >= (%(first)s::date::timestamp AT TIME ZONE %(tz)s)
              AND bucket < ((%(last)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
              AND (%(reason)s::text IS NULL OR reason = %(reason)s::text)
              AND (%(age)s::text IS NULL OR age_band = %(age)s::text)
            GROUP BY 1, 2"""
    with conn.cursor(row_factory=class_row(DailyCount)) as cur:
        return cur.execute(query, params).fetchall()


def station_days(conn: Connection[Any], indicators: list[str], first: date) -> list[StationDay]:
    """Daily means (and hourly readings counted) per station and indicator from ``first`` on."""
    query: LiteralString = """
        SELECT station_id, indicator, (bucket AT TIME ZONE %(tz)s)::date AS day, value_avg::float8 AS value,
               observations::int AS observations
        FROM environment_daily
        WHERE indicator = ANY(%(indicators)s) AND bucket >= (%(first)s::date::timestamp AT TIME ZONE %(tz)s)
        ORDER BY station_id, indicator, day"""
    with conn.cursor(row_factory=class_row(StationDay)) as cur:
        return cur.execute(query, {"indicators": indicators, "first": first, "tz": LOCAL_TZ}).fetchall()


def source_silences(conn: Connection[Any], topic_like: str) -> list[SourceSilence]:
    """Every source of the topics whose name ends with ``topic_like``, with the database clock."""
    query: LiteralString = """
        SELECT f.topic, f.source_id, s.kind AS station_kind, f.last_event_at, f.last_ingested_at, now() AS now
        FROM source_freshness f LEFT JOIN stations s ON s.station_id = f.source_id
        WHERE f.topic LIKE '%%' || %(topic)s"""
    with conn.cursor(row_factory=class_row(SourceSilence)) as cur:
        return cur.execute(query, {"topic": topic_like}).fetchall()


def _relation_exists(conn: Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


def pipeline_topics(conn: Connection[Any]) -> list[PipelineTopic]:
    """Per consumer group and topic: lag and dead-letter counters kept by the stream worker (migration 0046)."""
    if not _relation_exists(conn, "pipeline_health_topics"):
        return []
    query: LiteralString = """
        SELECT consumer_group, topic, lag::bigint AS lag, coalesce(dead_lettered, 0)::bigint AS dead_lettered,
               coalesce(events_in, 0)::bigint AS events_in, oldest_lag_at, now() AS now
        FROM pipeline_health_topics"""
    with conn.cursor(row_factory=class_row(PipelineTopic)) as cur:
        return cur.execute(query).fetchall()


# The forecast interface the forecast rules read: a relation with one row per facility, forecast run and
# day ahead. The forecasting component provides it (a table or a view over its own tables):
#   capacity_forecast_daily(facility_id text, run_at timestamptz, day date,
#                           p_exceed_capacity float8, expected_saturation_date date NULL)
FORECAST_RELATION = "capacity_forecast_daily"


def capacity_outlook(conn: Connection[Any], within_days: int, today: date) -> list[CapacityOutlook]:
    """Per facility, from its latest run: the highest probability of exceeding capacity and the earliest
    expected saturation date within ``within_days`` days from ``today``. Empty when no forecast exists yet."""
    if not _relation_exists(conn, FORECAST_RELATION):
        return []
    query: LiteralString = """
        WITH latest AS (SELECT facility_id, max(run_at) AS run_at FROM capacity_forecast_daily GROUP BY facility_id)
        SELECT c.facility_id, c.run_at, max(c.p_exceed_capacity)::float8 AS exceed_probability,
               min(c.expected_saturation_date) FILTER (WHERE c.expected_saturation_date <= %(until)s::date)
                   AS saturation_date
        FROM capacity_forecast_daily c JOIN latest USING (facility_id, run_at)
        WHERE c.day >= %(today)s::date AND c.day <= %(until)s::date
        GROUP BY c.facility_id, c.run_at"""
    params = {"today": today, "until": date.fromordinal(today.toordinal() + within_days)}
    with conn.cursor(row_factory=class_row(CapacityOutlook)) as cur:
        return cur.execute(query, params).fetchall()


def scope_names(conn: Connection[Any]) -> dict[str, str]:
    """Display names of every scope key of the reference data (facilities, communes, stations)."""
    rows = conn.execute(
        """SELECT 'facility:' || facility_id, name FROM facilities
           UNION ALL SELECT 'commune:' || code, name FROM communes
           UNION ALL SELECT 'station:' || station_id, name FROM stations"""
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def alert_events(conn: Connection[Any], alert_id: str) -> list[tuple[int, str, datetime, str]]:
    """(event_id, kind, at, severity) of one alert, oldest first: the CAP message history."""
    rows = conn.execute(
        "SELECT event_id, kind, at, severity FROM alert_events WHERE alert_id = %s ORDER BY event_id", (alert_id,)
    ).fetchall()
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows]


# All evaluators of one database serialise on this advisory lock (any fixed number; "SYAL").
_EVALUATION_LOCK = 0x5359414C


def try_evaluation_lock(conn: Connection[Any]) -> bool:
    """Take the evaluation lock for the current transaction; False when another replica is evaluating."""
    row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_EVALUATION_LOCK,)).fetchone()
    return bool(row and row[0])


def rules_version(conn: Connection[Any]) -> tuple[int, datetime | None, int]:
    """Changes to the rules move this value (count, newest change, newest audit row): reload when it moves."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM alert_rules), (SELECT max(updated_at) FROM alert_rules),"
        " (SELECT coalesce(max(change_id), 0) FROM alert_rule_changes)"
    ).fetchone()
    assert row is not None  # noqa: S101 - a SELECT of aggregates always returns a row
    return int(row[0]), row[1], int(row[2])


DATA_CHANNEL = "synopse_alert_data"  # payload: the raw table that received data (migration 0024)
OUTBOX_CHANNEL = "synopse_alert_outbox"  # notifications queued or re-queued (migration 0023)


async def listen(conn: AsyncConnection[Any], channels: list[str]) -> None:
    """Subscribe an autocommit connection to notification channels."""
    for channel in channels:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
