"""Capacity projection: from the forecast distribution of occupied beds to the chance of running out of beds.

Pure numpy. The predictive distribution of each day is read off its 23 quantiles (the cumulative
distribution interpolated linearly between them); the probability of exceeding capacity is one minus that
distribution at the capacity. The expected date of saturation is the first day on which that probability
reaches a threshold (by default one half: the day the median crosses capacity).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from forecasting.scores import LEVELS, FloatArray

# One half: saturation is "expected" from the first day it is more likely than not.
DEFAULT_SATURATION_PROBABILITY = 0.5


def exceedance_probability(quantiles: npt.ArrayLike, capacity: float) -> FloatArray:
    """P(value > capacity) for each row of ``quantiles`` (rows x 23 levels).

    Below the 1 % quantile the probability is taken as 1, above the 99 % quantile as 0: the forecast says
    nothing finer about its tails. Equal quantiles (a distribution capped at the beds that exist) are a
    jump of the distribution, taken at its top.
    """
    q = np.atleast_2d(np.asarray(quantiles, dtype=np.float64))
    out = np.empty(q.shape[0])
    for row, values in enumerate(np.sort(q, axis=1)):
        knots = np.unique(values)
        # A value held by several quantiles is a jump of the distribution: it is reached from below at the
        # first of their levels and left at the last.
        below = np.array([LEVELS[np.flatnonzero(values == k)[0]] for k in knots])
        at = np.array([LEVELS[np.flatnonzero(values == k)[-1]] for k in knots])
        j = int(np.searchsorted(knots, capacity, side="right")) - 1  # last knot <= capacity
        if j < 0:
            cdf = 0.0
        elif j == knots.size - 1:
            cdf = 1.0
        else:
            share = (capacity - knots[j]) / (knots[j + 1] - knots[j])
            cdf = at[j] + share * (below[j + 1] - at[j])
        out[row] = 1.0 - cdf
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class CapacityProjection:
    capacity: float
    p_exceed: FloatArray  # per day ahead
    median: FloatArray
    saturation_index: int | None  # index of the first day with p_exceed >= threshold

    def saturation_date(self, days: list[date]) -> date | None:
        return None if self.saturation_index is None else days[self.saturation_index]


def project_capacity(
    quantiles: npt.ArrayLike, capacity: float, threshold: float = DEFAULT_SATURATION_PROBABILITY
) -> CapacityProjection:
    """Daily probability of exceeding ``capacity`` and the first day it reaches ``threshold``."""
    if capacity <= 0:
        raise ValueError("capacity must be positive")
    q = np.atleast_2d(np.asarray(quantiles, dtype=np.float64))
    p = exceedance_probability(q, capacity)
    hits = np.flatnonzero(p >= threshold)
    median = q[:, int(np.flatnonzero(np.isclose(LEVELS, 0.5))[0])]
    return CapacityProjection(float(capacity), p, median, int(hits[0]) if hits.size else None)
