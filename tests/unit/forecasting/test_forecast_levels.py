"""The level layer: weekday profile, damped local trends, volatility, count noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.dataset import regular_series
from forecasting.levels import (
    Scale,
    centred_mean,
    local_trend,
    noise_model,
    realised_levels,
    recent_level,
    stock_and_flow,
    volatility,
    weekday_profile,
)

WEEKLY = np.array([1.2, 1.1, 1.0, 1.0, 1.0, 0.8, 0.9])


def test_weekday_profile_recovers_the_pattern() -> None:
    days = pd.date_range("2024-01-01", periods=70)  # a Monday first
    values = 100 * WEEKLY[days.day_of_week]
    profile = weekday_profile(values, days, multiplicative=True)
    assert profile.effects == pytest.approx(WEEKLY / WEEKLY.mean())
    flat = profile.remove(values, np.asarray(days.day_of_week))
    assert np.allclose(flat, flat[0])


def test_centred_mean_and_realised_levels() -> None:
    assert np.isnan(centred_mean(np.arange(10.0), 7)[:3]).all()
    assert centred_mean(np.arange(10.0), 7)[3] == pytest.approx(3.0)
    s = regular_series(pd.date_range("2024-01-01", periods=14), np.full(14, np.e - 1))
    levels = realised_levels(s, Scale(log=True))
    assert levels[3] == pytest.approx(1.0) and np.isnan(levels[-3:]).all()  # the last 3 days are not known yet


def test_damped_trend() -> None:
    line = np.arange(10.0)  # slope 1
    assert local_trend(line, 7, 1.0, 3) == pytest.approx([10.0, 11.0, 12.0])
    assert local_trend(line, 7, 0.5, 3) == pytest.approx([9.5, 9.75, 9.875])  # the slope halves every period
    assert recent_level(line, 3, 2).tolist() == [8.0, 8.0]


def test_volatility_has_a_floor() -> None:
    assert volatility(np.ones(60), 1) == pytest.approx(0.05)
    assert volatility(np.arange(60) * 0.01, 1) == pytest.approx(0.07 + 0.05)


def test_poisson_counts_are_not_overdispersed() -> None:
    rng = np.random.default_rng(1)
    days = pd.date_range("2024-01-01", periods=120)
    s = regular_series(days, rng.poisson(50 * WEEKLY[days.day_of_week]).astype(float))
    profile = weekday_profile(s.values, s.dates, multiplicative=True)
    noise = noise_model(s, profile, Scale(log=True))
    assert noise.kind == "counts" and noise.inv_k < 0.01
    assert np.std(noise.z) == pytest.approx(1.0, abs=0.25)  # standardised by the Poisson spread


def test_overdispersed_counts() -> None:
    rng = np.random.default_rng(2)
    days = pd.date_range("2024-01-01", periods=120)
    s = regular_series(days, rng.negative_binomial(5, 5 / (5 + 40), size=120).astype(float))
    noise = noise_model(s, weekday_profile(s.values, s.dates, True), Scale(log=True))
    assert noise.inv_k == pytest.approx(1 / 5, abs=0.12)


def test_stock_and_flow_keeps_a_balanced_stock_and_follows_rising_arrivals() -> None:
    scale = Scale(log=True)
    # 100 beds occupied, 10 admissions a day, 10 % leaving a day: in balance (100 x 0.9 + 10 = 100).
    stock = np.full(60, 100.0)
    balanced = stock_and_flow(scale.forward(stock), np.full(60, 10.0), scale, 14, period_days=1, window=7,
                              damping=0.9)
    assert scale.inverse(balanced) == pytest.approx(np.full(14, 100.0))
    # Admissions doubling from 10 to 20 over the last week while the stock has not moved yet: it rises.
    arrivals = np.concatenate([np.full(53, 10.0), np.linspace(10.0, 20.0, 7)])
    rising = scale.inverse(stock_and_flow(scale.forward(stock), arrivals, scale, 14, period_days=1, window=7,
                                          damping=0.9))
    assert rising[0] > 100.0 and np.all(np.diff(rising) > 0)
    # By hand: the stock did not change over the last 28 days, so all that arrived left: r = arrivals / (28 x
    # 100); the first day ahead keeps 100 (1 - r) and adds the first projected arrival.
    came = arrivals[-28:].sum()
    r = came / (28 * 100.0)
    trend = np.expm1(local_trend(np.log1p(pd.Series(arrivals).rolling(7, min_periods=1).mean().to_numpy()), 7, 0.9,
                                 14))
    assert rising[0] == pytest.approx(100.0 * (1 - r) + trend[0])


def test_stock_and_flow_without_arrivals_is_flat() -> None:
    scale = Scale(log=True)
    level = scale.forward(np.linspace(80.0, 100.0, 60))
    flat = stock_and_flow(level, np.full(60, np.nan), scale, 7, period_days=1, window=7, damping=0.9)
    assert flat == pytest.approx(np.full(7, level[-1]))
