"""Read queries of the dashboard's detail, map, forecast-quality and data-health pages (exact scope only).

Boundary: functions take a psycopg connection inside the caller's transaction and return typed rows (frozen
dataclasses of this module); they read aggregates, live tables and reference tables only, never raw events.
Tables of other components that may not exist yet (forecasts, pipeline health) are checked first with
:func:`missing_relations`: a page then says "not available yet" instead of failing. Alerts, silences and the
delivery ledger are read through ``synopse.db.alerts`` and ``synopse.db.alert_delivery``.

Every function here returns exact counts: callers serve them to exact scopes (crisis cell, administrators) only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, LiteralString

from psycopg import Connection
from psycopg.rows import class_row
from psycopg.sql import SQL, Composed, Identifier

from synopse.db.indicators import local_day_start

# The forecasting component's relations read here (migration 0010): the view of each series' newest finished
# run, the capacity outlooks, the scores, and the runs they belong to.
LATEST_FORECASTS = "latest_forecasts"
CAPACITY_OUTLOOKS = "capacity_outlooks"
FORECAST_RUNS = "forecast_runs"
FORECAST_SCORES = "forecast_scores"
PIPELINE_TOPICS = "pipeline_health_topics"  # view of migration 0046 (streams)


@dataclass(frozen=True)
class ObservedDay:
    """One local day of a facility, a commune (residents) or the territory."""

    day: date
    admissions: int
    ed_visits: int
    beds_occupied: float | None  # daily mean of the hourly occupied beds; None: no snapshot that day
    beds_total: int | None


@dataclass(frozen=True)
class EnvironmentDay:
    """The daily mean of one environmental indicator over the territory's stations."""

    day: date
    indicator: str
    value: float


@dataclass(frozen=True)
class ForecastDay:
    """The latest run's forecast of one series for one day: the 23 quantiles (``synopse.domain.forecasts``)."""

    target_date: date
    horizon: int
    quantiles: list[float]


@dataclass(frozen=True)
class ScoreRow:
    """Skill of one series at one horizon in the latest run that scored it."""

    metric: str
    scope: str
    scope_id: str
    kind: str
    horizon: int
    origins: int
    relative_wis: float | None
    coverage_50: float
    coverage_90: float


@dataclass(frozen=True)
class CommunePoint:
    """A commune on the map: where, how many inhabitants, how many residents admitted over the window."""

    commune_code: str
    name: str
    population: int
    latitude: float
    longitude: float
    admissions: int
    ed_visits: int

    @property
    def admissions_per_100k(self) -> float | None:
        return self.admissions * 100_000 / self.population if self.population else None


@dataclass(frozen=True)
class FacilityPoint:
    """A facility on the map with its live beds."""

    facility_id: str
    name: str
    commune_code: str
    latitude: float
    longitude: float
    beds_total: int | None
    beds_occupied: int | None

    @property
    def occupancy_rate(self) -> float | None:
        return self.beds_occupied / self.beds_total if self.beds_occupied is not None and self.beds_total else None


@dataclass(frozen=True)
class TopicHealth:
    """Lag and dead letters of one consumer group on one topic (view ``pipeline_health_topics``)."""

    consumer_group: str
    topic: str
    partitions: int
    events_in: int
    dead_lettered: int
    lag: int | None
    last_event_at: datetime | None
    last_batch_at: datetime | None
    oldest_lag_at: datetime | None


def missing_relations(conn: Connection[Any], names: list[str]) -> list[str]:
    """The names among ``names`` that are no table or view on the search path (another migration not landed)."""
    rows = conn.execute(
        "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NULL", (names,)
    ).fetchall()
    return [row[0] for row in rows]


# Which days come from the daily rollups (migrations 0050/0051): those before ``complete_before`` ('infinity' on
# TimescaleDB, where they are continuous aggregates) and before the first day still waiting for a recount after
# a late event or a correction. The days from there on are read from the hourly (or commune-daily) aggregates:
# exact at every instant, and short (the current day, or the few days since the oldest pending request).
_ROLLUP_SPLIT: LiteralString = """
SELECT least(s.complete_before, %(end)s::date,
             (SELECT min(r.day) FROM daily_rollup_requests r WHERE r.day >= %(first)s::date AND r.day < %(end)s::date))
FROM daily_rollup_state s
"""

