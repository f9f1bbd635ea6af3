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
from tests.unit.forecasting.forecast_fixtures import admissions, occupancy, weekly

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
    # Nothing stored yet: every other week of the last eight, oldest first, fitted on the spot (weeks 8, 6
    # and 4: errors up to 28 days ahead), and today.
    assert CONFIG.backfill_per_run == 3
    week = pd.Timedelta(days=7)
    assert [p.origin for p in projections] == [series.dates[-1] - week * k for k in (8, 6, 4, 0)]
    parameters = json.loads(json.dumps(outcome.parameters))  # JSON, never a pickle
    assert parameters["prophet"]["fitted"]["k"] and parameters["calibration"]["origins"] == 3
    assert set(parameters["weights"]) == {"prophet", "trend7", "trend14", "recent3", "last"}

    # The next days, the weeks left are fitted, a week from the stored origins (counted from the first day:
    # week 2, then the weeks between), three a run at most, until eight calibration origins a week apart.
    history = {p.origin: p for p in projections}
    tomorrow = series.dates[-1] + pd.Timedelta(days=1)
    outcome2, new = forecast_series(admissions(days=161), CONFIG, history)
    assert outcome2.status is SeriesStatus.OK and outcome2.parameters["calibration"]["origins"] == 6
    assert [p.origin for p in new] == [series.dates[-1] - week * k for k in (7, 5, 2)] + [tomorrow]
    history.update({p.origin: p for p in new})
    after = tomorrow + pd.Timedelta(days=1)
    outcome3, newer = forecast_series(admissions(days=162), CONFIG, history)
    assert outcome3.status is SeriesStatus.OK and outcome3.parameters["calibration"]["origins"] == 8
    assert [p.origin for p in newer] == [series.dates[-1] - week * k for k in (3, 1)] + [after]
    # Then everything is stored: Prophet is fitted once a run, for the day.
    history.update({p.origin: p for p in newer})
    outcome4, newest = forecast_series(admissions(days=163), CONFIG, history)
    assert outcome4.status is SeriesStatus.OK and outcome4.parameters["calibration"]["origins"] == 8
    assert [p.origin for p in newest] == [after + pd.Timedelta(days=1)]


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


def test_beds_with_their_admissions_are_also_projected_as_stock_and_flow() -> None:
    beds = occupancy(days=200)
    config = replace(CONFIG, ensemble=replace(CONFIG.ensemble, use_prophet=False), backfill_per_run=8)
    outcome, _ = forecast_series(beds, config)
    assert outcome.status is SeriesStatus.OK
    assert set(outcome.parameters["weights"]) == {"flow", "trend7", "trend14", "recent3", "last"}
    without, _ = forecast_series(replace(beds, inflow=None), config)
    assert "flow" not in without.parameters["weights"]
    # Admissions doubled over the last week, the beds have not filled yet: the forecast sees them coming.
    assert beds.inflow is not None
    surge = replace(beds, inflow=np.concatenate([beds.inflow[:-7], 2 * beds.inflow[-7:]]))
    surged, _ = forecast_series(surge, config)
    assert surged.quantiles is not None and outcome.quantiles is not None
    assert surged.quantiles[6, MEDIAN_INDEX] > outcome.quantiles[6, MEDIAN_INDEX] * 1.05


def test_a_first_run_fits_more_weeks_when_too_few_errors_calibrate_a_short_horizon() -> None:
    # A week ahead: each calibration origin gives at most 7 errors, and the newest only 4 (its last days'
    # weekly level is not known yet): 3 origins give 18 < 20. The engine fits a fourth rather than fall back.
    config = replace(CONFIG, ensemble=replace(CONFIG.ensemble, horizon=7, use_prophet=False), backfill_origins=5)
    outcome, projections = forecast_series(admissions(days=70), config)
    assert outcome.status is SeriesStatus.OK, outcome.reason
    assert outcome.parameters["calibration"]["origins"] == 4 and len(projections) == 5
    # Only what the calibration needs: with 28 days ahead the 3 origins of a first run are enough.
    _, projections = forecast_series(admissions(days=70), replace(config, ensemble=replace(config.ensemble,
                                                                                            horizon=28)))
    assert len(projections) == 4
