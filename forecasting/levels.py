"""The level of a series and the simple models of its future: weekday profile, local trends, noise around the level.

Boundary: pure numpy on one regular series. The forecast is built in two layers. The *level* is the
weekly mean (daily data) or the value itself (weekly data), on a log scale (log1p) for non-negative
series: epidemics grow and decay multiplicatively. Level models project it; the past errors of those
projections give its uncertainty (``forecasting.calibration``). Around the level, daily values scatter
by weekday (fewer admissions at weekends) and by chance (counts): the *weekday profile* and the *noise*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.dataset import Series, fill_gaps
from forecasting.scores import FloatArray

# The weekday profile is estimated over the last 8 weeks: long enough for each weekday to be seen 8
# times, short enough to follow a change of practice (a weekend service opening or closing).
PROFILE_WEEKS = 8
# The noise around the level is measured over the same 8 weeks.
NOISE_WEEKS = 8
# A daily level is the centred 7-day mean: one whole week, so the weekday pattern cancels out.
LEVEL_WINDOW_DAYS = 7
# Recent volatility of the level: the root mean square of its week-on-week change over the last 4 weeks,
# plus this floor (5 % a week on the log scale) so that a flat spell does not promise a flat future.
VOLATILITY_WEEKS = 4
VOLATILITY_FLOOR = 0.05


@dataclass(frozen=True)
class Scale:
    """The scale levels are modelled on: log1p for non-negative series, the values themselves otherwise."""

    log: bool

    def forward(self, values: npt.ArrayLike) -> FloatArray:
        x = np.asarray(values, dtype=np.float64)
        return np.log1p(np.maximum(x, 0.0)) if self.log else x

    def inverse(self, values: npt.ArrayLike) -> FloatArray:
        x = np.asarray(values, dtype=np.float64)
        return np.maximum(np.expm1(x), 0.0) if self.log else x


def scale_for(series: Series) -> Scale:
    observed = series.values[~np.isnan(series.values)]
    return Scale(log=bool(observed.size == 0 or observed.min() >= 0))


def weekdays(dates: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    return np.asarray(dates.day_of_week, dtype=np.int64)


def centred_mean(values: FloatArray, window: int) -> FloatArray:
    """Centred moving mean of an odd ``window`` (NaN where the window is not complete or holds a NaN)."""
    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.size, np.nan)
    if x.size >= window:
        half = window // 2
        out[half: x.size - half] = np.convolve(x, np.ones(window) / window, mode="valid")
    return out


@dataclass(frozen=True)
class WeekdayProfile:
    """Multiplicative (log scale) or additive weekday effects, mean 1 (resp. 0) over the week."""

    effects: FloatArray  # Monday first
    multiplicative: bool

    @classmethod
    def flat(cls, multiplicative: bool) -> WeekdayProfile:
        return cls(np.ones(7) if multiplicative else np.zeros(7), multiplicative)

    def remove(self, values: FloatArray, days: npt.NDArray[np.int64]) -> FloatArray:
        e = self.effects[days]
        return values / e if self.multiplicative else values - e

    def apply(self, values: FloatArray, days: npt.NDArray[np.int64]) -> FloatArray:
        e = self.effects[days]
        return values * e if self.multiplicative else values + e


def weekday_profile(values: FloatArray, dates: pd.DatetimeIndex, multiplicative: bool) -> WeekdayProfile:
    """Each weekday's ratio to (or difference from) the centred weekly mean, over the last weeks."""
    n = PROFILE_WEEKS * 7 + LEVEL_WINDOW_DAYS // 2
    x, days = values[-n:], weekdays(dates)[-n:]
    level = centred_mean(x, LEVEL_WINDOW_DAYS)
    ok = ~np.isnan(level) & ~np.isnan(x)
    effects = np.ones(7) if multiplicative else np.zeros(7)
    for day in range(7):
        rows = ok & (days == day)
        if not rows.any():
            continue
        if multiplicative:
            if level[rows].sum() > 0 and x[rows].sum() > 0:
                effects[day] = x[rows].sum() / level[rows].sum()
        else:
            effects[day] = float(np.mean(x[rows] - level[rows]))
    effects = effects / effects.mean() if multiplicative else effects - effects.mean()
    return WeekdayProfile(effects, multiplicative)


def realised_levels(series: Series, scale: Scale) -> FloatArray:
    """The level of every period on the model scale (NaN where it is not known yet: the last 3 days)."""
    if series.freq == "D":
        return scale.forward(centred_mean(series.values, LEVEL_WINDOW_DAYS))
    return scale.forward(series.values)


def local_trend(level: FloatArray, window: int, damping: float, horizon: int) -> FloatArray:
    """Straight line fitted on the last ``window`` levels, extrapolated with its slope damped each period.

    The level ``h`` periods ahead is ``a + b (phi + phi^2 + ... + phi^h)``: epidemic growth does not go on
    for ever; damping lets a wave's momentum carry for a few periods and fade.
    """
    y = level[-window:]
    x = np.arange(1 - y.size, 1, dtype=np.float64)
    if y.size < 2:
        return np.full(horizon, float(y[-1]))
    slope, intercept = np.polyfit(x, y, 1)
    return np.asarray(intercept + slope * np.cumsum(damping ** np.arange(1, horizon + 1)), dtype=np.float64)


def recent_level(level: FloatArray, window: int, horizon: int) -> FloatArray:
    """The mean of the last ``window`` levels carried forward."""
    return np.full(horizon, float(np.mean(level[-window:])))


