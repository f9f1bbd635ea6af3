"""One series at one origin: the main model when the data allows, a clear fallback otherwise, never an exception."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting import ensemble
from forecasting.dataset import regular_series
from forecasting.engine import BASELINE_MODEL, EngineConfig, forecast_series
from forecasting.ensemble import MODEL_NAME
from synopse.domain.forecasts import MEDIAN_INDEX, SeriesStatus
from tests.unit.forecasting.forecast_fixtures import admissions, weekly

CONFIG = EngineConfig()


def test_main_model_on_a_clean_series() -> None:
    series = admissions()
    outcome, projections = forecast_series(series, CONFIG)
    assert (outcome.status, outcome.model, outcome.reason) == (SeriesStatus.OK, MODEL_NAME, None)
    q = outcome.quantiles
    assert q is not None and q.shape == (28, 23)
    assert np.all(np.diff(q, axis=1) >= 0) and q.min() >= 0
    assert outcome.target_dates[0] == series.dates[-1] + pd.Timedelta(days=1)
    # The level is about 30 a day (with the wave and weekdays): the medians are of that order.
    assert 10 < np.median(q[:, MEDIAN_INDEX]) < 70
    # Nothing stored yet: every other week of the last eight fitted on the spot (weeks 2, 4, 6, 8), and today.
    assert CONFIG.backfill_per_run == 4
    week = pd.Timedelta(days=7)
    assert [p.origin for p in projections] == [series.dates[-1] - week * k for k in (8, 6, 4, 2, 0)]
    parameters = json.loads(json.dumps(outcome.parameters))  # JSON, never a pickle
    assert parameters["prophet"]["fitted"]["k"] and parameters["calibration"]["origins"] == 4
    assert set(parameters["weights"]) == {"prophet", "trend7", "trend14", "recent3", "last"}

    # The next day, the weeks between are fitted, a week from the stored origins (weeks 1, 3, 5, 7 counted
    # from the first day): eight calibration origins a week apart.
    history = {p.origin: p for p in projections}
    tomorrow = series.dates[-1] + pd.Timedelta(days=1)
    outcome2, new = forecast_series(admissions(days=161), CONFIG, history)
    assert outcome2.status is SeriesStatus.OK and outcome2.parameters["calibration"]["origins"] == 8
    assert [p.origin for p in new] == [series.dates[-1] - week * k for k in (7, 5, 3, 1)] + [tomorrow]
    # The day after, everything is stored: Prophet is fitted once, for today.
    history.update({p.origin: p for p in new})
    outcome3, newer = forecast_series(admissions(days=162), CONFIG, history)
    assert outcome3.status is SeriesStatus.OK and outcome3.parameters["calibration"]["origins"] == 8
    assert [p.origin for p in newer] == [tomorrow + pd.Timedelta(days=1)]


def test_occupancy_is_capped_at_the_beds_that_exist() -> None:
    base = admissions(level=300.0)
    bounded = replace(base, upper_bound=330.0, counts=True)
    outcome, _ = forecast_series(bounded, replace(CONFIG, ensemble=replace(CONFIG.ensemble, use_prophet=False)))
    assert outcome.quantiles is not None and outcome.quantiles.max() <= 330.0


def _days(values: list[float] | np.ndarray) -> object:
    return regular_series(pd.date_range("2024-01-01", periods=len(values)), values)


@pytest.mark.parametrize(
    ("values", "status", "reason"),
    [
        ([3.0], SeriesStatus.SKIPPED, "too little data"),
        ([0.0] * 90, SeriesStatus.FALLBACK, "constant series (every value is 0)"),
        (list(np.arange(14.0)), SeriesStatus.FALLBACK, "short history: 14 days"),
        ([np.nan if i % 2 else 5.0 + i % 7 for i in range(90)] + [5.0], SeriesStatus.FALLBACK, "gaps"),
    ],
)
def test_bad_data_has_a_clear_outcome(values: list[float], status: SeriesStatus, reason: str) -> None:
    outcome, projections = forecast_series(_days(values), CONFIG)  # type: ignore[arg-type]
    assert outcome.status is status
    assert outcome.reason is not None and reason in outcome.reason
    assert projections == []
    if status is SeriesStatus.FALLBACK:
        assert outcome.model == BASELINE_MODEL and outcome.quantiles is not None
        assert outcome.quantiles[:, MEDIAN_INDEX].tolist() == [values[-1]] * 28  # the last value carried forward
    else:
        assert outcome.quantiles is None


def test_a_failing_model_falls_back_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def diverge(*args: object, **kwargs: object) -> None:
        raise RuntimeError("optimisation diverged")

    monkeypatch.setattr(ensemble, "fit_prophet", diverge)
    outcome, projections = forecast_series(admissions(), CONFIG)
    assert outcome.status is SeriesStatus.FALLBACK and outcome.model == BASELINE_MODEL
    assert outcome.reason is not None and "optimisation diverged" in outcome.reason
    assert projections == []


def test_weekly_series() -> None:
    config = replace(CONFIG, ensemble=replace(CONFIG.ensemble, horizon=4))
    outcome, _ = forecast_series(weekly(), config)
    assert outcome.status is SeriesStatus.OK
    assert outcome.quantiles is not None and outcome.quantiles.shape == (4, 23)
    assert (outcome.target_dates[0] - weekly().dates[-1]).days == 7
