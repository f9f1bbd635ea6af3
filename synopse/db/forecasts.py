"""All SQL of forecasting: the daily series it learns from, and the runs, forecasts, projections and scores it keeps.

Boundary: functions take a psycopg connection inside the caller's transaction; reads return plain rows or
the row types of ``synopse.domain.forecasts``; writes send a batch as one JSON document read with
``json_to_recordset`` (one statement, no COPY: the TimescaleDB test server refuses COPY FROM STDIN).
Daily series are built from the hourly and daily aggregates only, never from raw events; days are local
days in Europe/Paris, like the daily aggregates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, LiteralString
from uuid import UUID
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from synopse.domain.forecasts import (
    CapacityDay,
    CapacityOutlook,
    ForecastRow,
    ForecastRun,
    ForecastScore,
    Metric,
    RunStatus,
    SeriesRun,
)

LOCAL_TZ = ZoneInfo("Europe/Paris")  # the zone of the daily aggregates (French civil day)
# Beds reported in the last week count as current capacity; older snapshots are a unit gone silent.
CAPACITY_LOOKBACK = timedelta(days=7)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


# ------------------------------------------------------------------------------------------- data cut-off

_DATA_CUTOFF: LiteralString = """
SELECT CASE WHEN newest > now() THEN now() ELSE newest END
FROM (SELECT max(last_event_at) AS newest FROM source_freshness) AS freshness
"""


def data_cutoff(conn: Connection[Any]) -> datetime | None:
    """The newest event time over all sources, capped at the database clock; None when nothing came yet."""
    row = conn.execute(_DATA_CUTOFF).fetchone()
    return None if row is None else row[0]


# ---------------------------------------------------------------------------------------------- series

@dataclass(frozen=True)
class DailyValue:
    metric: str
    scope: str
    scope_id: str
    day: date
    value: float


_HOURLY_COUNTS: dict[Metric, tuple[LiteralString, LiteralString]] = {
    Metric.ADMISSIONS: ("admissions_hourly", "admissions"),
    Metric.ED_VISITS: ("emergency_visits_hourly", "visits"),
}
_COMMUNE_COUNTS: dict[Metric, tuple[LiteralString, LiteralString]] = {
    Metric.ADMISSIONS: ("admissions_commune_daily", "admissions"),
    Metric.ED_VISITS: ("emergency_visits_commune_daily", "visits"),
}


def daily_counts(conn: Connection[Any], metric: Metric, since: date, until: date) -> list[DailyValue]:
    """Counts per local day, per facility, per commune of residence and for the territory, ``since``..``until``.

    Only days with events have rows (a missing day is a zero for a count). Cost: the hourly aggregate over
    the window grouped by day and facility, and the commune daily aggregate over the window.
    """
    hourly, column = _HOURLY_COUNTS[metric]
    daily, daily_column = _COMMUNE_COUNTS[metric]
    params = {"since": local_midnight(since), "until": local_midnight(until + timedelta(days=1)),
              "metric": metric.value}
    query: LiteralString = f"""
        WITH per_facility AS (
            SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, facility_id, sum({column})::float8 AS n
            FROM {hourly}
            WHERE bucket >= %(since)s AND bucket < %(until)s
            GROUP BY 1, 2
        )
        SELECT %(metric)s AS metric, 'facility' AS scope, facility_id AS scope_id, day, n AS value FROM per_facility
        UNION ALL
        SELECT %(metric)s, 'territory', 'all', day, sum(n) FROM per_facility GROUP BY day
        UNION ALL
        SELECT %(metric)s, 'commune', commune_code, (bucket AT TIME ZONE 'Europe/Paris')::date,
               sum({daily_column})::float8
        FROM {daily}
        WHERE bucket >= %(since)s AND bucket < %(until)s AND commune_code IS NOT NULL
        GROUP BY commune_code, (bucket AT TIME ZONE 'Europe/Paris')::date
    """  # noqa: S608 - table and column names come from the constant maps above, never from input
    with conn.cursor(row_factory=class_row(DailyValue)) as cur:
        return cur.execute(query, params).fetchall()


_DAILY_OCCUPANCY: LiteralString = """
WITH hourly AS (
    SELECT o.bucket, o.facility_id, f.commune_code, sum(o.beds_occupied_avg)::float8 AS occupied
    FROM bed_occupancy_hourly o
    LEFT JOIN facilities f USING (facility_id)
    WHERE o.bucket >= %(since)s AND o.bucket < %(until)s
    GROUP BY o.bucket, o.facility_id, f.commune_code
), facility_days AS (
    SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, facility_id, commune_code, avg(occupied) AS occupied
    FROM hourly
    GROUP BY 1, 2, 3
)
SELECT 'bed_occupancy' AS metric, 'facility' AS scope, facility_id AS scope_id, day, occupied AS value
FROM facility_days
UNION ALL
SELECT 'bed_occupancy', 'commune', commune_code, day, sum(occupied) FROM facility_days
WHERE commune_code IS NOT NULL GROUP BY commune_code, day
UNION ALL
SELECT 'bed_occupancy', 'territory', 'all', day, sum(occupied) FROM facility_days GROUP BY day
"""


def daily_occupancy(conn: Connection[Any], since: date, until: date) -> list[DailyValue]:
    """Occupied beds, daily mean of the hourly means summed over units, per facility, its commune, territory.

    A day without any snapshot has no row (unknown, not zero). Cost: the hourly occupancy aggregate over
    the window (units x hours), grouped twice.
    """
    params = {"since": local_midnight(since), "until": local_midnight(until + timedelta(days=1))}
    with conn.cursor(row_factory=class_row(DailyValue)) as cur:
        return cur.execute(_DAILY_OCCUPANCY, params).fetchall()


_ENVIRONMENT: LiteralString = """
SELECT (bucket AT TIME ZONE 'Europe/Paris')::date AS day, indicator,
       avg(value_avg)::float8 AS mean, avg(value_max)::float8 AS maximum
