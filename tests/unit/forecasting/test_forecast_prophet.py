"""Prophet set-up: components read from the fitted parameters equal Prophet's own prediction; JSON parameters."""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from prophet import Prophet

from forecasting.dataset import regular_series
from forecasting.levels import Scale
from forecasting.prophet_model import (
    ProphetConfig,
    _components_ahead,
    _prophet_class,
    fit_prophet,
    french_holidays,
    quiet_prophet,
)


@pytest.mark.parametrize("growth", ["linear", "logistic"])
def test_components_equal_prophets_prediction(growth: Literal["linear", "logistic"]) -> None:
    quiet_prophet()
    rng = np.random.default_rng(0)
    ds = pd.date_range("2025-09-01", periods=120)  # holds All Saints' Day and Armistice Day
    frame = pd.DataFrame({"ds": ds, "y": np.log1p(rng.poisson(30, 120)).astype(float), "r": rng.normal(20, 3, 120)})
    holidays = french_holidays(ds[0], ds[-1] + pd.Timedelta(days=60), "FR")
    cap = None
    if growth == "logistic":
        cap = 5.0
        frame["cap"], frame["floor"] = cap, 0.0
    model = Prophet(growth=growth, changepoints=list(pd.date_range(ds[7], ds[-8], freq="7D")), holidays=holidays,
                    weekly_seasonality=True, yearly_seasonality=False, daily_seasonality=False, uncertainty_samples=0)
    model.add_regressor("r")
    model.fit(frame)
    future = pd.DataFrame({"ds": pd.date_range(ds[-1], periods=40)})  # Christmas and New Year ahead
    future["r"] = 22.0
    if cap is not None:
        future["cap"], future["floor"] = cap, 0.0
    expected = model.predict(future)
    trend, holiday, regressor = _components_ahead(model, future, holidays, cap)
    assert trend == pytest.approx(expected["trend"].to_numpy())
    assert holiday == pytest.approx(expected["holidays"].to_numpy())
    assert regressor == pytest.approx(expected["extra_regressors_additive"].to_numpy())
    assert holiday[future["ds"].isin(holidays["ds"]).to_numpy()].any() or holiday.sum() == 0


def test_fit_gives_a_level_path_and_json_parameters() -> None:
    rng = np.random.default_rng(1)
    days = pd.date_range("2025-01-01", periods=150)
    series = regular_series(days, rng.poisson(20 * np.exp(np.arange(150) * 0.005)).astype(float),
                            regressors={"temperature_max": 15 + rng.normal(0, 3, 150)})
    fit = fit_prophet(series, Scale(log=True), 28, ProphetConfig())
    assert fit.level.shape == (28,) and fit.holiday_effect.shape == (28,)
    assert np.isfinite(fit.level).all() and abs(fit.level[0] - np.log1p(20 * np.exp(149 * 0.005))) < 0.3
    parameters = json.loads(json.dumps(fit.parameters))
    assert parameters["growth"] == "linear" and parameters["window"] == ["2025-01-31", "2025-05-30"]
    assert parameters["regressors"]["temperature_max"]["lag_periods"] == 2
    assert parameters["regressors"]["temperature_max"]["future"] == "persistence"  # under a year of history
    assert len(parameters["changepoints"]) == 16 and parameters["holidays"] == "jour_ferie"
    assert set(parameters["fitted"]) >= {"k", "m", "delta", "beta", "sigma_obs"}


@pytest.mark.parametrize(("growth", "with_holidays", "regressors"), [
    ("linear", True, ("r",)), ("logistic", True, ()), ("linear", False, ("r", "s")), ("linear", False, ()),
])
def test_fast_component_matrix_equals_prophets(
    growth: Literal["linear", "logistic"], with_holidays: bool, regressors: tuple[str, ...]
) -> None:
    """The faster Prophet builds the same component matrix, the same modes and so the same fit as Prophet."""
    quiet_prophet()
    rng = np.random.default_rng(2)
    ds = pd.date_range("2025-09-01", periods=120)
    frame = pd.DataFrame({"ds": ds, "y": np.log1p(rng.poisson(30, 120)).astype(float)})
    for name in regressors:
        frame[name] = rng.normal(20, 3, 120)
    if growth == "logistic":
        frame["cap"], frame["floor"] = 5.0, 0.0
    holidays = french_holidays(ds[0], ds[-1], "FR") if with_holidays else None
    fitted = []
    for cls in (Prophet, _prophet_class()):
        model = cls(growth=growth, changepoints=list(pd.date_range(ds[7], ds[-8], freq="7D")), holidays=holidays,
                    weekly_seasonality=True, yearly_seasonality=False, daily_seasonality=False, uncertainty_samples=0)
        for name in regressors:
            model.add_regressor(name)
        fitted.append(model.fit(frame))
    prophet, fast = fitted
    assert fast.train_component_cols is not None and prophet.train_component_cols is not None
    assert fast.train_component_cols.equals(prophet.train_component_cols)
    assert fast.component_modes == prophet.component_modes
    for name in ("k", "m", "delta", "beta"):
        assert np.asarray(fast.params[name]) == pytest.approx(np.asarray(prophet.params[name]))
