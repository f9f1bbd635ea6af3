"""Read-side queries of the dashboard: every figure the screens show, computed from aggregates and live tables.

Boundary: functions take a psycopg connection inside the caller's transaction and return typed rows
(frozen dataclasses read with ``class_row``); they never open connections and never read the raw event
tables directly, only the hourly/daily aggregates (views on PostgreSQL, continuous aggregates on
TimescaleDB), the live tables (``bed_occupancy_current``, ``source_freshness``) and the reference tables.

Time: every window is anchored on a reference instant ``now`` given by the caller. By default it is the
newest data time (:func:`latest_data_time`), so that a replay of old data still shows its last days.
Hourly windows are whole hourly buckets: "the last 24 h" is the 24 buckets ending with the one that
contains ``now`` (the current hour counts with what it holds so far); "the last hour" is the last
*complete* hour, so that it is never a few minutes of a new hour. Daily windows are local days in
Europe/Paris, like the daily aggregates.

Access: every function takes a :class:`~synopse.domain.access.Scope` and filters in SQL against the
organisation's shares (``access_shares``), so a partner's query never returns a territory or an indicator that
is not shared with it, whatever the caller asked for. The functions returning exact counts for the live screens
(:func:`load_overview`, :func:`hourly_activity`...) refuse a non-exact scope; protected views read base cells
(:func:`facility_days`, :func:`commune_week`) and publish them through ``synopse.domain.disclosure``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, LiteralString
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import class_row

from synopse.domain.access import AccessDenied, Scope
from synopse.domain.indicators import (
    CommuneActivity,
    CommuneWeek,
    EnvironmentReading,
    FacilityBeds,
    FacilityDay,
    FacilityStatus,
    HourlyPoint,
    Overview,
    SourceFreshness,
)

LOCAL_TZ = ZoneInfo("Europe/Paris")  # the zone of the daily aggregates (French civil day)

# Commune tiles cover a week: small communes see a few cases a day, and a whole week evens out the
# weekday pattern (fewer scheduled admissions at weekends) so that two communes compare fairly.
COMMUNE_WINDOW_DAYS = 7

# Pollen is published daily and wastewater once or twice a week: look back a little over a week so
# that their latest value is still found; the value's own time is returned and shown with it.
ENVIRONMENT_LOOKBACK = timedelta(days=8)

# A dashboard query taking longer than this is a sign of trouble (missing aggregate, huge backlog);
# cancelling it keeps the web workers free instead of piling up behind it.
DEFAULT_STATEMENT_TIMEOUT = timedelta(seconds=10)

# The crisis cell's scope: the default of the functions below, for the callers that are the crisis cell itself
# (commands, rules, tests). Every web request passes the scope of its principal.
EVERYTHING = Scope.everything(exact=True)

def _require_exact(scope: Scope) -> None:
    if not scope.exact:
        raise AccessDenied("exact counts are read with an exact scope only; protected views read base cells")

def hour_floor(instant: datetime) -> datetime:
    """The start of the UTC hour containing ``instant`` (an hourly bucket)."""
    return instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def local_day_start(day: date) -> datetime:
    """Midnight of a local (Europe/Paris) day as an aware instant: the bucket of a daily aggregate."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


def set_statement_timeout(conn: Connection[Any], timeout: timedelta = DEFAULT_STATEMENT_TIMEOUT) -> None:
    """Bound every statement of the current transaction (``SET LOCAL``: it ends with the transaction)."""
    milliseconds = max(1, round(timeout.total_seconds() * 1000))
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(milliseconds),))


_LATEST_DATA_TIME: LiteralString = """
SELECT CASE WHEN newest > now() THEN now() ELSE newest END  -- not least(): it would turn "none" into now()
FROM (SELECT max(last_event_at) AS newest FROM source_freshness) AS freshness
"""


def latest_data_time(conn: Connection[Any]) -> datetime | None:
    """The newest event time over all sources, capped at the database clock; None when nothing came yet.

    The cap keeps a source with a clock running ahead from pulling every window into the future.
    Cost: one pass over ``source_freshness`` (one row per source: tens of rows).
    """
    row = conn.execute(_LATEST_DATA_TIME).fetchone()
    return None if row is None else row[0]


