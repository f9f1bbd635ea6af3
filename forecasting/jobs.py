"""The forecasting job: every series that matters, fitted in parallel, stored with its run record, scored.

Boundary: reads the daily series from the store's aggregates (``synopse.db.forecast_inputs``), runs the
engine per series in a process pool with a time limit per series, and writes (``synopse.db.forecasts``) the
run, the forecasts (23 quantiles), the capacity projections, the scores (``backtest``: the current model at
past origins; ``prospective``: the forecasts earlier runs published, once observed) and the level
projections that calibrate later runs.
The run record is committed first ("running") and finished last, so a crash leaves a visible trace; a
failed run is never read as the latest forecast.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from psycopg import Connection

from forecasting.backtest import prepare_worker, recent_skill
from forecasting.capacity import project_capacity
from forecasting.dataset import Series
from forecasting.engine import EngineConfig, Outcome, baseline_outcome, forecast_series, skipped
from forecasting.ensemble import MODEL_NAME, MODEL_VERSION, EnsembleConfig, Projection
from forecasting.pool import default_workers, run_tasks
from forecasting.prophet_model import ProphetConfig
from forecasting.prospective import StoredForecast, prospective_skill
from forecasting.scores import FloatArray, HorizonScore
from synopse.config import ForecastSettings, Settings
from synopse.db import forecast_inputs as inputs
from synopse.db import forecasts as db
from synopse.db.connection import connect
from synopse.db.forecast_history import past_forecasts
from synopse.domain.forecasts import QUANTILE_LEVELS, Metric, RunStatus, Scope, ScoreKind, SeriesKey, SeriesStatus
from synopse.errors import DataUnavailableError

log = logging.getLogger(__name__)

# Series are written to the store in batches of this many: memory stays flat whatever the territory.
WRITE_BATCH_SERIES = 200
# Horizons scored after each run: the weeks ahead a crisis cell plans for.
SCORE_HORIZONS = (7, 14, 21, 28)


def engine_config(settings: ForecastSettings) -> EngineConfig:
    """The engine's configuration from the settings."""
    lags = {
        name: settings.heat_lag_days if name.startswith("temperature") else settings.pollution_lag_days
        for name in settings.regressor_names
    }
    prophet = ProphetConfig(
        window_days=settings.prophet_window_days,
        changepoint_prior_scale=settings.changepoint_prior_scale,
        damping=settings.trend_damping,
        holidays_country=settings.holidays_country or None,
        regressor_lags=lags,
    )
    return EngineConfig(
        ensemble=EnsembleConfig(
            horizon=settings.horizon_days, prophet=prophet, calibration_origins=settings.calibration_origins
        ),
        min_history_days=settings.min_history_days,
        backfill_origins=settings.backfill_origins,
        backfill_per_run=settings.backfill_per_run,
    )


# ----------------------------------------------------------------------------------------- loading series

def load_series(
    conn: Connection[Any], origin: date, settings: ForecastSettings
) -> tuple[dict[SeriesKey, Series], dict[SeriesKey, inputs.Capacity]]:
    """Every series with data in the window, up to ``origin`` (the last complete local day), and capacities."""
    since = origin - timedelta(days=settings.history_days - 1)
    rows = [*inputs.daily_counts(conn, Metric.ADMISSIONS, since, origin),
            *inputs.daily_counts(conn, Metric.ED_VISITS, since, origin)]
    occupancy = inputs.daily_occupancy(conn, since, origin)
    environment = inputs.daily_environment(conn, settings.regressor_names, since, origin) \
        if settings.regressor_names else {}
    as_of = inputs.local_midnight(origin + timedelta(days=1))
    capacity = {SeriesKey(Metric.BED_OCCUPANCY, Scope(c.scope), c.scope_id): c for c in inputs.capacities(conn, as_of)}
    return build_series(rows, occupancy, environment, origin, capacity, settings.occupancy_bound_ratio), capacity


