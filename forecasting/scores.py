"""Proper scores of quantile forecasts: weighted interval score, coverage, absolute error of the median.

Pure numpy; the definitions of the forecast hubs. With the median and K central intervals given as 2K+1
quantiles, the weighted interval score (Bracher, Ray, Gneiting and Reich 2021) is

    WIS = 1 / (K + 1/2) * (1/2 |y - m| + sum_k alpha_k / 2 * IS_alpha_k),
    IS_alpha = (u - l) + 2/alpha (l - y) 1[y < l] + 2/alpha (y - u) 1[y > u],

which equals the sum of the pinball losses of the 2K+1 quantiles divided by K + 1/2. With the 23 hub
levels, K = 11: the central intervals of nominal coverage 98 %, 95 %, 90 %, 80 %, ..., 10 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from synopse.domain.forecasts import MEDIAN_INDEX, QUANTILE_LEVELS

FloatArray = npt.NDArray[np.float64]
LEVELS: FloatArray = np.array(QUANTILE_LEVELS, dtype=np.float64)


def pinball_loss(observed: npt.ArrayLike, quantiles: npt.ArrayLike, levels: npt.ArrayLike = LEVELS) -> FloatArray:
    """Quantile (pinball) loss of each quantile; broadcasts ``observed`` over the last axis of ``quantiles``."""
    y = np.asarray(observed, dtype=np.float64)[..., None]
    q = np.asarray(quantiles, dtype=np.float64)
    tau = np.asarray(levels, dtype=np.float64)
    return np.where(y < q, (1.0 - tau) * (q - y), tau * (y - q))


def _check_levels(levels: FloatArray) -> int:
    n = levels.shape[-1]
    if n % 2 != 1 or not np.allclose(levels + levels[::-1], 1.0) or not np.isclose(levels[n // 2], 0.5):
        raise ValueError("WIS needs levels symmetric around a median (2K+1 quantiles)")
    return int(n) // 2


def weighted_interval_score(
    observed: npt.ArrayLike, quantiles: npt.ArrayLike, levels: npt.ArrayLike = LEVELS
) -> FloatArray:
    """WIS of each forecast: ``quantiles`` has the levels on its last axis, ``observed`` the other axes."""
    tau = np.asarray(levels, dtype=np.float64)
    k = _check_levels(tau)
    return np.asarray(pinball_loss(observed, quantiles, tau).sum(axis=-1) / (k + 0.5), dtype=np.float64)


def _level_index(levels: FloatArray, level: float) -> int:
    hits = np.flatnonzero(np.isclose(levels, level))
    if hits.size == 0:
        raise ValueError(f"no quantile at level {level:g}")
    return int(hits[0])


def interval_bounds(
    quantiles: npt.ArrayLike, coverage: float, levels: npt.ArrayLike = LEVELS
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper bounds of the central interval of nominal ``coverage`` (e.g. 0.5 or 0.9)."""
    tau = np.asarray(levels, dtype=np.float64)
    lower, upper = _level_index(tau, (1 - coverage) / 2), _level_index(tau, (1 + coverage) / 2)
    q = np.asarray(quantiles, dtype=np.float64)
    return q[..., lower], q[..., upper]


def covered(observed: npt.ArrayLike, quantiles: npt.ArrayLike, coverage: float,
            levels: npt.ArrayLike = LEVELS) -> npt.NDArray[np.bool_]:
    """Whether each observation falls inside the central interval (bounds included)."""
    low, high = interval_bounds(quantiles, coverage, levels)
    y = np.asarray(observed, dtype=np.float64)
    return np.asarray((y >= low) & (y <= high))


@dataclass(frozen=True)
class HorizonScore:
    """Scores of one model at one horizon over a set of origins, next to the baseline's."""

    horizon: int
    origins: int
    wis: float
    wis_baseline: float
    mae: float
    mae_baseline: float
    coverage_50: float
    coverage_90: float

    @property
    def relative_wis(self) -> float | None:
        """Mean WIS over mean baseline WIS (the hubs' relative WIS on a common set of forecasts)."""
        return self.wis / self.wis_baseline if self.wis_baseline > 0 else None


def score_horizons(
    horizons: Sequence[int] | npt.ArrayLike,
    observed: npt.ArrayLike,
    quantiles: npt.ArrayLike,
    baseline: npt.ArrayLike,
) -> list[HorizonScore]:
    """Scores per horizon of forecasts (rows) against observations, with the baseline's forecasts alongside.

    Args:
        horizons: horizon of each row.
        observed: observed value of each row's target; rows with NaN are left out (not observed yet).
        quantiles: (rows, 23) forecast quantiles.
        baseline: (rows, 23) baseline quantiles for the same targets.
    """
    h = np.asarray(horizons, dtype=np.int64)
    y = np.asarray(observed, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    keep = ~np.isnan(y)
    h, y, q, b = h[keep], y[keep], q[keep], b[keep]
    scores = []
    for horizon in np.unique(h):
        rows = h == horizon
        yy, qq, bb = y[rows], q[rows], b[rows]
        scores.append(HorizonScore(
            horizon=int(horizon),
            origins=int(rows.sum()),
            wis=float(weighted_interval_score(yy, qq).mean()),
            wis_baseline=float(weighted_interval_score(yy, bb).mean()),
            mae=float(np.abs(yy - qq[:, MEDIAN_INDEX]).mean()),
            mae_baseline=float(np.abs(yy - bb[:, MEDIAN_INDEX]).mean()),
            coverage_50=float(covered(yy, qq, 0.5).mean()),
            coverage_90=float(covered(yy, qq, 0.9).mean()),
        ))
    return scores
