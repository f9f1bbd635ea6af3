"""Benchmark of a forecast refresh: 1,000 series of three years of daily data, fitted, calibrated and stored.

Builds synthetic daily series (counts with a weekly pattern, epidemic waves and different levels; a tenth
are bed occupancy against a capacity, with their admissions), then times what a run does after reading the
series: every series in the process pool (Prophet and the simple members, calibration, 23 quantiles,
recent skill), and the writes of forecasts, capacity projections, scores and projections in a scratch
database. Four days:

- *first run*: nothing stored yet, each series fits 3 of its 8 calibration origins too (every other week);
- *second* and *third run*: the next days, the weeks left are fitted (3, then 2);
- *refresh*: the day after, calibrated on what the runs stored: one Prophet fit per series.

Uses PostgreSQL on 127.0.0.1:5432 (SYNOPSE_BENCH_PG_DSN: a superuser DSN) in a scratch database dropped
at the end. Usage::

    .venv/bin/python -m benchmarks.forecast_refresh --series 1000 --record
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg

from benchmarks.forecast_results import machine_line, record
from benchmarks.scratch import scratch_database
from forecasting.dataset import Series
from forecasting.ensemble import MODEL_NAME, MODEL_VERSION
from forecasting.jobs import RunSummary, engine_config, forecast_and_store, load_history
from forecasting.pool import default_workers
from forecasting.prospective import StoredForecast, prospective_skill
from synopse.config import ForecastSettings
from synopse.db import forecast_inputs as inputs
from synopse.db import forecasts as db
from synopse.domain.forecasts import QUANTILE_LEVELS, Metric, RunStatus, Scope, SeriesKey

WEEKLY = np.array([1.15, 1.1, 1.05, 1.05, 1.0, 0.8, 0.85])
DAYS = 3 * 365


def synthetic(
    count: int, end: date, seed: int = 44
) -> tuple[dict[SeriesKey, Series], dict[SeriesKey, inputs.Capacity]]:
    """``count`` daily series of three years ending on ``end`` (seeded: the same every time)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end - timedelta(days=DAYS + 30), end, freq="D")
    t = np.arange(len(dates))
    series: dict[SeriesKey, Series] = {}
    capacity: dict[SeriesKey, inputs.Capacity] = {}
    for i in range(count):
        level = float(np.exp(rng.uniform(np.log(2), np.log(300))))
        waves = 1 + sum(rng.uniform(0.2, 0.8) * np.exp(-0.5 * ((t - rng.uniform(0, len(t))) / rng.uniform(10, 40)) ** 2)
                        for _ in range(4))
        yearly = 1 + 0.15 * np.cos(2 * np.pi * (dates.day_of_year.to_numpy() - 15) / 365)
        occupancy = i % 10 == 0
        if occupancy:
            beds = round(level * 8)
            values = np.minimum(level * 6 * waves * yearly + rng.normal(0, 2, len(t)), beds * 1.1).round()
            key = SeriesKey(Metric.BED_OCCUPANCY, Scope.FACILITY, f"bench-{i:04d}")
            capacity[key] = inputs.Capacity("facility", key.scope_id, float(beds), "snapshots")
            bound: float | None = beds * 1.2
            # Its admissions (a sixth of the beds a day), as the platform pairs them: the stock-and-flow member.
            inflow: np.ndarray | None = rng.poisson(level * waves * yearly).astype(float)
        else:
            values = rng.poisson(level * waves * yearly * WEEKLY[dates.day_of_week]).astype(float)
            key = SeriesKey(Metric.ADMISSIONS, Scope.FACILITY, f"bench-{i:04d}")
            bound, inflow = None, None
        series[key] = Series(dates, values.astype(float), "D", {}, bound, counts=True, inflow=inflow)
    return series, capacity


