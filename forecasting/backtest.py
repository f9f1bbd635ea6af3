"""Rolling-origin backtest of one series: forecasts from many past origins, each with only the data known then, scored.

Boundary: a :class:`Series` in, forecasts and scores out; no database. At each origin the engine sees
``series.until(origin)``; the projections of earlier origins (one Prophet fit each, computed in parallel
with a time limit) calibrate the later ones, exactly as stored projections do in the platform's runs.
The hub baseline is computed at the same origins, and scores compare both on the same targets.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from forecasting.baseline import hub_baseline
from forecasting.dataset import Readiness, Series
from forecasting.engine import (
    EngineConfig,
    Outcome,
    baseline_outcome,
    calibration_origins,
    finish,
    origins_to_backfill,
    project,
    readiness,
)
from forecasting.ensemble import NotCalibrated, OriginState, Projection, forecast_distribution, origin_state
from forecasting.pool import run_tasks
from forecasting.scores import LEVELS, HorizonScore, score_horizons

log = logging.getLogger(__name__)

CSV_COLUMNS = ["origin", "target_date", "horizon", "quantile", "value"]


@dataclass
class BacktestResult:
    origins: list[pd.Timestamp]
    forecasts: pd.DataFrame  # CSV_COLUMNS, 23 rows per origin and horizon
    scores: list[HorizonScore]  # every horizon 1..H with observed targets
    models: Counter[str] = field(default_factory=Counter)  # origins per model used
    reasons: Counter[str] = field(default_factory=Counter)  # why the baseline was used, when it was
    fits: int = 0
    seconds: float = 0.0

    def score_at(self, horizon: int) -> HorizonScore | None:
        return next((s for s in self.scores if s.horizon == horizon), None)


def default_start(series: Series, config: EngineConfig) -> pd.Timestamp:
    """First origin by default: once the main model has its history and a few calibration origins."""
    periods = config.min_history(series) + config.backfill_origins * max(1, 7 // series.period_days)
    return series.dates[min(len(series) - 1, periods)]


def backtest_origins(series: Series, start: date | pd.Timestamp | None, step: int, config: EngineConfig) -> list[
    pd.Timestamp
]:
    """Origins from ``start`` every ``step`` periods, each with at least one target inside the series."""
    if step < 1:
        raise ValueError("step must be at least 1 period")
    first = default_start(series, config) if start is None else pd.Timestamp(start)
    candidates = series.dates[(series.dates >= first) & (series.dates < series.dates[-1])]
    return list(candidates[::step])


def _project_task(argument: tuple[Series, pd.Timestamp, EngineConfig]) -> tuple[Projection, OriginState]:
    series, origin, config = argument
    return project(series, origin, config)


def run_backtest(
    series: Series,
    config: EngineConfig,
    *,
    start: date | pd.Timestamp | None = None,
    step: int = 7,
    workers: int = 1,
    timeout_s: float = 60.0,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Forecast from every origin, score against what was observed, next to the baseline."""
    started = time.perf_counter()
    origins = backtest_origins(series, start, step, config)
    if not origins:
        raise ValueError("no origin: the start is after the last date, or the series is too short")
    main = [o for o in origins if readiness(series.until(o), config)[0] is Readiness.MAIN]
    needed: set[pd.Timestamp] = set(main)
    warmup = replace(config, backfill_per_run=config.backfill_origins)  # the whole warm-up at once
    for origin in main:
        # Weeks without an earlier origin get one, as a first run would: with a weekly step only the first
        # origins need them (the warm-up before the start); a longer step fills its gaps.
        at_origin = series.until(origin)
        earlier = origins_to_backfill(at_origin, origin, warmup, [o for o in needed if o < origin])
        needed.update(o for o in earlier if readiness(series.until(o), config)[0] is Readiness.MAIN)
    projections: dict[pd.Timestamp, Projection] = {}
    states: dict[pd.Timestamp, OriginState] = {}
    failures: dict[pd.Timestamp, str] = {}
    tasks = [(o, (series, o, config)) for o in sorted(needed)]
    results: Iterable[Any] = (
        run_tasks(_project_task, tasks, workers=workers, timeout_s=timeout_s, initializer=prepare_worker)
        if workers > 1 else _serial(tasks, timeout_s)
    )
    for done, result in enumerate(results, start=1):
        if result.value is not None:
            projections[result.key], states[result.key] = result.value
        else:
            failures[result.key] = result.error or "failed"
        if progress is not None:
            progress(done, len(tasks))
    outcomes = [_outcome_at(series, o, projections, states, failures, config) for o in origins]
    return _assemble(series, origins, outcomes, config, fits=len(tasks), started=started)


def _serial(tasks: list[tuple[pd.Timestamp, Any]], timeout_s: float) -> Iterable[Any]:
    """In-process variant for one worker (no time limit can be enforced without a child process)."""
    from forecasting.pool import TaskResult

    for key, argument in tasks:
        t0 = time.perf_counter()
        try:
            yield TaskResult(key, _project_task(argument), None, False, time.perf_counter() - t0)
        except Exception as exc:
            yield TaskResult(key, None, repr(exc), False, time.perf_counter() - t0)