def _reference(conn: Connection[Any], now: datetime | None) -> datetime | None:
    return now if now is not None else latest_data_time(conn)


_FACILITY_STATUS: LiteralString = """
WITH beds AS (
    SELECT facility_id, sum(beds_total)::int AS beds_total, sum(beds_occupied)::int AS beds_occupied,
           count(*)::int AS units_reporting, min(observed_at) AS snapshot_at
    FROM bed_occupancy_current
    GROUP BY facility_id
), planned AS (
    SELECT facility_id, sum(beds)::int AS planned_beds FROM facility_units GROUP BY facility_id
), adm AS (
    SELECT facility_id,
           sum(admissions) FILTER (WHERE bucket >= %(last_24h)s)::int AS last_24h,
           sum(admissions) FILTER (WHERE bucket < %(last_24h)s)::int AS prev_24h
    FROM admissions_hourly
    WHERE bucket >= %(prev_24h)s AND bucket <= %(hour)s
    GROUP BY facility_id
), ed AS (
    SELECT facility_id,
           sum(visits) FILTER (WHERE bucket = %(last_hour)s)::int AS last_hour,
           sum(visits)::int AS last_24h
    FROM emergency_visits_hourly
    WHERE bucket >= %(last_24h)s AND bucket <= %(hour)s
    GROUP BY facility_id
)
SELECT f.facility_id, f.name, f.commune_code, f.has_emergency_department,
       coalesce(planned.planned_beds, 0) AS planned_beds,
       beds.beds_total, beds.beds_occupied, coalesce(beds.units_reporting, 0) AS units_reporting,
       beds.snapshot_at,
       coalesce(adm.last_24h, 0) AS admissions_24h, coalesce(adm.prev_24h, 0) AS admissions_prev_24h,
       coalesce(ed.last_hour, 0) AS ed_visits_last_hour, coalesce(ed.last_24h, 0) AS ed_visits_24h
FROM facilities f
LEFT JOIN beds USING (facility_id)
LEFT JOIN planned USING (facility_id)
LEFT JOIN adm USING (facility_id)
LEFT JOIN ed USING (facility_id)
WHERE %(scope_all)s
   OR f.facility_id IN (SELECT ref FROM access_shares WHERE organisation_id = %(scope_org)s AND kind = 'facility')
ORDER BY f.name
"""


def facility_statuses(conn: Connection[Any], now: datetime, *, scope: Scope = EVERYTHING) -> list[FacilityStatus]:
    """One row per reference facility of the scope: current beds, admissions 24 h vs the 24 h before, ED visits.

    Cost: 48 hourly buckets of ``admissions_hourly`` and 24 of ``emergency_visits_hourly`` grouped by
    facility, plus the live beds table (one row per unit) and the reference tables.
    """
    _require_exact(scope)
    hour = hour_floor(now)
    params = {
        "hour": hour,
        "last_hour": hour - timedelta(hours=1),
        "last_24h": hour - timedelta(hours=23),
        "prev_24h": hour - timedelta(hours=47),
        **scope.sql_params(),
    }
    with conn.cursor(row_factory=class_row(FacilityStatus)) as cur:
        return cur.execute(_FACILITY_STATUS, params).fetchall()


_COMMUNE_ACTIVITY: LiteralString = """
WITH adm AS (
    SELECT commune_code, sum(admissions)::int AS n
    FROM admissions_commune_daily
    WHERE bucket >= %(since)s AND bucket <= %(until)s
    GROUP BY commune_code
), ed AS (
    SELECT commune_code, sum(visits)::int AS n
    FROM emergency_visits_commune_daily
    WHERE bucket >= %(since)s AND bucket <= %(until)s
    GROUP BY commune_code
)
SELECT c.code AS commune_code, c.name, c.population,
       coalesce(adm.n, 0) AS admissions, coalesce(ed.n, 0) AS ed_visits
FROM communes c
LEFT JOIN adm ON adm.commune_code = c.code
LEFT JOIN ed ON ed.commune_code = c.code
WHERE %(scope_all)s
   OR c.code IN (SELECT ref FROM access_shares WHERE organisation_id = %(scope_org)s AND kind = 'commune')
UNION ALL
SELECT NULL, NULL, NULL,
       coalesce((SELECT sum(n) FROM adm
                 WHERE commune_code IS NULL OR commune_code NOT IN (SELECT code FROM communes)), 0)::int,
       coalesce((SELECT sum(n) FROM ed
                 WHERE commune_code IS NULL OR commune_code NOT IN (SELECT code FROM communes)), 0)::int
WHERE %(scope_all)s  -- residences outside the territory are no commune that can be shared
ORDER BY population DESC NULLS LAST, name
"""