def build_series(
    counts: list[inputs.DailyValue],
    occupancy: list[inputs.DailyValue],
    environment: Mapping[str, Mapping[date, float]],
    origin: date,
    capacity: Mapping[SeriesKey, inputs.Capacity],
    bound_ratio: float,
) -> dict[SeriesKey, Series]:
    """Regular daily series from store rows.

    Counts: a day without a row is a zero, from the first day of the metric's data (the feed was running);
    a facility counts from its own first day (it may have joined later). Occupancy: a day without a
    snapshot is missing, from the scope's first day. Regressors are aligned on the same days. The beds
    occupied in a facility and in the territory have the admissions of the same place as their inflow
    (those of a commune are counted by commune of residence, not of the facility: no inflow there).
    """
    by_key: dict[SeriesKey, dict[date, float]] = {}
    for row in [*counts, *occupancy]:
        key = SeriesKey(Metric(row.metric), Scope(row.scope), row.scope_id)
        by_key.setdefault(key, {})[row.day] = row.value
    metric_start: dict[Metric, date] = {}
    for key, values in by_key.items():
        first = min(values)
        metric_start[key.metric] = min(metric_start.get(key.metric, first), first)
    series: dict[SeriesKey, Series] = {}

    def first_day(key: SeriesKey) -> date:
        if key.scope is Scope.FACILITY or key.metric is Metric.BED_OCCUPANCY:
            return min(by_key[key])
        return metric_start[key.metric]

    def counted(key: SeriesKey, days: pd.DatetimeIndex) -> FloatArray:
        """Counts of ``key`` on ``days``: zero on a day without a row from its first day, missing before."""
        values, start = by_key[key], first_day(key)
        return np.array([values.get(day.date(), 0.0) if day.date() >= start else np.nan for day in days],
                        dtype=np.float64)

    for key, values in sorted(by_key.items()):
        is_count = key.metric is not Metric.BED_OCCUPANCY
        start = first_day(key)
        if start > origin:
            continue
        days = pd.date_range(start, origin, freq="D")
        data = counted(key, days) if is_count else np.array([values.get(day.date(), np.nan) for day in days],
                                                            dtype=np.float64)
        inflow = None
        admissions = SeriesKey(Metric.ADMISSIONS, key.scope, key.scope_id)
        if not is_count and key.scope is not Scope.COMMUNE and admissions in by_key:
            inflow = counted(admissions, days)
        regressors = {
            name: np.array([by_day.get(day.date(), np.nan) for day in days], dtype=np.float64)
            for name, by_day in environment.items() if by_day
        }
        bound = None
        if key in capacity:
            bound = capacity[key].beds * bound_ratio
        series[key] = Series(days, data, "D", regressors, bound, counts=is_count, inflow=inflow)
    return series


# ----------------------------------------------------------------------------------------- worker task

@dataclass(frozen=True)
class SeriesTask:
    key: SeriesKey
    series: Series
    history: dict[pd.Timestamp, Projection]
    config: EngineConfig
    score_origins: int
    published: tuple[StoredForecast, ...] = ()  # earlier runs' forecasts with an observed target


@dataclass
class SeriesResult:
    key: SeriesKey
    outcome: Outcome
    new_projections: list[Projection] = field(default_factory=list)
    scores: list[HorizonScore] = field(default_factory=list)
    prospective: list[HorizonScore] = field(default_factory=list)


def run_series_task(task: SeriesTask) -> SeriesResult:
    """One series in a worker: forecast, new projections to keep, the recent skill and the prospective one."""
    outcome, new = forecast_series(task.series, task.config, task.history)
    scores: list[HorizonScore] = []
    if outcome.status is SeriesStatus.OK and task.score_origins > 0:
        history = {**task.history, **{p.origin: p for p in new}}
        horizons = [h for h in SCORE_HORIZONS if h <= task.config.ensemble.horizon] or [task.config.ensemble.horizon]
        scores = recent_skill(task.series, history, task.config, origins=task.score_origins, horizons=horizons)
    prospective = prospective_skill(task.series, task.published) if task.published else []
    return SeriesResult(task.key, outcome, new, scores, prospective)