FROM environment_daily
WHERE bucket >= %(since)s AND bucket < %(until)s AND indicator = ANY(%(indicators)s)
GROUP BY 1, 2
ORDER BY 1
"""

# Regressors the platform can give the models: name -> (indicator, statistic of its daily aggregate,
# averaged over the stations that measured it).
ENVIRONMENT_REGRESSORS: dict[str, tuple[str, str]] = {
    "temperature_max": ("temperature", "maximum"),
    "temperature_mean": ("temperature", "mean"),
    "pm10_mean": ("pm10", "mean"),
    "pm2_5_mean": ("pm2_5", "mean"),
    "o3_max": ("o3", "maximum"),
}


def daily_environment(
    conn: Connection[Any], names: Sequence[str], since: date, until: date
) -> dict[str, dict[date, float]]:
    """Daily values of the named regressors (see :data:`ENVIRONMENT_REGRESSORS`), mean over stations."""
    wanted = {name: ENVIRONMENT_REGRESSORS[name] for name in names}
    params = {
        "since": local_midnight(since),
        "until": local_midnight(until + timedelta(days=1)),
        "indicators": sorted({indicator for indicator, _ in wanted.values()}),
    }
    out: dict[str, dict[date, float]] = {name: {} for name in wanted}
    for day, indicator, mean, maximum in conn.execute(_ENVIRONMENT, params):
        for name, (wanted_indicator, statistic) in wanted.items():
            if indicator == wanted_indicator:
                value = maximum if statistic == "maximum" else mean
                if value is not None:
                    out[name][day] = float(value)
    return out


@dataclass(frozen=True)
class ScopeRef:
    scope: str
    scope_id: str
    name: str


_SCOPES: LiteralString = """
SELECT 'facility' AS scope, facility_id AS scope_id, name FROM facilities
UNION ALL SELECT 'commune', code, name FROM communes
ORDER BY 1, 2
"""


def reference_scopes(conn: Connection[Any]) -> list[ScopeRef]:
    """Facilities and communes of the reference data: the scopes that get a series even without events."""
    with conn.cursor(row_factory=class_row(ScopeRef)) as cur:
        return cur.execute(_SCOPES).fetchall()


@dataclass(frozen=True)
class Capacity:
    scope: str
    scope_id: str
    beds: float
    source: str  # snapshots or planned


_CAPACITIES: LiteralString = """
WITH latest AS (
    SELECT DISTINCT ON (facility_id, care_unit) facility_id, care_unit, beds_total_max
    FROM bed_occupancy_hourly
    WHERE bucket > %(since)s AND bucket <= %(as_of)s
    ORDER BY facility_id, care_unit, bucket DESC
), reported AS (
    SELECT facility_id, sum(beds_total_max)::float8 AS beds FROM latest GROUP BY facility_id
), planned AS (
    SELECT facility_id, sum(beds)::float8 AS beds FROM facility_units GROUP BY facility_id
), per_facility AS (
    SELECT coalesce(r.facility_id, p.facility_id) AS facility_id,
           CASE WHEN r.beds > 0 THEN r.beds ELSE p.beds END AS beds,
           CASE WHEN r.beds > 0 THEN 'snapshots' ELSE 'planned' END AS source
    FROM reported r FULL JOIN planned p USING (facility_id)
)
SELECT 'facility' AS scope, facility_id AS scope_id, beds, source FROM per_facility WHERE beds > 0
UNION ALL
-- A commune or the territory: the facilities that report beds (their occupancy is what is forecast); the
-- planned beds only where none does.
SELECT 'commune', f.commune_code,
       CASE WHEN bool_or(c.source = 'snapshots') THEN sum(c.beds) FILTER (WHERE c.source = 'snapshots')
            ELSE sum(c.beds) END,
       CASE WHEN bool_or(c.source = 'snapshots') THEN 'snapshots' ELSE 'planned' END