def commune_activity(
    conn: Connection[Any], now: datetime, days: int = COMMUNE_WINDOW_DAYS, *, scope: Scope = EVERYTHING
) -> list[CommuneActivity]:
    """Admissions and ED visits by commune of residence over the last ``days`` local days (today included).

    The rows come in descending population, then one last row (``commune_code`` None) for residences
    unknown or outside the territory, so that the column sums equal the facilities' totals.
    Cost: ``days`` daily buckets of the two commune-daily aggregates grouped by commune.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    _require_exact(scope)
    today = now.astimezone(LOCAL_TZ).date()
    params = {"since": local_day_start(today - timedelta(days=days - 1)), "until": now, **scope.sql_params()}
    with conn.cursor(row_factory=class_row(CommuneActivity)) as cur:
        return cur.execute(_COMMUNE_ACTIVITY, params).fetchall()


_HOURLY_ACTIVITY: LiteralString = """
WITH hours AS (
    SELECT generate_series(%(first)s::timestamptz, %(last)s::timestamptz, interval '1 hour') AS bucket
), adm AS (
    SELECT bucket, sum(admissions)::int AS n FROM admissions_hourly
    WHERE bucket >= %(first)s AND bucket <= %(last)s
      AND (%(facility)s::text IS NULL OR facility_id = %(facility)s::text)
      AND (%(scope_all)s
           OR facility_id IN (SELECT ref FROM access_shares
                              WHERE organisation_id = %(scope_org)s AND kind = 'facility'))
    GROUP BY bucket
), ed AS (
    SELECT bucket, sum(visits)::int AS n FROM emergency_visits_hourly
    WHERE bucket >= %(first)s AND bucket <= %(last)s
      AND (%(facility)s::text IS NULL OR facility_id = %(facility)s::text)
      AND (%(scope_all)s
           OR facility_id IN (SELECT ref FROM access_shares
                              WHERE organisation_id = %(scope_org)s AND kind = 'facility'))
    GROUP BY bucket
), beds AS (
    SELECT bucket, sum(beds_occupied_avg)::float8 AS occupied, sum(beds_total_max)::int AS total
    FROM bed_occupancy_hourly
    WHERE bucket >= %(first)s AND bucket <= %(last)s
      AND (%(facility)s::text IS NULL OR facility_id = %(facility)s::text)
      AND (%(scope_all)s
           OR facility_id IN (SELECT ref FROM access_shares
                              WHERE organisation_id = %(scope_org)s AND kind = 'facility'))
    GROUP BY bucket
)
SELECT hours.bucket, coalesce(adm.n, 0) AS admissions, coalesce(ed.n, 0) AS ed_visits,
       beds.occupied AS beds_occupied, beds.total AS beds_total