# ----------------------------------------------------------------------------------------------- the run

@dataclass
class RunSummary:
    run_id: uuid.UUID
    status: RunStatus
    as_of: datetime
    origin_date: date
    series_total: int = 0
    ok: int = 0
    fallback: int = 0
    skipped: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


def origin_for(as_of: datetime) -> date:
    """The last complete local day before ``as_of``."""
    return as_of.astimezone(inputs.LOCAL_TZ).date() - timedelta(days=1)


def run_forecasts(
    settings: Settings,
    *,
    trigger: str = "manual",
    as_of: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    conn: Connection[Any] | None = None,
) -> RunSummary:
    """Forecast every series, store everything, return what happened.

    ``conn`` (not in autocommit mode) is used instead of a connection to ``settings.dsn`` when given;
    the run record is committed on it before the work starts.

    Raises:
        DataUnavailableError: the store holds no data at all yet (nothing to forecast from).
        ServiceUnavailableError: the database cannot be reached.
    """
    if conn is None:
        with connect(settings.dsn, connect_timeout_s=settings.db.connect_timeout_s) as own:
            return run_forecasts(settings, trigger=trigger, as_of=as_of, progress=progress, conn=own)
    fs = settings.forecast
    config = engine_config(fs)
    started = time.perf_counter()
    cutoff = as_of or inputs.data_cutoff(conn)
    if cutoff is None:
        raise DataUnavailableError("no data in the store yet: nothing to forecast from")
    origin = origin_for(cutoff)
    run_id = uuid.uuid4()
    db.create_run(
        conn, run_id=run_id, as_of=cutoff, origin_date=origin, trigger=trigger, model=MODEL_NAME,
        model_version=MODEL_VERSION, horizon_days=fs.horizon_days, parameters=fs.model_dump(mode="json"),
        quantile_levels=QUANTILE_LEVELS,
    )
    conn.commit()
    summary = RunSummary(run_id, RunStatus.RUNNING, cutoff, origin)
    try:
        _run(conn, run_id, origin, settings, config, summary, progress)
    except BaseException as exc:
        conn.rollback()
        db.finish_run(conn, run_id, status=RunStatus.FAILED, series_total=summary.series_total,
                      series_ok=summary.ok, series_fallback=summary.fallback, series_skipped=summary.skipped,
                      error=repr(exc)[:2000])
        conn.commit()
        raise
    summary.seconds = time.perf_counter() - started
    log.info("forecast run finished", extra={"run_id": str(run_id), "status": summary.status.value,
                                              "series": summary.series_total, "seconds": round(summary.seconds, 1)})
    return summary


def _run(
    conn: Connection[Any], run_id: uuid.UUID, origin: date, settings: Settings, config: EngineConfig,
    summary: RunSummary, progress: Callable[[int, int], None] | None,
) -> None:
    fs = settings.forecast
    series, capacity = load_series(conn, origin, fs)
    history = load_history(conn, origin, config)
    published = load_published(conn, origin, fs)
    forecast_and_store(conn, run_id, series, capacity, history, fs, config, summary, progress, published)
    retention = datetime.now(UTC) - timedelta(days=fs.retention_days)
    keep_projections = origin - timedelta(days=7 * config.ensemble.calibration_origins + 7)
    db.prune(conn, runs_before=retention, projections_before=keep_projections)
    conn.commit()