# The detail page's daily series; ``{where}`` selects the place in the admission and visit sources, ``{places}``
# the facilities whose beds count.
_OBSERVED_DAILY = """
WITH days AS (
    SELECT generate_series(%(first)s::date, %(last)s::date, interval '1 day')::date AS day
), places AS (
    SELECT facility_id FROM facilities WHERE {places}
), adm AS (
    SELECT bucket, sum(admissions) AS n FROM {adm_rollup}
    WHERE {where} AND bucket >= %(since)s AND bucket < %(split)s
    GROUP BY bucket
    UNION ALL
    SELECT date_trunc('day', bucket, 'Europe/Paris'), sum(admissions) FROM {adm_live}
    WHERE {where} AND bucket >= %(split)s AND bucket < %(until)s
    GROUP BY 1
), ed AS (
    SELECT bucket, sum(visits) AS n FROM {ed_rollup}
    WHERE {where} AND bucket >= %(since)s AND bucket < %(split)s
    GROUP BY bucket
    UNION ALL
    SELECT date_trunc('day', bucket, 'Europe/Paris'), sum(visits) FROM {ed_live}
    WHERE {where} AND bucket >= %(split)s AND bucket < %(until)s
    GROUP BY 1
), unit_days AS (
    SELECT date_trunc('day', bucket, 'Europe/Paris') AS bucket, avg(beds_occupied_avg)::float8 AS occupied,
           max(beds_total_max)::int AS total
    FROM bed_occupancy_hourly
    WHERE facility_id IN (SELECT facility_id FROM places) AND bucket >= %(split)s AND bucket < %(until)s
    GROUP BY 1, facility_id, care_unit
), beds AS (
    SELECT bucket, sum(beds_occupied_avg)::float8 AS occupied, sum(beds_total_max)::int AS total
    FROM bed_occupancy_daily
    WHERE facility_id IN (SELECT facility_id FROM places) AND bucket >= %(since)s AND bucket < %(split)s
    GROUP BY bucket
    UNION ALL
    SELECT bucket, sum(occupied), sum(total) FROM unit_days GROUP BY bucket
), adm_days AS (  -- converted to dates once per day, not per row (a time-zone conversion is not free)
    SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, sum(n)::int AS n FROM adm GROUP BY 1
), ed_days AS (
    SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, sum(n)::int AS n FROM ed GROUP BY 1
), bed_days AS (
    SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, sum(occupied)::float8 AS occupied,
           sum(total)::int AS total
    FROM beds GROUP BY 1
)
SELECT d.day, coalesce(adm_days.n, 0) AS admissions, coalesce(ed_days.n, 0) AS ed_visits,
       bed_days.occupied AS beds_occupied, bed_days.total AS beds_total
FROM days d
LEFT JOIN adm_days USING (day)
LEFT JOIN ed_days USING (day)
LEFT JOIN bed_days USING (day)
ORDER BY d.day
"""


def _observed_daily_sql(rollups: str, live: tuple[str, str], where: LiteralString, places: LiteralString) -> Composed:
    """The series of one kind of place: ``rollups`` is the daily rollups' infix (``facility``, ``residents``),
    ``live`` the aggregates of admissions and visits read for the days the rollups do not hold."""
    return SQL(_OBSERVED_DAILY).format(
        adm_rollup=Identifier(f"admissions_{rollups}_daily"), ed_rollup=Identifier(f"emergency_visits_{rollups}_daily"),
        adm_live=Identifier(live[0]), ed_live=Identifier(live[1]), where=SQL(where), places=SQL(places),
    )


# A facility: its own counts; a commune: its residents' (wherever they went) and the beds of the facilities
# located there; the territory: every count, and the beds of every facility of the reference data.
_OBSERVED_FACILITY = _observed_daily_sql("facility", ("admissions_hourly", "emergency_visits_hourly"),
                                         "facility_id = %(facility)s::text", "facility_id = %(facility)s::text")
_OBSERVED_COMMUNE = _observed_daily_sql("residents", ("admissions_commune_daily", "emergency_visits_commune_daily"),
                                        "commune_code = %(commune)s::text", "commune_code = %(commune)s::text")
_OBSERVED_TERRITORY = _observed_daily_sql("facility", ("admissions_hourly", "emergency_visits_hourly"), "true", "true")


def rollup_split(conn: Connection[Any], *, first: date, last: date) -> date:
    """The first day of ``first``..``last`` read from the hourly aggregates rather than the daily rollups
    (``last`` + 1 when the rollups hold the whole window)."""
    end = last + timedelta(days=1)
    row = conn.execute(_ROLLUP_SPLIT, {"first": first, "end": end}).fetchone()
    split: date = row[0] if row is not None and row[0] is not None else first
    return max(first, split)


