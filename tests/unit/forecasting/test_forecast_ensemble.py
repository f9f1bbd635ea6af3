"""Combination and calibration of the ensemble: recent past errors count more than old ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting.dataset import Series
from forecasting.ensemble import (
    EnsembleConfig,
    Projection,
    age_weights,
    forecast_distribution,
    origin_state,
    weighted_quantile,
)
from forecasting.levels import Scale, realised_levels
from forecasting.scores import interval_bounds
from tests.unit.forecasting.forecast_fixtures import admissions

HORIZON = 14


def test_age_weights_halve_every_half_life() -> None:
    origin = pd.Timestamp("2024-06-30")
    past = [origin - pd.Timedelta(weeks=w) for w in (1, 26, 52)]
    assert age_weights(origin, past, 26.0) == pytest.approx([0.5 ** (1 / 26), 0.5, 0.25])
    assert age_weights(origin, past, None).tolist() == [1.0, 1.0, 1.0]


def test_weighted_quantile() -> None:
    values = np.array([4.0, 1.0, 3.0, 2.0])
    assert weighted_quantile(values, np.ones(4), 0.5) == pytest.approx(2.5)  # the median of equal weights
    # Nearly all the weight on 4: the median moves to it.
    assert weighted_quantile(values, np.array([100.0, 1.0, 1.0, 1.0]), 0.5) == pytest.approx(4.0, abs=0.05)
    assert weighted_quantile(values, np.array([1.0, 1.0, 1.0, 1.0]), 0.0) == pytest.approx(1.0)


def _history(errors_old: dict[str, float], errors_recent: dict[str, float]) -> tuple[
    Series, Projection, list[Projection]
]:
    """A series with past projections erring by ``errors_old`` (first half) then ``errors_recent`` (log scale).

    Errors alternate in sign so that centring leaves their size as the spread.
    """
    series = admissions(days=420, level=30.0)
    scale = Scale(log=True)
    realised = realised_levels(series, scale)
    origins = list(series.dates[60:390:7])
    past = []
    for k, origin in enumerate(origins):
        i = int(np.flatnonzero(series.dates == origin)[0])
        actual = np.nan_to_num(realised[i + 1: i + 1 + HORIZON], nan=float(np.nanmean(realised)))
        sizes = errors_old if k < len(origins) // 2 else errors_recent
        sign = 1.0 if k % 2 else -1.0
        members = {name: actual + sign * size for name, size in sizes.items()}
        past.append(Projection(origin, members, volatility=0.1, holiday_effect=np.zeros(HORIZON)))
    today = series.until(series.dates[-1])
    now = Projection(today.dates[-1], {name: np.full(HORIZON, np.log1p(30.0)) for name in errors_old}, 0.1,
                     np.zeros(HORIZON))
    return today, now, past


def test_recent_errors_set_the_spread_and_the_weights() -> None:
    series, now, past = _history({"a": 0.6, "b": 0.05}, {"a": 0.05, "b": 0.6})
    state = origin_state(series, np.zeros(HORIZON))
    config = EnsembleConfig(horizon=HORIZON, samples=2000)
    recent = forecast_distribution(series, now, state, past, config)
    flat = forecast_distribution(series, now, state, past, replace(config, error_halflife_weeks=None))
    # "a" has been the accurate member lately: it leads with a half-life, not with every error counted alike.
    assert recent.weights["a"][6] > 0.65
    assert flat.weights["a"][6] == pytest.approx(0.5, abs=0.1)
    # Two close members, errors of 0.05 lately and 0.6 long ago: the intervals follow the recent errors.
    series2, now2, past2 = _history({"a": 0.6, "b": 0.6}, {"a": 0.05, "b": 0.05})
    state2 = origin_state(series2, np.zeros(HORIZON))
    widths = []
    for halflife in (26.0, None):
        chosen = replace(config, error_halflife_weeks=halflife)
        q = forecast_distribution(series2, now2, state2, past2, chosen).quantiles
        low, high = interval_bounds(q[6], 0.5)
        widths.append(float(high - low))
    assert widths[0] < 0.8 * widths[1]


def test_mean_absolute_error_over_neighbouring_horizons_weighted_by_age() -> None:
    from forecasting.ensemble import _mean_abs_error

    errors = np.array([[1.0, -2.0, np.nan], [-4.0, np.nan, 3.0]])
    ages = np.array([1.0, 0.5])
    mean = _mean_abs_error(errors, 1, ages, min_errors=3)
    # Horizon 1 pools horizons 1-2: 1 (w 1), 2 (w 1), 4 (w 0.5) -> (1 + 2 + 2) / 2.5; only 3 errors.
    assert mean[0] == pytest.approx(5.0 / 2.5)
    # Horizon 2 pools 1-3: 1, 2 (w 1), 4, 3 (w 0.5) -> (1 + 2 + 2 + 1.5) / 3.
    assert mean[1] == pytest.approx(6.5 / 3.0)
    # Horizon 3 pools 2-3: two errors only, fewer than needed.
    assert np.isnan(mean[2])


def test_mean_absolute_error_of_several_members_at_once() -> None:
    from forecasting.ensemble import _mean_abs_error

    rng = np.random.default_rng(4)
    errors = rng.normal(size=(3, 12, 10))
    errors[1, 2:5, 3] = np.nan
    ages = rng.uniform(0.2, 1.0, 12)
    stacked = _mean_abs_error(errors, 2, ages, min_errors=20)
    for member in range(3):
        assert np.allclose(stacked[member], _mean_abs_error(errors[member], 2, ages, min_errors=20), equal_nan=True)


def test_weighted_draws_are_those_of_numpy_choice() -> None:
    from forecasting.ensemble import _weighted_draws

    values, weights = np.array([-1.0, 0.5, 2.0, 7.0]), np.array([0.1, 2.0, 0.7, 0.2])
    ours = _weighted_draws(np.random.default_rng(9), values, weights, 500)
    theirs = np.random.default_rng(9).choice(values, size=500, p=weights / weights.sum())
    assert np.array_equal(ours, theirs)