def forecast_and_store(
    conn: Connection[Any],
    run_id: uuid.UUID,
    series: Mapping[SeriesKey, Series],
    capacity: Mapping[SeriesKey, inputs.Capacity],
    history: Mapping[SeriesKey, dict[pd.Timestamp, Projection]],
    fs: ForecastSettings,
    config: EngineConfig,
    summary: RunSummary,
    progress: Callable[[int, int], None] | None = None,
    published: Mapping[SeriesKey, tuple[StoredForecast, ...]] | None = None,
) -> None:
    """Fit every series in the pool and write the results of the run (not committed)."""
    published = published or {}
    tasks = [(key, SeriesTask(key, s, history.get(key, {}), config, fs.score_origins, published.get(key, ())))
             for key, s in series.items()]
    summary.series_total = len(tasks)
    pending: list[SeriesResult] = []
    results = run_tasks(run_series_task, tasks, workers=fs.workers or default_workers(),
                        timeout_s=fs.series_timeout_s, initializer=prepare_worker)
    for done, result in enumerate(results, start=1):
        key = result.key
        if result.value is not None:
            outcome_result = result.value
        else:  # the worker failed or ran out of time: the simple model, and the record says why
            why = ("time limit: " if result.timed_out else "failed: ") + (result.error or "")
            outcome_result = SeriesResult(key, _fallback(series[key], config, why))
        pending.append(outcome_result)
        if progress is not None:
            progress(done, len(tasks))
        if len(pending) >= WRITE_BATCH_SERIES:
            _write(conn, run_id, pending, series, capacity, fs, summary)
            pending = []
    _write(conn, run_id, pending, series, capacity, fs, summary)
    summary.status = RunStatus.SUCCEEDED if summary.ok == summary.series_total else RunStatus.PARTIAL
    db.finish_run(conn, run_id, status=summary.status, series_total=summary.series_total, series_ok=summary.ok,
                  series_fallback=summary.fallback, series_skipped=summary.skipped)


def _fallback(series: Series, config: EngineConfig, reason: str) -> Outcome:
    started = time.perf_counter()
    if series.observed < 2:
        return skipped(series, reason, started)
    return baseline_outcome(series, config.ensemble.horizon, reason[:500], started)


def load_published(
    conn: Connection[Any], origin: date, fs: ForecastSettings
) -> dict[SeriesKey, tuple[StoredForecast, ...]]:
    """Forecasts of earlier runs at the scored horizons whose target day is observed by ``origin``, per series.

    The origins of the last ``score_origins`` weeks count (every run's origin day: a daily refresh gives
    seven a week), as the ``backtest`` scores cover the last ``score_origins`` weekly origins.
    """
    horizons = [h for h in SCORE_HORIZONS if h <= fs.horizon_days]
    if fs.score_origins == 0 or not horizons:
        return {}
    rows = past_forecasts(conn, origins_from=origin - timedelta(days=7 * fs.score_origins + max(horizons)),
                          origins_before=origin, targets_until=origin, horizons=horizons)
    published: dict[SeriesKey, list[StoredForecast]] = {}
    for row in rows:
        key = SeriesKey(Metric(row.metric), Scope(row.scope), row.scope_id)
        forecast = StoredForecast(pd.Timestamp(row.origin_date), row.horizon, np.asarray(row.quantiles, dtype=float))
        published.setdefault(key, []).append(forecast)
    return {key: tuple(forecasts) for key, forecasts in published.items()}


def load_history(conn: Connection[Any], origin: date, config: EngineConfig) -> dict[SeriesKey, dict[
    pd.Timestamp, Projection
]]:
    """The stored projections that can calibrate forecasts from ``origin``, per series."""
    history: dict[SeriesKey, dict[pd.Timestamp, Projection]] = {}
    for row in db.iter_projections(conn, MODEL_VERSION, origin, config.ensemble.calibration_origins):
        horizon = len(row.holiday_effect)
        if horizon != config.ensemble.horizon:
            continue  # made with another horizon: not comparable
        paths = np.asarray(row.paths, dtype=np.float64).reshape(len(row.member_names), horizon)
        projection = Projection(
            origin=pd.Timestamp(row.origin_date),
            members={name: paths[i] for i, name in enumerate(row.member_names)},
            volatility=row.volatility,
            holiday_effect=np.asarray(row.holiday_effect, dtype=np.float64),
        )
        key = SeriesKey(Metric(row.metric), Scope(row.scope), row.scope_id)
        history.setdefault(key, {})[projection.origin] = projection
    return history


