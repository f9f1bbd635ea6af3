"""Backtest of the forecasting model on real data: Santé publique France, department 44, 2020-2023.

Daily new hospital admissions (``incid_hosp``) and hospital occupancy (``hosp``): rolling origins every 7
days over the last two years, horizons 1-28 days, each origin seeing only the data known then; weighted
interval score relative to the hub baseline, MAE of the median, coverage of the 50 % and 90 % intervals.
Also the same series aggregated by week (horizons 1-4 weeks, the hubs' setting), and the skill of a
forecast that is *told* the future weekly level of admissions and only has to add the daily noise: the
floor no real forecast can go under. Reads the data from ../shared/data (SYNOPSE_DATA_DIR). Usage::

    .venv/bin/python -m benchmarks.forecast_backtest --record
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from benchmarks.forecast_results import DATA_DIR, machine_line, record
from forecasting.backtest import BacktestResult, run_backtest
from forecasting.baseline import hub_baseline
from forecasting.dataset import Series, load_csv_series
from forecasting.engine import EngineConfig
from forecasting.jobs import engine_config
from forecasting.levels import weekday_profile
from forecasting.pool import default_workers
from forecasting.scores import LEVELS, score_horizons
from synopse.config import ForecastSettings

# File, column, what it is, and for a stock the file and column of its inflow (occupancy: admissions).
SERIES: tuple[tuple[str, str, str, tuple[str, str] | None], ...] = (
    ("spf_covid_hosp_incid_daily_dep44.csv", "incid_hosp", "daily new hospital admissions", None),
    ("spf_covid_hosp_stock_daily_dep44.csv", "hosp", "hospital occupancy",
     ("spf_covid_hosp_incid_daily_dep44.csv", "incid_hosp")),
)
DAILY_HORIZONS = (7, 14, 21, 28)


def _config(horizon: int, warmup: int) -> EngineConfig:
    base = engine_config(ForecastSettings(regressors=""))
    return replace(base, ensemble=replace(base.ensemble, horizon=horizon), backfill_origins=warmup)


def _table(result: BacktestResult, horizons: tuple[int, ...], unit: str) -> list[str]:
    lines = ["| horizon | origins | WIS | WIS baseline | **relative WIS** | MAE | MAE baseline | 50 % cov. "
             "| 90 % cov. |", "|---|---|---|---|---|---|---|---|---|"]
    for h in horizons:
        s = result.score_at(h)
        if s is None:
            continue
        lines.append(f"| {h} {unit} | {s.origins} | {s.wis:.2f} | {s.wis_baseline:.2f} | **{s.relative_wis:.3f}** | "
                     f"{s.mae:.2f} | {s.mae_baseline:.2f} | {s.coverage_50:.0%} | {s.coverage_90:.0%} |")
    every = list(result.scores)
    wis, base = np.mean([s.wis for s in every]), np.mean([s.wis_baseline for s in every])
    lines.append(f"| all 1-{every[-1].horizon} {unit} | | {wis:.2f} | {base:.2f} | {wis / base:.3f} | | | "
                 f"{np.mean([s.coverage_50 for s in every]):.0%} | {np.mean([s.coverage_90 for s in every]):.0%} |")
    return lines


def perfect_level_floor(
    series: Series, origins: list[pd.Timestamp], horizons: tuple[int, ...], *, poisson: bool = False
) -> dict[int, float]:
    """Relative WIS of a forecast told the future centred weekly mean, with negative-binomial daily noise.

    The weekday effects come from the 8 weeks before each origin, the dispersion from the whole series
    (generous); only the day-to-day scatter is left to forecast. Scored like the model, against the baseline.
    ``poisson``: Poisson noise instead (narrower: no overdispersion), the floor's other reading.
    """
    values = pd.Series(series.values, index=series.dates)
    level = values.rolling(7, center=True).mean()
    residual = (values - level).dropna()
    mean = level.reindex(residual.index)
    inv_k = 0.0 if poisson else max(0.0, float(np.mean((residual**2 - mean) / mean.clip(lower=1) ** 2)))
    rng = np.random.default_rng(0)
    rows_h, rows_y, rows_q, rows_b = [], [], [], []
    for origin in origins:
        known = series.until(origin)
        profile = weekday_profile(known.values, known.dates, multiplicative=True)
        baseline = hub_baseline(known.values, max(horizons))
        for h in horizons:
            target = origin + pd.Timedelta(days=h)
            if target not in values.index or np.isnan(level.get(target, np.nan)):
                continue
            mu = max(1e-6, float(level[target]) * profile.effects[target.day_of_week])
            if inv_k > 0:
                k = 1 / inv_k
                draws = rng.negative_binomial(k, k / (k + mu), 4000)
            else:
                draws = rng.poisson(mu, 4000)
            rows_h.append(h)
            rows_y.append(float(values[target]))
            rows_q.append(np.quantile(draws, LEVELS))
            rows_b.append(baseline[h - 1])
    scores = score_horizons(rows_h, rows_y, np.array(rows_q), np.array(rows_b))
    return {s.horizon: float(s.relative_wis or np.nan) for s in scores}


def prophet_alone(series: Series, origins: list[pd.Timestamp], tuned: bool) -> list[str]:
    """Prophet with its own intervals (predictive samples), no calibration and no ensemble.

    ``tuned``: the set-up of the main model (120 days, log1p, a changepoint a week, French holidays);
    otherwise Prophet's defaults on the whole history.
    """
    from prophet import Prophet

    from forecasting.prophet_model import french_holidays, quiet_prophet

    quiet_prophet()
    observed = pd.Series(series.values, index=series.dates)
    rows_h, rows_y, rows_q, rows_b = [], [], [], []
    for origin in origins:
        history = observed[:origin]
        if tuned:
            frame = pd.DataFrame({"ds": history.index, "y": np.log1p(history.to_numpy())}).tail(120)
            first, last = frame.ds.iloc[0], frame.ds.iloc[-1]
            week = pd.Timedelta(days=7)
            model = Prophet(changepoints=list(pd.date_range(first + week, last - week, freq="7D")),
                            changepoint_prior_scale=0.5, yearly_seasonality=False, daily_seasonality=False,
                            uncertainty_samples=300, holidays=french_holidays(first, origin + 5 * week, "FR"))
        else:
            frame = pd.DataFrame({"ds": history.index, "y": history.to_numpy()})
            model = Prophet(uncertainty_samples=300, daily_seasonality=False)
        model.fit(frame)
        future = pd.DataFrame({"ds": pd.date_range(origin + pd.Timedelta(days=1), periods=28)})
        samples = model.predictive_samples(future)["yhat"]
        quantiles = np.maximum(np.quantile(np.expm1(samples) if tuned else samples, LEVELS, axis=1).T, 0)
        baseline = hub_baseline(history.to_numpy(), 28)
        for h in DAILY_HORIZONS:
            rows_h.append(h)
            rows_y.append(float(observed.get(origin + pd.Timedelta(days=h), np.nan)))
            rows_q.append(quantiles[h - 1])
            rows_b.append(baseline[h - 1])
    scores = score_horizons(rows_h, rows_y, np.array(rows_q), np.array(rows_b))
    return [f"{s.horizon} d {s.relative_wis:.3f} (coverage {s.coverage_50:.0%} / {s.coverage_90:.0%})"
            for s in scores]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--warmup", type=int, default=16, help="calibration origins fitted before the first origin")
    parser.add_argument("--prophet-alone", action="store_true",
                        help="also score Prophet with its own intervals (slow: predictive samples)")
    parser.add_argument("--record", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    args = parser.parse_args()
    lines = [machine_line(), ""]
    for filename, column, what, inflow in SERIES:
        path = DATA_DIR / filename
        for freq in ("D", "W"):
            series = load_csv_series(path, date_col="date", value_col=column, freq=freq,
                                     inflow_col=inflow[1] if inflow else None,
                                     inflow_path=DATA_DIR / inflow[0] if inflow else None)
            start = pd.Timestamp(series.last_date) - pd.DateOffset(years=2)
            horizon, step, unit = (28, 7, "d") if freq == "D" else (4, 1, "w")
            started = time.perf_counter()
            result = run_backtest(series, _config(horizon, args.warmup), start=start, step=step,
                                  workers=args.workers, timeout_s=120)
            seconds = time.perf_counter() - started
            shown = DAILY_HORIZONS if freq == "D" else (1, 2, 3, 4)
            title = (f"`{column}` ({what}), {'daily' if freq == 'D' else 'weekly sums'}: {len(result.origins)} "
                     f"origins from {result.origins[0].date()} every {step} {'days' if freq == 'D' else 'week'}, "
                     f"{result.fits} model fits, {seconds:.1f} s with {args.workers} workers")
            lines += [f"**{title}**", "", *_table(result, shown, unit), ""]
            if result.reasons:
                lines += [f"baseline used at: {dict(result.reasons)}", ""]
            if freq == "D" and args.prophet_alone:
                for tuned in (False, True):
                    label = "as set up in the model" if tuned else "with its defaults"
                    lines += [f"Prophet alone {label}, its own intervals: "
                              + ", ".join(prophet_alone(series, result.origins, tuned)), ""]
            if freq == "D" and column == "incid_hosp":
                for poisson in (False, True):
                    floor = perfect_level_floor(series, result.origins, DAILY_HORIZONS, poisson=poisson)
                    lines += [f"Floor: relative WIS of a forecast *told* the future weekly mean level, adding only "
                              f"{'Poisson' if poisson else 'negative-binomial'} daily noise: "
                              + ", ".join(f"{h} d {floor[h]:.3f}" for h in floor), ""]
    print("\n".join(lines))
    if args.record:
        record("forecast_backtest.py (SpF department 44)", lines)


if __name__ == "__main__":
    main()
