"""Prospective skill: the forecasts the platform stored at earlier origins, scored against what was observed.

Boundary: pure computation on one series. Unlike the ``backtest`` scores (what the current model would
have forecast at past origins), these are the forecasts that were really published, whatever model or
version made them, each next to the hub baseline computed from the data known at its origin. The
observed value is the one known now (late corrections included).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.baseline import hub_baseline
from forecasting.dataset import Series
from forecasting.scores import FloatArray, HorizonScore, score_horizons

# The baseline's quantiles of a past origin are averaged into a score over many targets: 1,000 paths are
# enough there (as for the backtest scores of a run).
BASELINE_SAMPLES = 1000


@dataclass(frozen=True)
class StoredForecast:
    """One stored forecast of a series: its origin day, horizon (periods ahead) and 23 quantiles."""

    origin: pd.Timestamp
    horizon: int
    quantiles: FloatArray


def weekly_origins(origins: Iterable[pd.Timestamp], spacing_days: int = 7) -> set[pd.Timestamp]:
    """The newest origin, then the newest at least ``spacing_days`` before it, and so on.

    A platform refreshing every day publishes seven forecasts a week that err alike; one origin a week
    counts each week once (as the ``backtest`` scores do) and keeps the cost of baselines down.
    """
    chosen: set[pd.Timestamp] = set()
    limit: pd.Timestamp | None = None
    for origin in sorted(set(origins), reverse=True):
        if limit is None or origin <= limit:
            chosen.add(origin)
            limit = origin - pd.Timedelta(days=spacing_days)
    return chosen


def prospective_skill(series: Series, forecasts: Sequence[StoredForecast]) -> list[HorizonScore]:
    """Scores per horizon of the stored ``forecasts`` whose target period is observed in ``series``, one
    origin a week (:func:`weekly_origins`)."""
    observed = pd.Series(series.values, index=series.dates)
    kept = weekly_origins(f.origin for f in forecasts)
    forecasts = [f for f in forecasts if f.origin in kept]
    step = pd.Timedelta(days=series.period_days)
    baselines: dict[pd.Timestamp, FloatArray] = {}
    wanted = sorted({f.horizon for f in forecasts})
    longest = max(wanted, default=0)
    rows_h, rows_y, rows_q, rows_b = [], [], [], []
    for forecast in forecasts:
        value = float(observed.get(forecast.origin + step * forecast.horizon, np.nan))
        known = series.until(forecast.origin)
        if np.isnan(value) or known.observed == 0:
            continue
        if forecast.origin not in baselines:
            baselines[forecast.origin] = hub_baseline(known.values, longest, samples=BASELINE_SAMPLES, horizons=wanted)
        rows_h.append(forecast.horizon)
        rows_y.append(value)
        rows_q.append(np.asarray(forecast.quantiles, dtype=np.float64))
        rows_b.append(baselines[forecast.origin][forecast.horizon - 1])
    if not rows_h:
        return []
    return score_horizons(rows_h, rows_y, np.array(rows_q), np.array(rows_b))
