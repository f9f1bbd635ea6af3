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