FROM hours
LEFT JOIN adm USING (bucket)
LEFT JOIN ed USING (bucket)
LEFT JOIN beds USING (bucket)
ORDER BY hours.bucket
"""


def hourly_activity(
    conn: Connection[Any],
    *,
    hours: int,
    facility_id: str | None = None,
    now: datetime | None = None,
    scope: Scope = EVERYTHING,
) -> list[HourlyPoint]:
    """Hourly admissions, ED visits and bed occupancy over the last ``hours`` hours, every hour present.

    Args:
        conn: A connection inside the caller's transaction.
        hours: Length of the window in hourly buckets, the one containing ``now`` included.
        facility_id: One facility, or None for the whole territory (unknown facilities included).
        now: The reference instant; None means the newest data time (no rows when the store is empty).
        scope: What the reader may see (exact scopes only); a facility outside it counts nothing.

    Cost: ``hours`` buckets of each of the three hourly aggregates, grouped by hour.
    """
    if hours < 1:
        raise ValueError(f"hours must be at least 1, got {hours}")
    _require_exact(scope)
    reference = _reference(conn, now)
    if reference is None:
        return []
    last = hour_floor(reference)
    params = {"first": last - timedelta(hours=hours - 1), "last": last, "facility": facility_id, **scope.sql_params()}
    with conn.cursor(row_factory=class_row(HourlyPoint)) as cur:
        return cur.execute(_HOURLY_ACTIVITY, params).fetchall()


_LATEST_ENVIRONMENT: LiteralString = """
WITH per_hour AS (
    SELECT indicator, bucket, avg(value_avg)::float8 AS value_mean, max(value_max)::float8 AS value_max,
           count(DISTINCT station_id)::int AS stations, min(station_id) AS first_station
    FROM environment_hourly
    WHERE bucket > %(since)s AND bucket <= %(until)s AND (%(scope_all)s
           OR indicator IN (SELECT ref FROM access_shares WHERE organisation_id = %(scope_org)s AND kind = 'indicator'))
    GROUP BY indicator, bucket
)
SELECT DISTINCT ON (p.indicator) p.indicator, p.bucket, p.value_mean, p.value_max, p.stations,
       CASE WHEN p.stations = 1 THEN s.name END AS station_name
FROM per_hour p
LEFT JOIN stations s ON s.station_id = p.first_station
ORDER BY p.indicator, p.bucket DESC
"""


def latest_environment(
    conn: Connection[Any], now: datetime, lookback: timedelta = ENVIRONMENT_LOOKBACK, *, scope: Scope = EVERYTHING
) -> list[EnvironmentReading]:
    """The newest hour with a value of each indicator (of the scope) within ``lookback`` before ``now``.

    Measurements, not counts of people: a protected scope reads them as they are, for the shared indicators.

    Cost: the ``lookback`` window of ``environment_hourly`` (stations x indicators x hours: a few thousand rows).
    """
    params = {"since": now - lookback, "until": now, **scope.sql_params()}
    with conn.cursor(row_factory=class_row(EnvironmentReading)) as cur:
        return cur.execute(_LATEST_ENVIRONMENT, params).fetchall()


_SOURCE_FRESHNESS: LiteralString = """
SELECT f.topic, f.source_id, f.last_event_at, f.last_ingested_at, f.events_total, s.kind AS station_kind
FROM source_freshness f
LEFT JOIN stations s ON s.station_id = f.source_id
WHERE %(scope_all)s OR s.station_id IS NOT NULL
   OR f.source_id IN (SELECT ref FROM access_shares WHERE organisation_id = %(scope_org)s AND kind = 'facility')
ORDER BY f.topic, f.source_id
"""


def source_freshness(conn: Connection[Any], *, scope: Scope = EVERYTHING) -> list[SourceFreshness]:
    """Every source's (of the scope: stations and shared facilities) last event and ingestion times.

    ``events_total`` is a running count: a protected view must not show it (its changes count events).
    Cost: the whole (small) ``source_freshness`` table.
    """
    with conn.cursor(row_factory=class_row(SourceFreshness)) as cur:
        return cur.execute(_SOURCE_FRESHNESS, scope.sql_params()).fetchall()


def load_overview(
    conn: Connection[Any],
    now: datetime | None = None,
    commune_days: int = COMMUNE_WINDOW_DAYS,
    *,
    scope: Scope = EVERYTHING,
) -> Overview:
    """Everything the overview page shows besides the chart.

    With no data at all, the windows end at the wall clock: facilities are still listed, with no beds
    and zero counts, and ``reference_time`` is None so that the page can say so.
    """
    _require_exact(scope)
    reference = _reference(conn, now)
    anchor = reference if reference is not None else datetime.now(UTC)
    return Overview(
        reference_time=reference,
        facilities=facility_statuses(conn, anchor, scope=scope),
        communes=commune_activity(conn, anchor, commune_days, scope=scope),
        environment=latest_environment(conn, anchor, scope=scope),
        freshness=source_freshness(conn, scope=scope),
    )



# --- Base cells of the protected views (partners, viewers) ----------------------------------------------------
# Fixed, non-overlapping buckets only: complete local days per facility, complete ISO weeks per commune. The
# caller publishes them through synopse.domain.disclosure; indicators not shared come back as NULL, never 0.

_FACILITY_BEDS: LiteralString = """
WITH beds_shared AS (
    SELECT %(scope_all)s
        OR 'beds' IN (SELECT ref FROM access_shares WHERE organisation_id = %(scope_org)s AND kind = 'indicator')
        AS ok
), beds AS (
    SELECT facility_id, sum(beds_total)::int AS beds_total, sum(beds_occupied)::int AS beds_occupied,
           count(*)::int AS units_reporting, min(observed_at) AS snapshot_at
    FROM bed_occupancy_current
    GROUP BY facility_id
), planned AS (
    SELECT facility_id, sum(beds)::int AS planned_beds FROM facility_units GROUP BY facility_id
)
SELECT f.facility_id, f.name, f.commune_code, f.has_emergency_department,
       coalesce(planned.planned_beds, 0) AS planned_beds,
       CASE WHEN bs.ok THEN beds.beds_total END AS beds_total,
       CASE WHEN bs.ok THEN beds.beds_occupied END AS beds_occupied,
       CASE WHEN bs.ok THEN coalesce(beds.units_reporting, 0) ELSE 0 END AS units_reporting,
       CASE WHEN bs.ok THEN beds.snapshot_at END AS snapshot_at,
       bs.ok AS beds_shared
