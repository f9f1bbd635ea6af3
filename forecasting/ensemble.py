"""The forecasting model: an ensemble of level models (Prophet and simple trends) calibrated on its own past errors.

Boundary: pure computation on one series at one origin. :func:`project_levels` runs every member on the
data known at an origin and returns their level paths (:class:`Projection`, what is kept per origin to
calibrate later forecasts). :func:`forecast_distribution` turns the projection of today plus the
projections made at earlier origins into 23 quantiles per period ahead:

1. members are weighted by their past accuracy at each horizon (inverse squared mean absolute error of the
   level, recent origins counting more: a half-life of 26 weeks; equal weights without history);
2. the errors of the combined level at earlier origins, once their targets are observed, scaled by the
   volatility of the level at their origin, form the uncertainty of today's level (empirical, pooled over
   neighbouring horizons, weighted by age as above, centred on their median, rescaled by today's volatility);
3. around each sampled level, the weekday effect, the holiday effect and the count noise give the daily
   value (Monte Carlo with a fixed seed: the same inputs give the same quantiles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecasting.dataset import Series
from forecasting.levels import (
    Noise,
    Scale,
    WeekdayProfile,
    local_trend,
    model_level,
    noise_model,
    realised_levels,
    recent_level,
    scale_for,
    stock_and_flow,
    volatility,
    weekday_profile,
    weekdays,
)
from forecasting.prophet_model import ProphetConfig, fit_prophet
from forecasting.scores import LEVELS, FloatArray

MODEL_NAME = "synopse-ensemble"
# Bump when a change makes stored projections incomparable (members, scale, level definition).
MODEL_VERSION = "1.1"
PROPHET = "prophet"
# The stock-and-flow member of a stock whose inflow is known (occupancy from admissions).
FLOW = "flow"


@dataclass(frozen=True)
class MemberSpec:
    """A simple level model: a damped local trend over ``window`` periods, or (damping None) a recent mean."""

    name: str
    window: int
    damping: float | None


# Backtested on Santé publique France admissions and occupancy (README, Forecasting): a short trend that
# keeps some momentum, a longer one damped fast, and the mean of the last days, next to Prophet.
DAILY_MEMBERS = (
    MemberSpec("trend7", 7, 0.9), MemberSpec("trend14", 14, 0.7), MemberSpec("recent3", 3, None),
    MemberSpec("last", 1, None),
)
# Weekly data (backtests of weekly files; the platform's series are daily): a two-week trend damped fast and
# the last week. A three-week trend (damped 0.7) as well scored worse at 2-4 weeks on all six weekly series
# backtested (SpF admissions, occupancy, ICU, the regional ED and SOS Médecins rates): it carries a wave's
# momentum past its turn.
WEEKLY_MEMBERS = (MemberSpec("trend2", 2, 0.5), MemberSpec("recent1", 1, None))


@dataclass(frozen=True)
class EnsembleConfig:
    """Settings of the ensemble and its calibration (``SYNOPSE_FORECAST__*`` in the platform)."""

    horizon: int = 28
    prophet: ProphetConfig = field(default_factory=ProphetConfig)
    use_prophet: bool = True
    # Past origins (weekly) whose errors calibrate today's forecast: two years at most, so that errors of
    # another regime fade out (a longer memory of waves scored better than one year on SpF data).
    calibration_origins: int = 104
    # Errors needed at a horizon before its quantiles are trusted; fewer borrow from shorter horizons.
    min_errors: int = 20
    # Errors of horizons within +-3 days are pooled: neighbouring horizons err alike, and a single
    # horizon's handful of errors makes ragged quantiles (pooling +-h/3 at short horizons scored worse).
    pool: int = 3
    weight_power: float = 2.0
    # Errors scale with the square root of the level's recent volatility (1 would over-react to a calm week).
    volatility_power: float = 0.5
    samples: int = 4000
    seed: int = 0
    # Past errors count less as they age, halving every 26 weeks (member weights and error pool alike): the
    # waves of 2022-2023 erred differently from those of 2021. On the SpF backtest it improved admissions at
    # 21-28 days and the 50 % coverage of occupancy at every horizon, and changed nothing beyond noise on
    # ICU admissions and occupancy (13 weeks: better 21-28 days, noisier elsewhere; 39: in between).
    error_halflife_weeks: float | None = 26.0

    def members(self, freq: str) -> tuple[MemberSpec, ...]:
        return DAILY_MEMBERS if freq == "D" else WEEKLY_MEMBERS


@dataclass(frozen=True)
class Projection:
    """Level paths of every member from one origin (model scale), the level's volatility there, and the
    holiday effect of the days ahead: what is kept per origin to calibrate later forecasts."""

    origin: pd.Timestamp
    members: Mapping[str, FloatArray]
    volatility: float
    holiday_effect: FloatArray


@dataclass(frozen=True)
class OriginState:
    """Everything known at the origin besides the projection: scale, weekday profile, noise, holidays."""

    scale: Scale
    profile: WeekdayProfile
    noise: Noise
    holiday_effect: FloatArray
    prophet_parameters: dict[str, Any] | None


def origin_state(series: Series, holiday_effect: FloatArray, prophet_parameters: dict[str, Any] | None = None) -> (
    OriginState
):
    """Scale, weekday profile and noise of ``series`` at its last date (cheap: no model is fitted)."""
    scale = scale_for(series)
    if series.freq == "D":
        profile = weekday_profile(series.values, series.dates, multiplicative=scale.log)
    else:
        profile = WeekdayProfile.flat(scale.log)
    return OriginState(scale, profile, noise_model(series, profile, scale), holiday_effect, prophet_parameters)


def project_levels(series: Series, config: EnsembleConfig, *, with_prophet: bool | None = None) -> tuple[
    Projection, OriginState
]:
    """Run every member on ``series`` (the data known at its last date) and project the level."""
    scale = scale_for(series)
    if series.freq == "D":
        profile = weekday_profile(series.values, series.dates, multiplicative=scale.log)
    else:
        profile = WeekdayProfile.flat(scale.log)
    level = model_level(series, scale, profile)
    horizon = config.horizon
    members: dict[str, FloatArray] = {}
    for spec in config.members(series.freq):
        if spec.damping is None:
            members[spec.name] = recent_level(level, spec.window, horizon)
        else:
            members[spec.name] = local_trend(level, spec.window, spec.damping, horizon)
    if series.inflow is not None and scale.log:
        # Admissions ahead follow the first damped trend member's settings (a week, damped 0.9 a day).
        trend = next(spec for spec in config.members(series.freq) if spec.damping is not None)
        damping = trend.damping if trend.damping is not None else 1.0
        members[FLOW] = stock_and_flow(level, series.inflow, scale, horizon, period_days=series.period_days,
                                       window=trend.window, damping=damping)
    holiday_effect = np.zeros(horizon)
    parameters = None
    if config.use_prophet if with_prophet is None else with_prophet:
        fit = fit_prophet(series, scale, horizon, config.prophet)
        members[PROPHET] = fit.level
        holiday_effect = fit.holiday_effect
        parameters = fit.parameters
    projection = Projection(series.dates[-1], members, volatility(level, series.period_days), holiday_effect)
    return projection, OriginState(scale, profile, noise_model(series, profile, scale), holiday_effect, parameters)


class NotCalibrated(Exception):
    """Too few past forecasts with observed targets to calibrate the intervals."""


@dataclass(frozen=True)
class Distribution:
    quantiles: FloatArray  # horizon x 23, on the scale of the data
    weights: dict[str, list[float]]  # member -> weight per horizon
    errors_used: list[int]  # per horizon


def _weights(
    names: Sequence[str], errors: FloatArray, horizon: int, width: int, config: EnsembleConfig, ages: FloatArray,
) -> FloatArray:
    """Weights (members x horizon) from each member's past mean absolute level error near each horizon.

    ``errors`` is members x past origins x horizon; ``ages`` weighs each past origin's errors in that mean
    (:func:`age_weights`).

    A horizon without enough errors yet takes the weights of the horizon before it; equal weights when
    there is no history at all.
    """
    weights = np.full((len(names), horizon), 1.0 / len(names))
    accuracy = _mean_abs_error(errors, width, ages, config.min_errors)
    accuracy = 1.0 / np.maximum(accuracy, 1e-9) ** config.weight_power
    for h in range(horizon):
        if np.isnan(accuracy[:, h]).any():
            if h > 0:
                weights[:, h] = weights[:, h - 1]
            continue
        weights[:, h] = accuracy[:, h] / accuracy[:, h].sum()
    return weights


def _mean_abs_error(errors: FloatArray, width: int, ages: FloatArray, min_errors: int) -> FloatArray:
    """Per horizon, the mean absolute error over the horizons within ``width``, each origin's errors
    weighted by ``ages``; NaN where fewer than ``min_errors`` errors are known (window sums, no loop).

    ``errors`` is past origins x horizon, or members x past origins x horizon (then one row per member).
    """
    known = ~np.isnan(errors)
    by_origin = ages[:, None]
    weighted = np.where(known, np.abs(np.nan_to_num(errors)), 0.0) * by_origin

    def window_sums(columns: FloatArray) -> FloatArray:
        total = np.concatenate([np.zeros((*columns.shape[:-1], 1)), np.cumsum(columns, axis=-1)], axis=-1)
        h = np.arange(columns.shape[-1])
        upper, lower = np.minimum(h + width + 1, columns.shape[-1]), np.maximum(h - width, 0)
        return np.asarray(total[..., upper] - total[..., lower])

    count = window_sums(known.sum(axis=-2).astype(np.float64))
    mass = window_sums((known * by_origin).sum(axis=-2))
    error = window_sums(weighted.sum(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = error / mass
    return np.asarray(np.where(count >= min_errors, mean, np.nan), dtype=np.float64)


def _error_pool(
    errors: FloatArray, h: int, width: int, config: EnsembleConfig, ages: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Errors for horizon index ``h`` and their weights (their origin's ``ages`` weight): pooled neighbours;
    if too few, every horizon rescaled to this one."""
    block = errors[:, max(0, h - width): h + width + 1]
    ok = ~np.isnan(block)
    if ok.sum() >= config.min_errors:
        return block[ok], np.broadcast_to(ages[:, None], block.shape)[ok]
    # Too few at this horizon (long horizons are observed last): borrow every horizon's errors, rescaled
    # as a random walk's would be (by the square root of the ratio of horizons).
    scaled = errors * np.sqrt((h + 1) / (np.arange(errors.shape[1]) + 1))[None, :]
    ok = ~np.isnan(scaled)
    return scaled[ok], np.broadcast_to(ages[:, None], scaled.shape)[ok]