FROM per_facility c JOIN facilities f USING (facility_id) WHERE c.beds > 0 GROUP BY f.commune_code
UNION ALL
SELECT 'territory', 'all',
       CASE WHEN bool_or(source = 'snapshots') THEN sum(beds) FILTER (WHERE source = 'snapshots') ELSE sum(beds) END,
       CASE WHEN bool_or(source = 'snapshots') THEN 'snapshots' ELSE 'planned' END
FROM per_facility WHERE beds > 0 HAVING count(*) > 0
"""


def capacities(conn: Connection[Any], as_of: datetime) -> list[Capacity]:
    """Bed capacity of each facility, commune and the territory at ``as_of``.

    The latest staffed beds (``beds_total``) each care unit reported in the week before ``as_of``; units
    that never reported count their planned beds (``facility_units``), and the row says so.
    """
    params = {"since": as_of - CAPACITY_LOOKBACK, "as_of": as_of}
    with conn.cursor(row_factory=class_row(Capacity)) as cur:
        return cur.execute(_CAPACITIES, params).fetchall()


# -------------------------------------------------------------------------------------------- runs: writes

def create_run(
    conn: Connection[Any],
    *,
    run_id: UUID,
    as_of: datetime,
    origin_date: date,
    trigger: str,
    model: str,
    model_version: str,
    horizon_days: int,
    parameters: Mapping[str, Any],
    quantile_levels: Sequence[float],
) -> None:
    conn.execute(
        """INSERT INTO forecast_runs (run_id, as_of, origin_date, trigger, status, model, model_version,
                                      horizon_days, parameters, quantile_levels)
           VALUES (%s, %s, %s, %s, 'running', %s, %s, %s, %s, %s)""",
        (run_id, as_of, origin_date, trigger, model, model_version, horizon_days, Jsonb(dict(parameters)),
         list(quantile_levels)),
    )


def finish_run(
    conn: Connection[Any],
    run_id: UUID,
    *,
    status: RunStatus,
    series_total: int,
    series_ok: int,
    series_fallback: int,
    series_skipped: int,
    error: str | None = None,
) -> None:
    conn.execute(
        """UPDATE forecast_runs
           SET status = %s, finished_at = clock_timestamp(), series_total = %s, series_ok = %s,
               series_fallback = %s, series_skipped = %s, error = %s,
               duration_s = extract(epoch FROM clock_timestamp() - started_at)
           WHERE run_id = %s""",
        (status.value, series_total, series_ok, series_fallback, series_skipped, error, run_id),
    )


def _recordset(rows: Iterable[Mapping[str, Any]]) -> str:
    return json.dumps(list(rows), default=str, allow_nan=False)


def store_series_runs(conn: Connection[Any], run_id: UUID, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows with metric, scope, scope_id, status, model, reason, data_start, data_end, observations,
    fit_seconds, parameters (JSON-safe)."""
    if not rows:
        return
    conn.execute(
        """INSERT INTO forecast_series_runs (run_id, metric, scope, scope_id, status, model, reason, data_start,
                                             data_end, observations, fit_seconds, parameters)
           SELECT %s, r.metric, r.scope, r.scope_id, r.status, r.model, r.reason, r.data_start, r.data_end,
                  r.observations, r.fit_seconds, coalesce(r.parameters, '{}')
           FROM json_to_recordset(%s::json) AS r (metric text, scope text, scope_id text, status text, model text,
                reason text, data_start date, data_end date, observations int, fit_seconds float8,
                parameters jsonb)""",
        (run_id, _recordset(rows)),
    )