def _write(
    conn: Connection[Any], run_id: uuid.UUID, results: list[SeriesResult], series: Mapping[SeriesKey, Series],
    capacity: Mapping[SeriesKey, inputs.Capacity], fs: ForecastSettings, summary: RunSummary,
) -> None:
    series_rows, forecast_rows, score_rows, projection_rows = [], [], [], []
    capacity_days, outlooks = [], []
    for result in results:
        key, outcome, data = result.key, result.outcome, series[result.key]
        ident = {"metric": key.metric.value, "scope": key.scope.value, "scope_id": key.scope_id}
        observed = np.flatnonzero(~np.isnan(data.values))
        series_rows.append({
            **ident, "status": outcome.status.value, "model": outcome.model, "reason": outcome.reason,
            "data_start": data.dates[observed[0]].date() if observed.size else None,
            "data_end": data.dates[observed[-1]].date() if observed.size else None,
            "observations": int(observed.size), "fit_seconds": round(outcome.seconds, 4),
            "parameters": outcome.parameters,
        })
        if outcome.status is SeriesStatus.OK:
            summary.ok += 1
        elif outcome.status is SeriesStatus.FALLBACK:
            summary.fallback += 1
        else:
            summary.skipped += 1
        if outcome.reason:
            cause = outcome.reason.split(":")[0]
            summary.reasons[cause] = summary.reasons.get(cause, 0) + 1
        if outcome.quantiles is None:
            continue
        targets = outcome.target_dates
        for h, (target, quantiles) in enumerate(zip(targets, outcome.quantiles, strict=True), start=1):
            forecast_rows.append({**ident, "target_date": target.date(), "horizon": h,
                                  "quantiles": np.round(quantiles, 4).tolist()})
        for score in result.scores:
            score_rows.append({**ident, "kind": ScoreKind.BACKTEST.value, **_score_fields(score)})
        for score in result.prospective:
            score_rows.append({**ident, "kind": ScoreKind.PROSPECTIVE.value, **_score_fields(score)})
        for projection in result.new_projections:
            names = sorted(projection.members)
            projection_rows.append({
                **ident, "origin_date": projection.origin.date(), "member_names": names,
                "paths": np.concatenate([projection.members[n] for n in names]).round(6).tolist(),
                "holiday_effect": np.round(projection.holiday_effect, 6).tolist(), "volatility": projection.volatility,
            })
        if key in capacity:
            days, outlook = _capacity_rows(key, outcome, data, capacity[key], fs.saturation_probability)
            capacity_days.extend(days)
            outlooks.append(outlook)
    db.store_series_runs(conn, run_id, series_rows)
    db.store_forecasts(conn, run_id, forecast_rows)
    db.store_scores(conn, run_id, score_rows)
    db.store_capacity(conn, run_id, capacity_days, outlooks)
    db.store_projections(conn, MODEL_VERSION, projection_rows)


def _score_fields(score: HorizonScore) -> dict[str, Any]:
    fields = asdict(score)
    fields.pop("mae_baseline")
    fields["relative_wis"] = score.relative_wis
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in fields.items()}


def _capacity_rows(
    key: SeriesKey, outcome: Outcome, data: Series, capacity: inputs.Capacity, threshold: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    assert outcome.quantiles is not None  # noqa: S101 - checked by the caller
    projection = project_capacity(outcome.quantiles, capacity.beds, threshold)
    targets = [t.date() for t in outcome.target_dates]
    ident = {"scope": key.scope.value, "scope_id": key.scope_id}
    days = [
        {**ident, "target_date": target, "horizon": h + 1, "capacity_beds": capacity.beds,
         "occupancy_median": round(float(projection.median[h]), 3), "p_exceed_capacity": round(float(p), 4)}
        for h, (target, p) in enumerate(zip(targets, projection.p_exceed, strict=True))
    ]
    observed = data.values[~np.isnan(data.values)]
    outlook = {
        **ident, "capacity_beds": capacity.beds, "capacity_source": capacity.source,
        "occupied_now": round(float(observed[-1]), 3) if observed.size else None,
        "max_p_exceed": round(float(projection.p_exceed.max()), 4),
        "saturation_date": projection.saturation_date(targets),
    }
    return days, outlook