def observed_daily(
    conn: Connection[Any], *, first: date, last: date, facility_id: str | None = None, commune_code: str | None = None
) -> list[ObservedDay]:
    """Admissions, ED visits and mean occupied beds per local day, ``first`` to ``last`` included, every day present.

    A facility: its own counts. A commune: its residents' admissions and visits (wherever they went) and the
    beds of the facilities located in it. Neither: the whole territory. Occupied beds are the sum over the
    place's care units of each unit's daily mean of its hourly means (a unit silent for an hour does not lower
    the others'); capacity the sum of their daily maxima.
    Cost: the window's days in the daily rollups (one row per facility or commune and day) and the hourly
    aggregates for the days after :func:`rollup_split` only (the current day, usually).
    """
    if last < first:
        raise ValueError(f"last day {last} is before first day {first}")
    split = rollup_split(conn, first=first, last=last)
    params = {
        "first": first, "last": last, "since": local_day_start(first), "split": local_day_start(split),
        "until": local_day_start(last + timedelta(days=1)), "facility": facility_id, "commune": commune_code,
    }
    if facility_id is not None:
        query = _OBSERVED_FACILITY
    elif commune_code is not None:
        query = _OBSERVED_COMMUNE
    else:
        query = _OBSERVED_TERRITORY
    with conn.cursor(row_factory=class_row(ObservedDay)) as cur:
        return cur.execute(query, params).fetchall()


_ENVIRONMENT_DAILY: LiteralString = """
SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, indicator, avg(value_avg)::float8 AS value
FROM environment_daily
WHERE bucket >= %(since)s AND bucket < %(until)s AND indicator = ANY(%(indicators)s::text[])
GROUP BY 1, 2
ORDER BY 2, 1
"""


def environment_days(conn: Connection[Any], *, first: date, last: date, indicators: list[str]) -> list[EnvironmentDay]:
    """Daily means over the stations of the given indicators; a day without measurement has no row."""
    params = {"since": local_day_start(first), "until": local_day_start(last + timedelta(days=1)),
              "indicators": indicators}
    with conn.cursor(row_factory=class_row(EnvironmentDay)) as cur:
        return cur.execute(_ENVIRONMENT_DAILY, params).fetchall()


_CAPACITY: LiteralString = """
SELECT coalesce(
    (SELECT sum(b.beds_total)::float8 FROM bed_occupancy_current b JOIN facilities f USING (facility_id)
     WHERE (%(facility)s::text IS NULL OR f.facility_id = %(facility)s::text)
       AND (%(commune)s::text IS NULL OR f.commune_code = %(commune)s::text)),
    (SELECT sum(u.beds)::float8 FROM facility_units u JOIN facilities f USING (facility_id)
     WHERE (%(facility)s::text IS NULL OR f.facility_id = %(facility)s::text)
       AND (%(commune)s::text IS NULL OR f.commune_code = %(commune)s::text)))
"""


def bed_capacity(
    conn: Connection[Any], *, facility_id: str | None = None, commune_code: str | None = None
) -> float | None:
    """Staffed beds of the latest snapshots (planned capacity when none came); None: no facility there."""
    row = conn.execute(_CAPACITY, {"facility": facility_id, "commune": commune_code}).fetchone()
    return None if row is None or row[0] is None else float(row[0])


_LATEST_FORECAST: LiteralString = """
SELECT target_date, horizon, quantiles
FROM latest_forecasts
WHERE metric = %(metric)s AND scope = %(scope)s AND scope_id = %(scope_id)s
ORDER BY target_date
"""


def latest_forecast(conn: Connection[Any], *, metric: str, scope: str, scope_id: str) -> list[ForecastDay]:
    """The newest finished run's quantiles of one series (view ``latest_forecasts``; the caller checks it exists)."""
    params = {"metric": metric, "scope": scope, "scope_id": scope_id}
    with conn.cursor(row_factory=class_row(ForecastDay)) as cur:
        return cur.execute(_LATEST_FORECAST, params).fetchall()


@dataclass(frozen=True)
class Outlook:
    """The newest finished run's capacity outlook of one scope: chance of exceeding capacity, saturation date."""

    capacity_beds: float
    max_p_exceed: float
    saturation_date: date | None


