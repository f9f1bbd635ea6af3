"""The forecast hubs' baseline: the last value carried forward, with uncertainty from the symmetrised past changes.

This is the ``COVIDhub-baseline`` / ``EuroCOVIDhub-baseline`` model (reichlab ``covidModels::
quantile_baseline``) that public hubs score every model against: the median is the last observed value;
the spread comes from the first differences of the whole history together with their negatives (so the
distribution is symmetric and has no trend); h periods ahead it is the distribution of the sum of h
differences drawn independently (a random walk), so it widens with the horizon; the median is reset to
the last value at every horizon; a non-negative series gets non-negative quantiles.

Pure numpy with a fixed seed: the same history gives the same quantiles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from forecasting.scores import LEVELS, FloatArray

# Sample paths for horizons beyond 1 (horizon 1 is exact). 4,000 paths put the Monte Carlo error of the
# outer quantiles (1 % and 99 %) at a few percent of the interval width, which averages out over the many
# origins a relative score is computed on; sorting them costs a few milliseconds per forecast.
DEFAULT_SAMPLES = 4_000


def _sorted_quantiles(rows: FloatArray, levels: FloatArray) -> FloatArray:
    """``np.quantile(rows, levels, axis=1).T`` (its default linear method) for rows sorted already.

    Interpolating between the two order statistics directly is several times faster than ``np.quantile``,
    which partitions every row again for each level: the baseline is computed for every origin scored.
    """
    position = levels * (rows.shape[1] - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, rows.shape[1] - 1)
    fraction = position - below
    return np.asarray(rows[:, below] * (1 - fraction) + rows[:, above] * fraction, dtype=np.float64)


def hub_baseline(
    history: npt.ArrayLike,
    horizon: int,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    nonnegative: bool | None = None,
    horizons: Sequence[int] | None = None,
) -> FloatArray:
    """Quantiles (horizon x 23) of the hub baseline after the last value of ``history``.

    Args:
        history: observed values in time order; NaN (missing) values are skipped for the last value and
            leave the differences across them out.
        horizon: periods ahead to forecast.
        samples: random-walk paths for horizons 2 and more.
        seed: seed of the path sampler.
        nonnegative: truncate quantiles at 0; None means "when the history has no negative value".
        horizons: only these periods ahead (1-based) are computed, the other rows are NaN; the same paths
            are drawn, so they hold the same quantiles as without it (scores need four horizons of 28).
    """
    values = np.asarray(history, dtype=np.float64)
    observed = values[~np.isnan(values)]
    if observed.size == 0:
        raise ValueError("the baseline needs at least one observed value")
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    last = float(observed[-1])
    changes = np.diff(values)
    changes = changes[~np.isnan(changes)]
    quantiles = np.full((horizon, LEVELS.size), last)
    if changes.size > 0:
        symmetric = np.concatenate([changes, -changes])
        quantiles[0] = last + np.quantile(symmetric, LEVELS)
        if horizon > 1:
            rng = np.random.default_rng(seed)
            draws = symmetric[rng.integers(0, symmetric.size, size=(horizon, samples))]
            # Row h-1: the sum of h changes, horizons 2..H (or those asked for).
            rows = np.arange(1, horizon) if horizons is None else np.array(
                sorted({h - 1 for h in horizons if 2 <= h <= horizon}), dtype=np.int64)
            paths = np.cumsum(draws, axis=0)[rows]
            paths.sort(axis=1)
            quantiles[rows] = last + _sorted_quantiles(paths, LEVELS) - _sorted_quantiles(paths, np.array([0.5]))
        quantiles[:, np.flatnonzero(np.isclose(LEVELS, 0.5))] = last
    if nonnegative is None:
        nonnegative = bool(observed.min() >= 0)
    if nonnegative:
        quantiles = np.maximum(quantiles, 0.0)
    quantiles = np.sort(quantiles, axis=1)
    if horizons is not None:
        quantiles[[h for h in range(horizon) if h + 1 not in set(horizons)]] = np.nan
    return np.asarray(quantiles, dtype=np.float64)