FROM facilities f
CROSS JOIN beds_shared bs
LEFT JOIN beds USING (facility_id)
LEFT JOIN planned USING (facility_id)
WHERE (%(scope_all)s
       OR f.facility_id IN (SELECT ref FROM access_shares WHERE organisation_id = %(scope_org)s AND kind = 'facility'))
ORDER BY f.name
"""


def facility_beds(conn: Connection[Any], *, scope: Scope) -> list[FacilityBeds]:
    """The facilities of the scope, by name, with their live beds (None when beds are not shared).

    Cost: the live beds table (one row per unit) and the reference tables.
    """
    with conn.cursor(row_factory=class_row(FacilityBeds)) as cur:
        return cur.execute(_FACILITY_BEDS, scope.sql_params()).fetchall()


_FACILITY_DAYS: LiteralString = """
WITH shared AS (
    SELECT f.facility_id FROM facilities f
    WHERE (%(facility)s::text IS NULL OR f.facility_id = %(facility)s::text)
      AND (%(scope_all)s OR f.facility_id IN (
           SELECT ref FROM access_shares WHERE organisation_id = %(scope_org)s AND kind = 'facility'))
), indicators AS (
    SELECT
        %(scope_all)s OR 'admissions' IN (SELECT ref FROM access_shares
                                          WHERE organisation_id = %(scope_org)s AND kind = 'indicator') AS adm,
        %(scope_all)s OR 'ed_visits' IN (SELECT ref FROM access_shares
                                         WHERE organisation_id = %(scope_org)s AND kind = 'indicator') AS ed,
        %(scope_all)s OR 'beds' IN (SELECT ref FROM access_shares
                                    WHERE organisation_id = %(scope_org)s AND kind = 'indicator') AS beds
), days AS (
    SELECT generate_series(%(first)s::date, %(last)s::date, interval '1 day')::date AS day
), adm AS (
    SELECT facility_id, (bucket AT TIME ZONE 'Europe/Paris')::date AS day, sum(admissions)::int AS n
    FROM admissions_hourly
    WHERE bucket >= %(since)s AND bucket < %(until)s AND facility_id IN (SELECT facility_id FROM shared)
    GROUP BY 1, 2
), ed AS (
    SELECT facility_id, (bucket AT TIME ZONE 'Europe/Paris')::date AS day, sum(visits)::int AS n
    FROM emergency_visits_hourly
    WHERE bucket >= %(since)s AND bucket < %(until)s AND facility_id IN (SELECT facility_id FROM shared)
    GROUP BY 1, 2
), bed_hours AS (
    SELECT facility_id, bucket, sum(beds_occupied_avg) AS occupied, sum(beds_total_max) AS total
    FROM bed_occupancy_hourly
    WHERE bucket >= %(since)s AND bucket < %(until)s AND facility_id IN (SELECT facility_id FROM shared)
    GROUP BY 1, 2
), beds AS (
    SELECT facility_id, (bucket AT TIME ZONE 'Europe/Paris')::date AS day,
           avg(occupied)::float8 AS occupied, max(total)::int AS total
    FROM bed_hours
    GROUP BY 1, 2
)
SELECT s.facility_id, d.day,
       CASE WHEN i.adm THEN coalesce(adm.n, 0) END AS admissions,
       CASE WHEN i.ed THEN coalesce(ed.n, 0) END AS ed_visits,
       CASE WHEN i.beds THEN beds.occupied END AS beds_occupied_mean,
       CASE WHEN i.beds THEN beds.total END AS beds_total
