"""Prospective skill: stored forecasts scored against what was observed, next to the baseline of their origin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.baseline import hub_baseline
from forecasting.dataset import regular_series
from forecasting.prospective import BASELINE_SAMPLES, StoredForecast, prospective_skill, weekly_origins
from forecasting.scores import LEVELS, weighted_interval_score


def test_stored_forecasts_are_scored_against_the_observed_targets() -> None:
    values = np.array([10.0, 12.0, 11.0, 13.0, 12.0, 14.0, 15.0, 13.0, 16.0, 17.0,
                       18.0, 16.0, 19.0, 20.0, 17.0, 18.0, 21.0, 22.0, 20.0, 23.0])
    series = regular_series(pd.date_range("2026-01-01", periods=20), values)
    # A point-like forecast of 14 at every level from 2026-01-05 (index 4) for 2 days ahead: observed 15.
    exact = StoredForecast(pd.Timestamp("2026-01-05"), 2, np.full(LEVELS.size, 14.0))
    # From 2026-01-12, 2 days ahead is 2026-01-14 (observed 20): quantiles 10..32 cover it.
    wide = StoredForecast(pd.Timestamp("2026-01-12"), 2, np.linspace(10.0, 32.0, LEVELS.size))
    # Target after the last observed day: not scored yet.
    future = StoredForecast(pd.Timestamp("2026-01-19"), 2, np.full(LEVELS.size, 1.0))
    scores = prospective_skill(series, [exact, wide, future])
    assert [s.horizon for s in scores] == [2]
    score = scores[0]
    assert score.origins == 2
    assert score.mae == pytest.approx((abs(15 - 14) + abs(20 - 21)) / 2)
    assert score.coverage_90 == pytest.approx(0.5)  # the point forecast misses, the wide one covers
    expected = (weighted_interval_score(15.0, exact.quantiles) + weighted_interval_score(20.0, wide.quantiles)) / 2
    assert score.wis == pytest.approx(float(expected))
    # The baseline knows only the data up to each origin: the last value there (12 and 16) is its median.
    base = [hub_baseline(values[:stop], 2, samples=BASELINE_SAMPLES) for stop in (5, 12)]
    assert base[0][1, 11] == 12.0 and base[1][1, 11] == 16.0
    assert score.mae_baseline == pytest.approx((abs(15 - 12) + abs(20 - 16)) / 2)
    assert score.wis_baseline == pytest.approx(
        float((weighted_interval_score(15.0, base[0][1]) + weighted_interval_score(20.0, base[1][1])) / 2))


def test_nothing_observed_yet_gives_no_score() -> None:
    series = regular_series(pd.date_range("2026-01-01", periods=5), [1.0, 2.0, 3.0, np.nan, 4.0])
    assert prospective_skill(series, []) == []
    # The target day (2026-01-04) is missing: no score rather than a score on a guess.
    assert prospective_skill(series, [StoredForecast(pd.Timestamp("2026-01-02"), 2, np.ones(LEVELS.size))]) == []


def test_daily_origins_are_scored_once_a_week() -> None:
    days = pd.date_range("2026-01-01", periods=20)
    assert weekly_origins(days) == {days[19], days[12], days[5]}
    assert weekly_origins([days[3], days[1], days[0]]) == {days[3]}
    series = regular_series(pd.date_range("2026-01-01", periods=30), np.arange(30.0))
    forecasts = [StoredForecast(day, 1, np.full(LEVELS.size, 0.0)) for day in series.dates[10:20]]
    scores = prospective_skill(series, forecasts)
    assert scores[0].origins == 2  # origins 2026-01-20 and 2026-01-13 of the ten days 01-11 .. 01-20