def _outcome_at(
    series: Series,
    origin: pd.Timestamp,
    projections: dict[pd.Timestamp, Projection],
    states: dict[pd.Timestamp, OriginState],
    failures: dict[pd.Timestamp, str],
    config: EngineConfig,
) -> Outcome:
    at_origin = series.until(origin)
    t0 = time.perf_counter()
    ready, reason = readiness(at_origin, config)
    horizon = config.ensemble.horizon
    if ready is not Readiness.MAIN:
        if ready is Readiness.NONE:
            reason = reason or "too little data"
        return baseline_outcome(at_origin, horizon, reason, t0)
    if origin not in projections:
        return baseline_outcome(at_origin, horizon, f"main model failed: {failures.get(origin, 'unknown')}", t0)
    history = {o: p for o, p in projections.items() if o < origin}
    return finish(at_origin, projections[origin], states[origin], history, config, started=t0)


def _assemble(
    series: Series, origins: list[pd.Timestamp], outcomes: list[Outcome], config: EngineConfig, *, fits: int,
    started: float,
) -> BacktestResult:
    horizon = config.ensemble.horizon
    observed = pd.Series(series.values, index=series.dates)
    frames = []
    horizons_col, actual_col, model_q, base_q = [], [], [], []
    models: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for origin, outcome in zip(origins, outcomes, strict=True):
        models[outcome.model] += 1
        if outcome.reason:
            reasons[outcome.reason.split(":")[0]] += 1
        if outcome.quantiles is None:
            continue
        targets = outcome.target_dates
        quantiles = outcome.quantiles
        frames.append(pd.DataFrame({
            "origin": origin.date().isoformat(),
            "target_date": np.repeat([t.date().isoformat() for t in targets], LEVELS.size),
            "horizon": np.repeat(np.arange(1, horizon + 1), LEVELS.size),
            "quantile": np.tile(LEVELS, horizon),
            "value": quantiles.ravel(),
        }))
        baseline = hub_baseline(series.until(origin).values, horizon)
        horizons_col.append(np.arange(1, horizon + 1))
        actual_col.append(observed.reindex(targets).to_numpy(dtype=np.float64))
        model_q.append(quantiles)
        base_q.append(baseline)
    forecasts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CSV_COLUMNS)
    scores = score_horizons(
        np.concatenate(horizons_col), np.concatenate(actual_col), np.concatenate(model_q), np.concatenate(base_q)
    ) if model_q else []
    return BacktestResult(origins, forecasts, scores, models, reasons, fits, time.perf_counter() - started)


def prepare_worker() -> None:
    """Worker start-up: import the model libraries once and keep them quiet."""
    import logging as _logging

    from forecasting.prophet_model import quiet_prophet

    _logging.basicConfig(level=_logging.WARNING)
    quiet_prophet()
    import prophet  # noqa: F401 - imported now so that the first task does not pay for it


def recent_skill(
    series: Series,
    history: Mapping[pd.Timestamp, Projection],
    config: EngineConfig,
    *,
    origins: int,
    horizons: Sequence[int],
    samples: int = 1000,
) -> list[HorizonScore]:
    """Scores of the main model over its last ``origins`` calibration origins whose targets are observed.

    What the platform stores after each run (kind ``backtest``): the forecasts those origins would have
    had, each calibrated on the projections before it, against what happened, next to the baseline. Only
    the ``horizons`` scored are computed, with fewer samples than a forecast (the scores average many).
    """
    last = series.dates[-1]
    step = pd.Timedelta(days=series.period_days)
    observed = pd.Series(series.values, index=series.dates)
    candidates = calibration_origins(series, last, config, history)
    rows_h, rows_y, rows_q, rows_b = [], [], [], []
    used = 0
    for origin in candidates:
        if used >= origins:
            break
        wanted = [h for h in horizons if origin + step * h <= last]
        if not wanted:
            continue
        at_origin = series.until(origin)
        if readiness(at_origin, config)[0] is not Readiness.MAIN:
            continue
        projection = history[origin]
        state = origin_state(at_origin, projection.holiday_effect)
        earlier = [history[o] for o in calibration_origins(at_origin, origin, config, history)]
        try:
            distribution = forecast_distribution(
                at_origin, projection, state, earlier, config.ensemble, horizons=wanted, samples=samples
            )
        except NotCalibrated:
            continue
        baseline = hub_baseline(at_origin.values, max(wanted), samples=samples, horizons=wanted)
        for h in wanted:
            rows_h.append(h)
            rows_y.append(float(observed.get(origin + step * h, np.nan)))
            rows_q.append(distribution.quantiles[h - 1])
            rows_b.append(baseline[h - 1])
        used += 1
    if not rows_h:
        return []
    return score_horizons(rows_h, rows_y, np.array(rows_q), np.array(rows_b))
