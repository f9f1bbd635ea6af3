"""Prophet, the main model: a trend that bends every week, weekly and yearly seasonality, holidays, regressors.

Boundary: fits one Prophet model on one series (model scale: log1p for non-negative series) and returns
the projected *level* (the damped trend plus the regressors' effect), the holiday effect of the days
ahead, and the fitted parameters as JSON-safe data. Quantiles are not Prophet's: its intervals assume
the trend keeps changing as in the past at a constant rate and are far too narrow on epidemics; the
calibration layer builds them from past errors instead.

What the backtests on Santé publique France data kept (see README, Forecasting):
- a recent window (120 days) with a changepoint every week up to a week before the end, so the trend
  follows the turns of a wave; the full history with yearly seasonality did worse on epidemic series;
- the trend's last slope damped (0.9 a day), instead of Prophet's straight-line extrapolation;
- all French public holidays as one effect ("jour férié"), seen several times in a window, rather than one
  effect per holiday, seen once;
- logistic growth capped at the beds that can exist for occupancy (``Series.upper_bound``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from forecasting.dataset import Series, fill_gaps
from forecasting.levels import Scale
from forecasting.scores import FloatArray

log = logging.getLogger(__name__)

HOLIDAY_NAME = "jour_ferie"
Mode = Literal["additive", "multiplicative"]
# Climatology of a regressor (its mean on the same days of past years) needs a year of its history; before
# that, its future is its mean of the last week.
CLIMATOLOGY_MIN_DAYS = 365
CLIMATOLOGY_HALF_WINDOW_DAYS = 7
PERSISTENCE_DAYS = 7


@dataclass(frozen=True)
class ProphetConfig:
    """How Prophet is set up; every number is a setting (``SYNOPSE_FORECAST__*``) with the default backtested."""

    window_days: int = 120
    changepoint_every_days: int = 7
    # No changepoint in the last week: a trend change must be seen for a few days before the model bends.
    changepoint_stop_days: int = 7
    changepoint_prior_scale: float = 0.5
    damping: float = 0.9  # per day; per period for weekly data: damping ** 7
    holidays_country: str | None = "FR"
    # Lag of each regressor in days: health effects follow heat by 0-3 days and pollution by 0-2 days.
    regressor_lags: Mapping[str, int] = field(default_factory=dict)
    default_regressor_lag_days: int = 2


@dataclass(frozen=True)
class ProphetFit:
    level: FloatArray  # model scale, one value per period ahead
    holiday_effect: FloatArray  # model scale, added to the level of holidays ahead (0 elsewhere)
    parameters: dict[str, Any]


def _component_matrix(
    columns: Sequence[str], holiday_names: Sequence[str] | None, modes: dict[Mode, list[str]],
    extra_regressors: Mapping[str, Mapping[str, Any]], holidays_mode: Mode,
) -> tuple[pd.DataFrame, dict[Mode, list[str]]]:
    """Prophet's ``regressor_column_matrix`` in plain Python: the same frame and modes, without ``crosstab``.

    Prophet builds this indicator matrix (feature column x component) with ``pd.crosstab`` and repeated
    ``concat``: about a quarter of a fit on a 120-day window, for a few dozen cells. Same semantics: each
    group component holds the columns of the components named in it at the time it is added.
    """
    pairs = [(col, name.split("_delim_")[0]) for col, name in enumerate(columns)]

    def add_group(name: str, group: Sequence[str]) -> None:
        wanted = set(group)
        cols = list(dict.fromkeys(col for col, component in pairs if component in wanted))
        pairs.extend((col, name) for col in cols)

    if holiday_names is not None:
        add_group("holidays", list(dict.fromkeys(holiday_names)))
    mode: Mode
    for mode in ("additive", "multiplicative"):
        add_group(mode + "_terms", modes[mode])
        add_group("extra_regressors_" + mode, [r for r, props in extra_regressors.items() if props["mode"] == mode])
        modes[mode].append(mode + "_terms")
        modes[mode].append("extra_regressors_" + mode)
    modes[holidays_mode].append("holidays")
    names = sorted({component for _, component in pairs})
    matrix = np.zeros((len(columns), len(names)), dtype=np.int64)
    position = {name: i for i, name in enumerate(names)}
    for col, component in pairs:
        matrix[col, position[component]] += 1
    frame = pd.DataFrame(matrix, index=pd.Index(range(len(columns)), name="col"),
                         columns=pd.Index(names, name="component"))
    for name in ("additive_terms", "multiplicative_terms"):
        if name not in frame:
            frame[name] = 0
    frame = frame.drop(columns="zeros", errors="ignore")
    if int((frame["additive_terms"] + frame["multiplicative_terms"]).max()) > 1:
        raise RuntimeError("a feature column is both additive and multiplicative")
    return frame, modes


@functools.cache
def _prophet_class() -> type[Any]:
    """Prophet with the faster component matrix (only ever fitted: ``predict`` is not used, see below)."""
    from prophet import Prophet

    class FastProphet(Prophet):
        def regressor_column_matrix(
            self, seasonal_features: pd.DataFrame, modes: dict[Mode, list[str]]
        ) -> tuple[pd.DataFrame, dict[Mode, list[str]]]:
            holiday_names = None if self.train_holiday_names is None else list(self.train_holiday_names)
            return _component_matrix(list(seasonal_features.columns), holiday_names, modes, self.extra_regressors,
                                     self.holidays_mode)

    return FastProphet


def quiet_prophet() -> None:
    """Keep Prophet and cmdstanpy quiet (they log every fit at INFO and add their own handler)."""
    from cmdstanpy.utils import get_logger

    # A failed L-BFGS run is logged as an error by cmdstanpy and then retried by Prophet with Newton's method:
    # routine on short windows. A fit that really fails raises, and the series' outcome says so.
    get_logger().setLevel(logging.CRITICAL)
    logging.getLogger("prophet").setLevel(logging.ERROR)


def french_holidays(first: pd.Timestamp, last: pd.Timestamp, country: str) -> pd.DataFrame:
    import holidays

    days = holidays.country_holidays(country, years=range(first.year, last.year + 1))
    dates = sorted(pd.Timestamp(day) for day in days if first <= pd.Timestamp(day) <= last)
    return pd.DataFrame({"holiday": HOLIDAY_NAME, "ds": pd.DatetimeIndex(dates)})


def _regressor_path(
    name: str, history: FloatArray, dates: pd.DatetimeIndex, lag: int, future: pd.DatetimeIndex
) -> tuple[FloatArray, FloatArray, str]:
    """The lagged regressor over the fitted dates and the days ahead; unknown values from a scenario."""
    observed = pd.Series(fill_gaps(history), index=dates)
    known_until = dates[-1]
    every = dates.append(future)
    source = every - pd.Timedelta(days=lag)
    values = np.array(observed.reindex(source).to_numpy(dtype=np.float64), copy=True)  # writable under copy-on-write
    unknown = np.asarray(source > known_until)
    scenario = "persistence"
    if unknown.any():
        span = (dates[-1] - dates[0]).days
        if span >= CLIMATOLOGY_MIN_DAYS:
            scenario = "climatology"
            doy = np.asarray(dates.day_of_year)
            history_values = observed.to_numpy(dtype=np.float64)
            for i in np.flatnonzero(unknown):
                distance = np.abs((doy - pd.Timestamp(source[int(i)]).day_of_year + 182) % 365 - 182)
                values[i] = float(history_values[distance <= CLIMATOLOGY_HALF_WINDOW_DAYS].mean())
        else:
            values[unknown] = float(np.nanmean(observed.to_numpy()[-PERSISTENCE_DAYS:]))
    values = fill_gaps(np.asarray(values, dtype=np.float64))
    n = len(dates)
    return values[:n], values[n:], scenario


def fit_prophet(series: Series, scale: Scale, horizon: int, config: ProphetConfig) -> ProphetFit:
    """Fit on the recent window of ``series`` and project its level ``horizon`` periods ahead."""
    quiet_prophet()
    period = series.period_days
    window = max(config.window_days // period, 26 if series.freq == "W" else 14)
    dates = series.dates[-window:]
    y = scale.forward(series.values[-window:])
    y[np.isnan(series.values[-window:])] = np.nan
    frame = pd.DataFrame({"ds": dates, "y": y})
    future = series.future_dates(horizon)
    span_days = (dates[-1] - dates[0]).days

    every = pd.Timedelta(days=max(config.changepoint_every_days, period))
    stop = dates[-1] - pd.Timedelta(days=max(config.changepoint_stop_days, 2 * period))
    changepoints = list(pd.date_range(dates[0] + every, stop, freq=every)) if stop > dates[0] + every else []

    growth: Literal["linear", "logistic"] = "linear"
    cap = None
    if series.upper_bound is not None and scale.log:
        # Prophet's logistic growth needs the history below the cap: a capacity cut below past occupancy
        # lifts the cap to just above what was seen.
        bound = float(scale.forward(series.upper_bound))
        cap = max(bound, float(np.nanmax(y)) * 1.02 + 1e-6)
        growth = "logistic"
        frame["cap"], frame["floor"] = cap, 0.0

    holidays_frame = None
    if series.freq == "D" and config.holidays_country:
        holidays_frame = french_holidays(dates[0], future[-1], config.holidays_country)
        if not (holidays_frame["ds"] <= dates[-1]).any():
            holidays_frame = None  # no holiday in the window: nothing to learn its effect from

    model = _prophet_class()(
        growth=growth,
        changepoints=changepoints or None,
        n_changepoints=0 if not changepoints else len(changepoints),
        weekly_seasonality=series.freq == "D" and span_days >= 14,
        yearly_seasonality=span_days >= 730,
        daily_seasonality=False,
        holidays=holidays_frame,
        changepoint_prior_scale=config.changepoint_prior_scale,
        uncertainty_samples=0,
    )
    regressors: dict[str, dict[str, Any]] = {}
    future_frame = pd.DataFrame({"ds": dates[-1:].append(future)})
    for name, values in series.regressors.items():
        recent = values[-window:]
        if np.isnan(recent).mean() > 0.5:
            continue  # mostly missing over the window: it would be mostly invented
        lag_days = config.regressor_lags.get(name, config.default_regressor_lag_days)
        lag = max(0, round(lag_days / period))
        past, ahead, scenario = _regressor_path(name, values, series.dates, lag * period, future)
        frame[name] = past[-window:]
        future_frame[name] = np.concatenate([past[-1:], ahead])
        model.add_regressor(name)
        regressors[name] = {"lag_periods": lag, "future": scenario}
    if cap is not None:
        future_frame["cap"], future_frame["floor"] = cap, 0.0

    model.fit(frame)
    trend, holiday_effect, regressor_effect = _components_ahead(model, future_frame, holidays_frame, cap)
    damping = config.damping**period
    steps = np.diff(trend) * damping ** np.arange(1, horizon + 1)
    level = trend[0] + np.cumsum(steps) + regressor_effect[1:]
    parameters = _parameters(model, config, growth, cap, regressors, dates)
    return ProphetFit(np.asarray(level, dtype=np.float64), holiday_effect[1:], parameters)


def _components_ahead(
    model: Any, future: pd.DataFrame, holidays_frame: pd.DataFrame | None, cap: float | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Trend, holiday and regressor components of Prophet's prediction on ``future`` dates (model scale).

    Computed from the fitted parameters with Prophet's own trend functions instead of ``predict``: the same
    numbers (a unit test checks it) without rebuilding every seasonal feature, a third of a fit's time.
    """
    from prophet import Prophet

    t = ((future["ds"] - model.start) / model.t_scale).to_numpy(dtype=np.float64)
    k = float(np.nanmean(model.params["k"]))
    m = float(np.nanmean(model.params["m"]))
    deltas = np.nanmean(model.params["delta"], axis=0)
    if cap is None:
        trend = Prophet.piecewise_linear(t, deltas, k, m, model.changepoints_t) * model.y_scale
    else:
        cap_scaled = np.full(t.shape, cap / model.y_scale)
        trend = Prophet.piecewise_logistic(t, cap_scaled, deltas, k, m, model.changepoints_t) * model.y_scale
    beta = np.nanmean(model.params["beta"], axis=0)
    columns = model.train_component_cols
    holiday_effect = np.zeros(t.size)
    if holidays_frame is not None and "holidays" in columns:
        on_holiday = future["ds"].isin(holidays_frame["ds"]).to_numpy()
        holiday_effect = on_holiday * float(beta[columns["holidays"].to_numpy() == 1].sum()) * model.y_scale
    regressor_effect = np.zeros(t.size)
    for name, props in model.extra_regressors.items():
        standardised = (future[name].to_numpy(dtype=np.float64) - props["mu"]) / props["std"]
        regressor_effect += float(beta[columns[name].to_numpy() == 1].sum()) * standardised * model.y_scale
    return (np.asarray(trend, dtype=np.float64), np.asarray(holiday_effect, dtype=np.float64),
            np.asarray(regressor_effect, dtype=np.float64))


def _parameters(
    model: Any, config: ProphetConfig, growth: str, cap: float | None, regressors: dict[str, dict[str, Any]],
    dates: pd.DatetimeIndex,
) -> dict[str, Any]:
    """What the fit learnt, as JSON-safe data (never a pickle): Prophet's parameters and set-up."""
    params = {name: np.asarray(value).ravel().round(6).tolist() for name, value in model.params.items()}
    for name, info in regressors.items():
        info.update(mu=float(model.extra_regressors[name]["mu"]), std=float(model.extra_regressors[name]["std"]))
    return {
        "growth": growth,
        "cap": cap,
        "window": [dates[0].date().isoformat(), dates[-1].date().isoformat()],
        "changepoints": [ts.date().isoformat() for ts in model.changepoints],
        "changepoint_prior_scale": config.changepoint_prior_scale,
        "damping_per_day": config.damping,
        "seasonalities": sorted(model.seasonalities),
        "holidays": HOLIDAY_NAME if model.holidays is not None else None,
        "regressors": regressors,
        "y_scale": float(model.y_scale),
        "fitted": params,
    }
