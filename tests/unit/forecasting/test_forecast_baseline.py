"""The hub baseline: last value carried forward, symmetrised past changes, widening with the horizon."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.baseline import hub_baseline
from forecasting.scores import LEVELS

MEDIAN = int(np.flatnonzero(np.isclose(LEVELS, 0.5))[0])


def test_horizon_one_is_the_last_value_plus_symmetrised_changes() -> None:
    history = [10.0, 12.0, 11.0, 15.0]  # changes +2, -1, +4 -> symmetrised {-4, -2, -1, 1, 2, 4}
    q = hub_baseline(history, 1)
    expected = 15.0 + np.quantile([-4.0, -2.0, -1.0, 1.0, 2.0, 4.0], LEVELS)
    assert q[0] == pytest.approx(np.sort(np.maximum(expected, 0)))
    assert q[0, MEDIAN] == 15.0


def test_median_is_the_last_value_and_width_grows() -> None:
    rng = np.random.default_rng(3)
    history = 100 + np.cumsum(rng.normal(0, 5, 200))
    q = hub_baseline(history, 28)
    assert np.all(q[:, MEDIAN] == history[-1])
    width = q[:, -1] - q[:, 0]
    assert width[27] > width[6] > width[0]
    # A random walk: the 98 % interval grows about like the square root of the horizon.
    assert width[27] / width[6] == pytest.approx(2.0, rel=0.15)
    assert np.all(np.diff(q, axis=1) >= 0)  # quantiles ordered


def test_symmetric_around_the_last_value() -> None:
    q = hub_baseline([50.0, 55.0, 52.0, 60.0, 58.0, 66.0], 3, nonnegative=False, samples=100_000)
    assert q[0] - 66.0 == pytest.approx(-(q[0][::-1] - 66.0))  # exact at horizon 1
    width = q[2, -1] - q[2, 0]
    assert q[2] - 66.0 == pytest.approx(-(q[2][::-1] - 66.0), abs=0.05 * width)  # Monte Carlo beyond


def test_non_negative_series_get_non_negative_quantiles() -> None:
    q = hub_baseline([3.0, 0.0, 5.0, 1.0], 7)
    assert q.min() == 0.0
    assert hub_baseline([3.0, -1.0, 5.0, 1.0], 7).min() < 0  # a series with negatives is not truncated


def test_constant_and_single_value_series() -> None:
    assert np.all(hub_baseline([4.0, 4.0, 4.0], 5) == 4.0)
    assert np.all(hub_baseline([7.0], 2) == 7.0)


def test_missing_values_are_skipped() -> None:
    q = hub_baseline([10.0, np.nan, 12.0, 11.0, np.nan], 2)
    assert q[0, MEDIAN] == 11.0  # the last observed value
    with pytest.raises(ValueError):
        hub_baseline([np.nan, np.nan], 1)


def test_deterministic() -> None:
    history = np.arange(30.0) % 7
    assert np.array_equal(hub_baseline(history, 10), hub_baseline(history, 10))


def test_quantiles_of_sorted_paths_equal_numpys() -> None:
    from forecasting.baseline import _sorted_quantiles
    from forecasting.scores import LEVELS

    rows = np.sort(np.random.default_rng(3).normal(size=(4, 1001)), axis=1)
    assert _sorted_quantiles(rows, LEVELS) == pytest.approx(np.quantile(rows, LEVELS, axis=1).T, abs=1e-12)
    assert _sorted_quantiles(rows[:, :2], np.array([0.0, 0.5, 1.0])) == pytest.approx(
        np.quantile(rows[:, :2], [0.0, 0.5, 1.0], axis=1).T)


def test_only_the_horizons_asked_for() -> None:
    history = np.random.default_rng(4).poisson(20, 200).astype(float)
    full = hub_baseline(history, 28, samples=500)
    some = hub_baseline(history, 28, samples=500, horizons=[1, 7, 28])
    assert some[[0, 6, 27]] == pytest.approx(full[[0, 6, 27]])
    assert np.isnan(some[[1, 5, 26]]).all()
