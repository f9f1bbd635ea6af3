"""The forecast tables: runs, series runs, forecasts, scores, capacity projections and level projections.

Boundary: functions take a psycopg connection inside the caller's transaction; reads return plain rows or
the row types of ``synopse.domain.forecasts``; writes send a batch as one JSON document read with
``json_to_recordset`` (one statement, no COPY: the TimescaleDB test server refuses COPY FROM STDIN).
What the forecasting jobs read from the observation store (the daily series, capacities, data cut-off) is
in ``synopse.db.forecast_inputs``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from synopse.domain.forecasts import (
    CapacityDay,
    CapacityOutlook,
    ForecastRow,
    ForecastRun,
    ForecastScore,
    RunStatus,
    SeriesRun,
)

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