def store_forecasts(conn: Connection[Any], run_id: UUID, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows with metric, scope, scope_id, target_date, horizon, quantiles (list of floats)."""
    if not rows:
        return
    conn.execute(
        """INSERT INTO forecasts (run_id, metric, scope, scope_id, target_date, horizon, quantiles)
           SELECT %s, r.metric, r.scope, r.scope_id, r.target_date, r.horizon, r.quantiles
           FROM json_to_recordset(%s::json) AS r (metric text, scope text, scope_id text, target_date date,
                horizon int, quantiles float8[])""",
        (run_id, _recordset(rows)),
    )


def store_scores(conn: Connection[Any], run_id: UUID, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows with metric, scope, scope_id, kind, horizon, origins, wis, wis_baseline, relative_wis, mae,
    coverage_50, coverage_90."""
    if not rows:
        return
    conn.execute(
        """INSERT INTO forecast_scores (run_id, metric, scope, scope_id, kind, horizon, origins, wis, wis_baseline,
                                        relative_wis, mae, coverage_50, coverage_90)
           SELECT %s, r.metric, r.scope, r.scope_id, r.kind, r.horizon, r.origins, r.wis, r.wis_baseline,
                  r.relative_wis, r.mae, r.coverage_50, r.coverage_90
           FROM json_to_recordset(%s::json) AS r (metric text, scope text, scope_id text, kind text, horizon int,
                origins int, wis float8, wis_baseline float8, relative_wis float8, mae float8, coverage_50 float8,
                coverage_90 float8)""",
        (run_id, _recordset(rows)),
    )


def store_capacity(
    conn: Connection[Any], run_id: UUID, days: Sequence[Mapping[str, Any]], outlooks: Sequence[Mapping[str, Any]]
) -> None:
    """Daily rows (scope, scope_id, target_date, horizon, capacity_beds, occupancy_median, p_exceed_capacity)
    and one outlook per scope (scope, scope_id, capacity_beds, capacity_source, occupied_now, max_p_exceed,
    saturation_date)."""
    if days:
        conn.execute(
            """INSERT INTO capacity_projections (run_id, scope, scope_id, target_date, horizon, capacity_beds,
                                                 occupancy_median, p_exceed_capacity)
               SELECT %s, r.scope, r.scope_id, r.target_date, r.horizon, r.capacity_beds, r.occupancy_median,
                      r.p_exceed_capacity
               FROM json_to_recordset(%s::json) AS r (scope text, scope_id text, target_date date, horizon int,
                    capacity_beds float8, occupancy_median float8, p_exceed_capacity float8)""",
            (run_id, _recordset(days)),
        )
    if outlooks:
        conn.execute(
            """INSERT INTO capacity_outlooks (run_id, scope, scope_id, capacity_beds, capacity_source, occupied_now,
                                              max_p_exceed, saturation_date)
               SELECT %s, r.scope, r.scope_id, r.capacity_beds, r.capacity_source, r.occupied_now, r.max_p_exceed,
                      r.saturation_date
               FROM json_to_recordset(%s::json) AS r (scope text, scope_id text, capacity_beds float8,
                    capacity_source text, occupied_now float8, max_p_exceed float8, saturation_date date)""",
            (run_id, _recordset(outlooks)),
        )


# ----------------------------------------------------------------------------------------- projections

@dataclass(frozen=True)
class StoredProjection:
    metric: str
    scope: str
    scope_id: str
    origin_date: date
    member_names: list[str]
    paths: list[float]  # members x horizon, row-major
    holiday_effect: list[float]
    volatility: float


def store_projections(conn: Connection[Any], model_version: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Upsert rows with metric, scope, scope_id, origin_date, member_names, paths, holiday_effect, volatility."""
    if not rows:
        return
    conn.execute(
        """INSERT INTO forecast_projections (metric, scope, scope_id, model_version, origin_date, member_names,
                                             paths, holiday_effect, volatility)
           SELECT r.metric, r.scope, r.scope_id, %s, r.origin_date, r.member_names, r.paths, r.holiday_effect,
                  r.volatility
           FROM json_to_recordset(%s::json) AS r (metric text, scope text, scope_id text, origin_date date,
                member_names text[], paths real[], holiday_effect real[], volatility float8)
           ON CONFLICT (metric, scope, scope_id, model_version, origin_date) DO UPDATE
           SET member_names = excluded.member_names, paths = excluded.paths,
               holiday_effect = excluded.holiday_effect, volatility = excluded.volatility, created_at = now()""",
        (model_version, _recordset(rows)),
    )


def iter_projections(
    conn: Connection[Any], model_version: str, origin: date, weeks: int, *, batch: int = 2000
) -> Iterator[StoredProjection]:
    """Per series, the newest stored projection of each of the ``weeks`` weeks before ``origin``.

    Week 1 holds origins 7 to 13 days before ``origin``, week 2 14 to 20, and so on: what calibrates a
    forecast (earlier origins about a week apart), whatever days the earlier runs happened on. Streamed with
    a server-side cursor: two years of weeks for a thousand series are a hundred thousand rows.
    """
    params = {"version": model_version, "origin": origin, "since": origin - timedelta(days=7 * (weeks + 1))}
    with conn.cursor(name=f"forecast_projections_{id(params):x}", row_factory=class_row(StoredProjection)) as cur:
        cur.itersize = batch
        cur.execute(
            """SELECT DISTINCT ON (metric, scope, scope_id, (%(origin)s::date - origin_date) / 7)
                      metric, scope, scope_id, origin_date, member_names, paths::float8[] AS paths,
                      holiday_effect::float8[] AS holiday_effect, volatility
               FROM forecast_projections
               WHERE model_version = %(version)s AND origin_date >= %(since)s
                 AND origin_date <= %(origin)s::date - 7
               ORDER BY metric, scope, scope_id, (%(origin)s::date - origin_date) / 7, origin_date DESC""",
            params,
        )
        yield from cur


def prune(conn: Connection[Any], *, runs_before: datetime, projections_before: date) -> tuple[int, int]:
    """Delete runs started before ``runs_before`` (with everything they wrote) and older projections."""
    runs = conn.execute("DELETE FROM forecast_runs WHERE started_at < %s", (runs_before,)).rowcount
    projections = conn.execute(
        "DELETE FROM forecast_projections WHERE origin_date < %s", (projections_before,)
    ).rowcount
    return runs, projections


# ------------------------------------------------------------------------------------------------- reads

def latest_run(conn: Connection[Any], *, finished_only: bool = True) -> ForecastRun | None:
    """The newest run (by default the newest that finished, successfully or partly)."""
    with conn.cursor(row_factory=class_row(ForecastRun)) as cur:
        return cur.execute(
            """SELECT * FROM forecast_runs
               WHERE NOT %s OR status IN ('succeeded', 'partial')
               ORDER BY started_at DESC LIMIT 1""",
            (finished_only,),
        ).fetchone()


def get_run(conn: Connection[Any], run_id: UUID) -> ForecastRun | None:
    with conn.cursor(row_factory=class_row(ForecastRun)) as cur:
        return cur.execute("SELECT * FROM forecast_runs WHERE run_id = %s", (run_id,)).fetchone()


def series_runs(conn: Connection[Any], run_id: UUID) -> list[SeriesRun]:
    with conn.cursor(row_factory=class_row(SeriesRun)) as cur:
        return cur.execute(
            """SELECT run_id, metric, scope, scope_id, status, model, reason, data_start, data_end, observations,
                      fit_seconds, parameters
               FROM forecast_series_runs WHERE run_id = %s ORDER BY metric, scope, scope_id""",
            (run_id,),
        ).fetchall()


def forecast_rows(
    conn: Connection[Any], run_id: UUID, metric: str | None = None, scope: str | None = None,
    scope_id: str | None = None,
) -> list[ForecastRow]:
    """Forecasts of a run, optionally of one series, ordered by series and day."""
    with conn.cursor(row_factory=class_row(ForecastRow)) as cur:
        return cur.execute(
            """SELECT run_id, metric, scope, scope_id, target_date, horizon, quantiles FROM forecasts
               WHERE run_id = %(run)s AND (%(metric)s::text IS NULL OR metric = %(metric)s::text)
                 AND (%(scope)s::text IS NULL OR scope = %(scope)s::text)
                 AND (%(scope_id)s::text IS NULL OR scope_id = %(scope_id)s::text)
               ORDER BY metric, scope, scope_id, target_date""",
            {"run": run_id, "metric": metric, "scope": scope, "scope_id": scope_id},
        ).fetchall()


def capacity_days(conn: Connection[Any], run_id: UUID) -> list[CapacityDay]:
    with conn.cursor(row_factory=class_row(CapacityDay)) as cur:
        return cur.execute(
            """SELECT run_id, scope, scope_id, target_date, horizon, capacity_beds, occupancy_median, p_exceed_capacity
               FROM capacity_projections WHERE run_id = %s ORDER BY scope, scope_id, target_date""",
            (run_id,),
        ).fetchall()


def capacity_outlooks(conn: Connection[Any], run_id: UUID) -> list[CapacityOutlook]:
    with conn.cursor(row_factory=class_row(CapacityOutlook)) as cur:
        return cur.execute(
            """SELECT run_id, scope, scope_id, capacity_beds, capacity_source, occupied_now, max_p_exceed,
                      saturation_date
               FROM capacity_outlooks WHERE run_id = %s ORDER BY scope, scope_id""",
            (run_id,),
        ).fetchall()


def forecast_scores(conn: Connection[Any], run_id: UUID) -> list[ForecastScore]:
    with conn.cursor(row_factory=class_row(ForecastScore)) as cur:
        return cur.execute(
            """SELECT run_id, metric, scope, scope_id, kind, horizon, origins, wis, wis_baseline, relative_wis, mae,
                      coverage_50, coverage_90
               FROM forecast_scores WHERE run_id = %s ORDER BY metric, scope, scope_id, kind, horizon""",
            (run_id,),
        ).fetchall()