_LATEST_OUTLOOK: LiteralString = """
SELECT o.capacity_beds, o.max_p_exceed, o.saturation_date
FROM capacity_outlooks o JOIN forecast_runs r USING (run_id)
WHERE o.scope = %(scope)s AND o.scope_id = %(scope_id)s AND r.status IN ('succeeded', 'partial')
ORDER BY r.started_at DESC
LIMIT 1
"""


def latest_outlook(conn: Connection[Any], *, scope: str, scope_id: str) -> Outlook | None:
    """The newest capacity outlook of a scope, None when none was computed (the caller checks the table exists)."""
    with conn.cursor(row_factory=class_row(Outlook)) as cur:
        return cur.execute(_LATEST_OUTLOOK, {"scope": scope, "scope_id": scope_id}).fetchone()


_LATEST_SCORES: LiteralString = """
WITH latest AS (
    SELECT DISTINCT ON (s.metric, s.scope, s.scope_id) s.metric, s.scope, s.scope_id, s.run_id
    FROM forecast_scores s JOIN forecast_runs r USING (run_id)
    ORDER BY s.metric, s.scope, s.scope_id, r.origin_date DESC, r.finished_at DESC NULLS LAST
)
SELECT s.metric, s.scope, s.scope_id, s.kind, s.horizon, s.origins, s.relative_wis, s.coverage_50, s.coverage_90
FROM forecast_scores s JOIN latest USING (metric, scope, scope_id, run_id)
ORDER BY s.metric, s.scope, s.scope_id, s.kind, s.horizon
"""


def latest_scores(conn: Connection[Any]) -> list[ScoreRow]:
    """Per series, the scores of the latest run that scored it (the caller checks the tables exist first)."""
    with conn.cursor(row_factory=class_row(ScoreRow)) as cur:
        return cur.execute(_LATEST_SCORES).fetchall()


_COMMUNE_POINTS: LiteralString = """
WITH adm AS (
    SELECT commune_code, sum(admissions)::int AS n FROM admissions_commune_daily
    WHERE bucket >= %(since)s AND bucket < %(until)s GROUP BY 1
), ed AS (
    SELECT commune_code, sum(visits)::int AS n FROM emergency_visits_commune_daily
    WHERE bucket >= %(since)s AND bucket < %(until)s GROUP BY 1
)
SELECT c.code AS commune_code, c.name, c.population, c.latitude, c.longitude,
       coalesce(adm.n, 0) AS admissions, coalesce(ed.n, 0) AS ed_visits
FROM communes c
LEFT JOIN adm ON adm.commune_code = c.code
LEFT JOIN ed ON ed.commune_code = c.code
ORDER BY c.population DESC, c.name
"""


def commune_points(conn: Connection[Any], *, first: date, last: date) -> list[CommunePoint]:
    """Every commune with its residents' admissions and ED visits over local days ``first`` to ``last``."""
    params = {"since": local_day_start(first), "until": local_day_start(last + timedelta(days=1))}
    with conn.cursor(row_factory=class_row(CommunePoint)) as cur:
        return cur.execute(_COMMUNE_POINTS, params).fetchall()


_FACILITY_POINTS: LiteralString = """
SELECT f.facility_id, f.name, f.commune_code, f.latitude, f.longitude,
       b.beds_total, b.beds_occupied
FROM facilities f
LEFT JOIN (SELECT facility_id, sum(beds_total)::int AS beds_total, sum(beds_occupied)::int AS beds_occupied
           FROM bed_occupancy_current GROUP BY facility_id) b USING (facility_id)
ORDER BY f.name
"""


def facility_points(conn: Connection[Any]) -> list[FacilityPoint]:
    """Every facility with its live beds (None when no snapshot came)."""
    with conn.cursor(row_factory=class_row(FacilityPoint)) as cur:
        return cur.execute(_FACILITY_POINTS).fetchall()


_TOPIC_HEALTH: LiteralString = """
SELECT consumer_group, topic, partitions::int AS partitions, coalesce(events_in, 0)::bigint AS events_in,
       coalesce(dead_lettered, 0)::bigint AS dead_lettered, lag::bigint AS lag,
       last_event_at, last_batch_at, oldest_lag_at
FROM pipeline_health_topics
ORDER BY consumer_group, topic
"""


def topic_health(conn: Connection[Any]) -> list[TopicHealth]:
    """Lag and dead letters per consumer group and topic (the caller checks the view exists first)."""
    with conn.cursor(row_factory=class_row(TopicHealth)) as cur:
        return cur.execute(_TOPIC_HEALTH).fetchall()