FROM shared s
CROSS JOIN days d
CROSS JOIN indicators i
LEFT JOIN adm ON adm.facility_id = s.facility_id AND adm.day = d.day
LEFT JOIN ed ON ed.facility_id = s.facility_id AND ed.day = d.day
LEFT JOIN beds ON beds.facility_id = s.facility_id AND beds.day = d.day
ORDER BY s.facility_id, d.day
"""


def facility_days(
    conn: Connection[Any], *, scope: Scope, first: date, last: date, facility_id: str | None = None
) -> list[FacilityDay]:
    """Exact counts per facility of the scope and local day, ``first`` to ``last`` included, every day present.

    A day without events counts 0 (a true zero); an indicator not shared with the scope is None. A facility
    outside the scope (asked for by id or not) returns no row at all. Callers ask for complete days only.
    Cost: the days' buckets of the three hourly aggregates for the scope's facilities.
    """
    if last < first:
        raise ValueError(f"last day {last} is before first day {first}")
    params = {
        "first": first,
        "last": last,
        "since": local_day_start(first),
        "until": local_day_start(last + timedelta(days=1)),
        "facility": facility_id,
        **scope.sql_params(),
    }
    with conn.cursor(row_factory=class_row(FacilityDay)) as cur:
        return cur.execute(_FACILITY_DAYS, params).fetchall()


_COMMUNE_WEEK: LiteralString = """
WITH shared AS (
    SELECT c.code, c.name, c.population FROM communes c
    WHERE %(scope_all)s
       OR c.code IN (SELECT ref FROM access_shares WHERE organisation_id = %(scope_org)s AND kind = 'commune')
), indicators AS (
    SELECT
        %(scope_all)s OR 'admissions' IN (SELECT ref FROM access_shares
                                          WHERE organisation_id = %(scope_org)s AND kind = 'indicator') AS adm,
        %(scope_all)s OR 'ed_visits' IN (SELECT ref FROM access_shares
                                         WHERE organisation_id = %(scope_org)s AND kind = 'indicator') AS ed
), adm AS (
    SELECT commune_code, sum(admissions)::int AS n FROM admissions_commune_daily
    WHERE bucket >= %(since)s AND bucket < %(until)s AND commune_code IN (SELECT code FROM shared)
    GROUP BY 1
), ed AS (
    SELECT commune_code, sum(visits)::int AS n FROM emergency_visits_commune_daily
    WHERE bucket >= %(since)s AND bucket < %(until)s AND commune_code IN (SELECT code FROM shared)
    GROUP BY 1
)
SELECT s.code AS commune_code, s.name, s.population,
       CASE WHEN i.adm THEN coalesce(adm.n, 0) END AS admissions,
       CASE WHEN i.ed THEN coalesce(ed.n, 0) END AS ed_visits
FROM shared s
CROSS JOIN indicators i
LEFT JOIN adm ON adm.commune_code = s.code
LEFT JOIN ed ON ed.commune_code = s.code
ORDER BY s.population DESC, s.name
"""


def commune_week(conn: Connection[Any], *, scope: Scope, monday: date) -> list[CommuneWeek]:
    """Exact counts of residents per commune of the scope over the ISO week starting on ``monday`` (local days).

    Cost: seven daily buckets of the two commune-daily aggregates for the scope's communes.
    """
    if monday.isoweekday() != 1:
        raise ValueError(f"{monday} is not a Monday")
    params = {
        "since": local_day_start(monday),
        "until": local_day_start(monday + timedelta(days=7)),
        **scope.sql_params(),
    }
    with conn.cursor(row_factory=class_row(CommuneWeek)) as cur:
        return cur.execute(_COMMUNE_WEEK, params).fetchall()