def timed_run(dsn: str, series: dict[SeriesKey, Series], capacity: dict[SeriesKey, inputs.Capacity], origin: date,
              settings: ForecastSettings) -> tuple[RunSummary, float]:
    config = engine_config(settings)
    with psycopg.connect(dsn) as conn:
        run_id = uuid.uuid4()
        cutoff = datetime.combine(origin + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        db.create_run(conn, run_id=run_id, as_of=cutoff, origin_date=origin, trigger="manual", model=MODEL_NAME,
                      model_version=MODEL_VERSION, horizon_days=settings.horizon_days,
                      parameters=settings.model_dump(mode="json"), quantile_levels=QUANTILE_LEVELS)
        conn.commit()
        summary = RunSummary(run_id, RunStatus.RUNNING, cutoff, origin)
        started = time.perf_counter()
        history = load_history(conn, origin, config)
        forecast_and_store(conn, run_id, series, capacity, history, settings, config, summary)
        conn.commit()
        return summary, time.perf_counter() - started


def prospective_cost(series: dict[SeriesKey, Series], settings: ForecastSettings, sample: int = 100) -> str:
    """Time of the prospective scores of a steady state, per series, in one process: the forecasts published
    every day of the last 12 weeks (84 origins, one a week kept), at the 4 scored horizons."""
    keys = list(series)[:sample]
    published = {key: [StoredForecast(s.dates[-1 - d], h, np.sort(s.values[-1 - d - 23:-1 - d]))
                       for d in range(1, 85) for h in (7, 14, 21, 28) if d >= h]
                 for key, s in ((key, series[key]) for key in keys)}
    started = time.perf_counter()
    for key in keys:
        prospective_skill(series[key], published[key])
    per_series = (time.perf_counter() - started) / len(keys)
    return (f"- prospective scores (not in the runs above: their forecasts are not observed yet): "
            f"{per_series * 1000:.0f} ms per series in one process for a steady state (a run a day for 12 weeks; "
            f"one origin a week scored), {per_series * len(series) / max(1, settings.workers or 1):.1f} s for "
            f"{len(series)} series on {settings.workers} processes")


def next_day(series: dict[SeriesKey, Series]) -> dict[SeriesKey, Series]:
    """The same series one day later (the new day repeats the value of a week before)."""
    return {key: Series(pd.DatetimeIndex(s.dates.append(pd.DatetimeIndex([s.dates[-1] + pd.Timedelta(days=1)]))),
                        np.append(s.values, s.values[-7]), "D", {}, s.upper_bound, counts=True,
                        inflow=None if s.inflow is None else np.append(s.inflow, s.inflow[-7]))
            for key, s in series.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--record", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    args = parser.parse_args()
    settings = ForecastSettings(workers=args.workers, regressors="")
    end = date(2026, 3, 1)
    series, capacity = synthetic(args.series, end)
    lines = [machine_line(), "",
             f"- {len(series)} series of {DAYS + 31} days ({len(capacity)} bed occupancy with a capacity and "
             f"their admissions), horizon {settings.horizon_days} days, 23 quantiles, {args.workers} worker "
             f"processes, scores after the run over {settings.score_origins} origins"]
    config = engine_config(settings)
    with scratch_database("bench_forecast", seed=False) as dsn:
        days = [(series, end)]
        for _ in range(3):
            days.append((next_day(days[-1][0]), days[-1][1] + timedelta(days=1)))
        labels = [
            f"first run (nothing stored; {config.backfill_per_run} of the {config.backfill_origins} weekly "
            "calibration origins fitted per series, every other week)",
            f"second run, the next day ({config.backfill_per_run} more weeks fitted)",
            "third run (the weeks left fitted)",
            "refresh, once calibrated on the stored projections (one Prophet fit a series)",
        ]
        for label, (day_series, day) in zip(labels, days, strict=True):
            summary, seconds = timed_run(dsn, day_series, capacity, day, settings)
            lines.append(f"- {label}: {seconds:.1f} s, {len(series) / seconds:.1f} series/s; {summary.ok} main "
                         f"model, {summary.fallback} simple model ({dict(summary.reasons)})")
            print(lines[-1], flush=True)
        after = days[-1][0]
        lines.append(prospective_cost(after, settings))
    print("\n".join(lines))
    if args.record:
        record("forecast_refresh.py", lines)


if __name__ == "__main__":
    main()
