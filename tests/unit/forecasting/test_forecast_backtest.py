"""Rolling-origin backtest: only the data of each origin is used, every level is written, scores are computed."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import CSV_COLUMNS, backtest_origins, run_backtest
from forecasting.engine import EngineConfig
from synopse.domain.forecasts import QUANTILE_LEVELS
from tests.unit.forecasting.forecast_fixtures import admissions

CONFIG = replace(EngineConfig(), ensemble=replace(EngineConfig().ensemble, horizon=14))


def test_origins_every_step_until_the_last_observed_target() -> None:
    series = admissions(days=120)
    origins = backtest_origins(series, pd.Timestamp("2024-03-01"), 7, CONFIG)
    assert origins[0] == pd.Timestamp("2024-03-01")
    assert all((b - a).days == 7 for a, b in itertools.pairwise(origins))
    assert origins[-1] < series.dates[-1]
    with pytest.raises(ValueError):
        backtest_origins(series, None, 0, CONFIG)


def test_backtest_uses_only_the_data_known_at_each_origin() -> None:
    series = admissions(days=170)
    start = series.dates[-50]
    result = run_backtest(series, CONFIG, start=start, step=7, workers=1)
    assert list(result.forecasts.columns) == CSV_COLUMNS
    per_target = result.forecasts.groupby(["origin", "horizon"])["quantile"].apply(list)
    assert all(levels == list(QUANTILE_LEVELS) for levels in per_target)
    first = result.forecasts[result.forecasts.origin == start.date().isoformat()]
    assert (pd.to_datetime(first.target_date) - start).dt.days.tolist() == first.horizon.tolist()
    assert result.models["synopse-ensemble"] == len(result.origins)

    # Change everything after the third origin: the forecasts of the first three origins must not move.
    third = result.origins[2]
    altered = replace(series, values=np.where(series.dates > third, series.values * 3, series.values))
    again = run_backtest(altered, CONFIG, start=start, step=7, workers=1)
    before = result.forecasts[pd.to_datetime(result.forecasts.origin) <= third].reset_index(drop=True)
    after = again.forecasts[pd.to_datetime(again.forecasts.origin) <= third].reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)
    later = pd.to_datetime(result.forecasts.origin) > third
    assert not np.allclose(result.forecasts[later].value, again.forecasts[later.to_numpy()].value)

    scores = {s.horizon: s for s in result.scores}
    assert set(scores) == set(range(1, 15))
    assert scores[7].origins == sum(o + pd.Timedelta(days=7) <= series.dates[-1] for o in result.origins)
    assert scores[7].relative_wis is not None and 0 < scores[7].relative_wis < 2
    assert 0 <= scores[7].coverage_50 <= scores[7].coverage_90 <= 1