def age_weights(origin: pd.Timestamp, past: Sequence[pd.Timestamp], halflife_weeks: float | None) -> FloatArray:
    """Weight of each past origin's errors: 1 for the newest possible, halving every ``halflife_weeks``."""
    if not halflife_weeks:
        return np.ones(len(past))
    ages = np.array([(origin - o).days / 7 for o in past], dtype=np.float64)
    return np.asarray(0.5 ** (ages / halflife_weeks), dtype=np.float64)


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """Quantile ``q`` of ``values`` under ``weights`` (midpoint rule; the usual quantile for equal weights)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    c = np.cumsum(w) - 0.5 * w
    return float(np.interp(q * w.sum(), c, v))


def forecast_distribution(
    series: Series, projection: Projection, state: OriginState, history: Sequence[Projection],
    config: EnsembleConfig, *, horizons: Sequence[int] | None = None, samples: int | None = None,
) -> Distribution:
    """Quantiles of the periods after ``series``'s last date, calibrated on ``history`` (earlier origins).

    ``horizons`` (1-based) limits the work to those periods ahead (the others are NaN): scoring needs a few.

    Raises:
        NotCalibrated: fewer than ``config.min_errors`` past level errors, even borrowing shorter horizons.
    """
    horizon = config.horizon
    names = sorted(projection.members)
    past = [p for p in history if p.origin < projection.origin and set(names) <= set(p.members)]
    past = sorted(past, key=lambda p: p.origin)[-config.calibration_origins:]
    actual = _realised_after(series, realised_levels(series, state.scale), [p.origin for p in past], horizon)
    # Level paths of every member at every past origin: members x origins x horizon.
    paths = np.array([[p.members[name] for p in past] for name in names]).reshape(len(names), len(past), horizon)
    # The pool spans +-3 days: neighbouring days for daily data, each week on its own for weekly data.
    width = config.pool // series.period_days
    ages = age_weights(projection.origin, [p.origin for p in past], config.error_halflife_weeks)
    weights = _weights(names, actual[None, :, :] - paths, horizon, width, config, ages)
    combined = np.sum(weights * np.array([projection.members[name] for name in names]), axis=0)
    past_combined = np.sum(weights[:, None, :] * paths, axis=0)
    scale_past = np.array([p.volatility for p in past]) ** config.volatility_power
    errors = (actual - past_combined) / (scale_past[:, None] if len(past) else 1.0)
    scale_now = projection.volatility**config.volatility_power

    rng = np.random.default_rng(config.seed)
    future = series.future_dates(horizon)
    days = weekdays(future)
    quantiles = np.full((horizon, LEVELS.size), np.nan)
    used = []
    drawn: list[FloatArray] = []
    wanted = range(horizon) if horizons is None else sorted(h - 1 for h in horizons if 1 <= h <= horizon)
    draws = config.samples if samples is None else samples
    for h in wanted:
        pool, pool_weights = _error_pool(errors, h, width, config, ages)
        if pool.size < config.min_errors:
            raise NotCalibrated(f"{pool.size} past errors at horizon {h + 1} (at least {config.min_errors} needed)")
        used.append(int(pool.size))
        # Centred: the members give the centre, past errors only the spread. A bias learnt in one phase of an
        # epidemic (under-forecasting a rise) misleads in the next; centring scored better at every daily
        # horizon of the SpF admissions backtest and on average for occupancy.
        pool = pool - weighted_quantile(pool, pool_weights, 0.5)
        level = combined[h] + _weighted_draws(rng, pool, pool_weights, draws) * scale_now
        mean = state.scale.inverse(level + state.holiday_effect[h])
        if series.freq == "D":
            mean = state.profile.apply(mean, np.full(mean.shape, days[h]))
        values = state.noise.draw(mean, rng)
        if state.scale.log:
            values = np.maximum(values, 0.0)
        if series.upper_bound is not None:
            values = np.minimum(values, series.upper_bound)
        drawn.append(values)
    if drawn:
        quantiles[list(wanted)] = np.quantile(np.array(drawn), LEVELS, axis=1).T
    return Distribution(
        quantiles=quantiles,
        weights={name: np.round(weights[i], 4).tolist() for i, name in enumerate(names)},
        errors_used=used,
    )


def _weighted_draws(rng: np.random.Generator, values: FloatArray, weights: FloatArray, size: int) -> FloatArray:
    """``rng.choice(values, size, p=weights / weights.sum())`` without its checks (the same draws, faster)."""
    cdf = np.cumsum(weights)
    return np.asarray(values[np.searchsorted(cdf / cdf[-1], rng.random(size), side="right")], dtype=np.float64)


def _realised_after(series: Series, realised: FloatArray, origins: Sequence[pd.Timestamp], horizon: int) -> FloatArray:
    """Realised levels of the ``horizon`` periods after each origin (NaN where not known yet)."""
    out = np.full((len(origins), horizon), np.nan)
    step = series.period_days
    for row, origin in enumerate(origins):
        first = (origin - series.dates[0]).days // step + 1
        stop = min(first + horizon, realised.size)
        if 0 <= first < stop:
            out[row, : stop - first] = realised[first:stop]
    return out