# The share of the stock leaving each day is measured over the last 4 weeks (whole weeks: discharges and
# admissions have weekday patterns of their own).
TURNOVER_WEEKS = 4


def stock_and_flow(
    level: FloatArray, inflow: FloatArray, scale: Scale, horizon: int, *, period_days: int, window: int,
    damping: float,
) -> FloatArray:
    """A stock (beds occupied) projected from what enters it (admissions): ``x' = x (1 - r) + a``.

    ``r``, the share of the stock leaving each period, is what the last 4 weeks show (arrivals minus the
    change of the stock, over the stock); arrivals ahead follow their own damped local trend over the last
    ``window`` periods (on the log scale). Occupancy turns a few days after admissions do: this member sees
    a wave's turn in the admissions before the stock itself bends. ``level``: the deseasonalised stock on
    the model scale.
    """
    stock = scale.inverse(level)
    arrivals = fill_gaps(np.asarray(inflow, dtype=np.float64))
    periods = max(2, TURNOVER_WEEKS * 7 // period_days)
    if np.isnan(arrivals).all() or stock.size <= periods:
        return np.full(horizon, float(level[-1]))
    before, after, came = stock[-periods - 1:-1], stock[-periods:], arrivals[-periods:]
    left = float(np.sum(came) - (after[-1] - before[0]))
    rate = min(1.0, max(0.0, left / max(float(np.sum(before)), 1e-9)))
    week = max(1, 7 // period_days)
    recent = pd.Series(arrivals).rolling(week, min_periods=1).mean().to_numpy()
    ahead = np.maximum(np.expm1(local_trend(np.log1p(np.maximum(recent, 0.0)), window, damping, horizon)), 0.0)
    path = np.empty(horizon)
    x = float(stock[-1])
    for h in range(horizon):
        x = x * (1.0 - rate) + float(ahead[h])
        path[h] = x
    return scale.forward(path)


def volatility(level: FloatArray, period_days: int) -> float:
    """Recent root-mean-square change of the level over a week (or a period, for weekly data)."""
    lag = max(1, 7 // period_days)
    weeks = VOLATILITY_WEEKS * 7 // period_days
    smooth = pd.Series(level).rolling(lag, min_periods=1).mean().to_numpy()
    change = (smooth[lag:] - smooth[:-lag])[-weeks:]
    change = change[~np.isnan(change)]
    rms = float(np.sqrt(np.mean(change**2))) if change.size else 0.0
    return rms + VOLATILITY_FLOOR


@dataclass(frozen=True)
class Noise:
    """Scatter of daily values around level x weekday effect, standardised: ``y = mu + spread(mu) * z``.

    Counts: ``spread = sqrt(mu + mu^2 / k)`` (negative binomial variance; ``inv_k`` = 1/k estimated by the
    method of moments, 0 when the counts are no more dispersed than Poisson). Other positive series:
    ``spread = mu`` (relative scatter). Series with negative values: ``spread = 1`` (absolute scatter).
    ``z`` keeps the empirical shape: reporting catch-ups and holidays make the tails heavier than any
    textbook law.
    """

    z: FloatArray
    kind: str  # counts, relative, absolute
    inv_k: float = 0.0

    def spread(self, mu: FloatArray) -> FloatArray:
        if self.kind == "counts":
            return np.sqrt(np.maximum(mu, 0.0) + self.inv_k * mu**2)
        if self.kind == "relative":
            return np.abs(mu)
        return np.ones_like(mu)

    def draw(self, mu: FloatArray, rng: np.random.Generator) -> FloatArray:
        if self.z.size == 0:
            return mu
        return np.asarray(mu + self.spread(mu) * rng.choice(self.z, size=mu.shape), dtype=np.float64)


def noise_model(series: Series, profile: WeekdayProfile, scale: Scale) -> Noise:
    """Measure the scatter of the last weeks around their centred weekly mean times the weekday effect."""
    kind = "counts" if series.counts else ("relative" if scale.log else "absolute")
    if series.freq != "D":
        return Noise(np.zeros(0), kind)
    half = LEVEL_WINDOW_DAYS // 2
    n = NOISE_WEEKS * 7 + 2 * half
    values = series.values[-n:]
    mu = profile.apply(centred_mean(values, LEVEL_WINDOW_DAYS), weekdays(series.dates[-n:]))
    ok = ~np.isnan(mu) & ~np.isnan(values)
    y, mu = values[ok], mu[ok]
    inv_k = 0.0
    if kind == "counts":
        positive = mu > 0
        y, mu = y[positive], mu[positive]
        if mu.size:
            inv_k = max(0.0, float(np.mean(((y - mu) ** 2 - mu) / mu**2)))
    elif kind == "relative":
        positive = mu > 0
        y, mu = y[positive], mu[positive]
    noise = Noise(np.zeros(0), kind, inv_k)
    if mu.size < 7:
        return noise
    return Noise(np.asarray((y - mu) / noise.spread(mu), dtype=np.float64), kind, inv_k)


def model_level(series: Series, scale: Scale, profile: WeekdayProfile) -> FloatArray:
    """The deseasonalised series on the model scale, gaps filled: what level models are fitted on."""
    values = fill_gaps(series.values)
    if series.freq == "D":
        values = profile.remove(values, weekdays(series.dates))
    return scale.forward(values)
