"""WIS, coverage and MAE against hand-computed cases (Bracher et al. 2021 definitions)."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.scores import (
    LEVELS,
    covered,
    interval_bounds,
    pinball_loss,
    score_horizons,
    weighted_interval_score,
)
from synopse.domain.forecasts import MEDIAN_INDEX, QUANTILE_LEVELS

THREE = [0.25, 0.5, 0.75]


def test_the_23_hub_levels() -> None:
    assert len(QUANTILE_LEVELS) == 23
    assert QUANTILE_LEVELS[:3] == (0.01, 0.025, 0.05) and QUANTILE_LEVELS[-3:] == (0.95, 0.975, 0.99)
    assert QUANTILE_LEVELS[MEDIAN_INDEX] == 0.5
    assert np.allclose(np.array(QUANTILE_LEVELS) + np.array(QUANTILE_LEVELS[::-1]), 1.0)


def test_wis_inside_the_interval() -> None:
    # Median 2, 50 % interval [1, 4], y = 3: (1/2 |3 - 2| + 0.5/2 * (4 - 1)) / (1 + 1/2) = 1.25 / 1.5.
    assert weighted_interval_score(3.0, [1.0, 2.0, 4.0], THREE) == pytest.approx(1.25 / 1.5)


def test_wis_above_the_interval() -> None:
    # y = 6: interval score (4 - 1) + 2/0.5 * (6 - 4) = 11; (1/2 * 4 + 0.5/2 * 11) / 1.5 = 4.75 / 1.5.
    assert weighted_interval_score(6.0, [1.0, 2.0, 4.0], THREE) == pytest.approx(4.75 / 1.5)


def test_wis_below_the_interval() -> None:
    # y = 0: interval score 3 + 2/0.5 * (1 - 0) = 7; (1/2 * 2 + 0.5/2 * 7) / 1.5 = 2.75 / 1.5.
    assert weighted_interval_score(0.0, [1.0, 2.0, 4.0], THREE) == pytest.approx(2.75 / 1.5)


def test_wis_equals_pinball_sum() -> None:
    q = np.array([1.0, 2.0, 4.0])
    assert pinball_loss(6.0, q, THREE).sum() / 1.5 == pytest.approx(weighted_interval_score(6.0, q, THREE))
    assert pinball_loss(6.0, q, THREE).tolist() == pytest.approx([0.25 * 5, 0.5 * 4, 0.75 * 2])


def test_wis_of_a_point_forecast_is_the_absolute_error() -> None:
    # All 23 quantiles at 10: every pinball loss is tau * 3 (y above) and the levels sum to 11.5 = K + 1/2.
    assert weighted_interval_score(13.0, np.full(23, 10.0)) == pytest.approx(3.0)
    assert weighted_interval_score(7.0, np.full(23, 10.0)) == pytest.approx(3.0)


def test_wis_vectorised_over_forecasts() -> None:
    q = np.array([[1.0, 2.0, 4.0], [1.0, 2.0, 4.0]])
    assert weighted_interval_score([3.0, 6.0], q, THREE).tolist() == pytest.approx([1.25 / 1.5, 4.75 / 1.5])


def test_wis_needs_symmetric_levels() -> None:
    with pytest.raises(ValueError, match="symmetric"):
        weighted_interval_score(1.0, [1.0, 2.0], [0.1, 0.5])


def test_interval_bounds_and_coverage() -> None:
    q = np.arange(23, dtype=float)
    assert interval_bounds(q, 0.5) == (6.0, 16.0)  # levels 0.25 and 0.75
    assert interval_bounds(q, 0.9) == (2.0, 20.0)  # levels 0.05 and 0.95
    assert covered([6.0, 16.0, 5.9, 16.1], np.tile(q, (4, 1)), 0.5).tolist() == [True, True, False, False]
    with pytest.raises(ValueError):
        interval_bounds(q, 0.33)


def test_score_horizons_against_a_baseline() -> None:
    point = np.tile(LEVELS * 0 + 10.0, (4, 1))  # point forecasts at 10
    baseline = np.tile(LEVELS * 0 + 12.0, (4, 1))
    scores = score_horizons([1, 1, 2, 2], [11.0, 9.0, 13.0, np.nan], point, baseline)
    assert [s.horizon for s in scores] == [1, 2]
    first, second = scores
    assert (first.origins, first.wis, first.wis_baseline, first.mae) == (2, pytest.approx(1.0), pytest.approx(2.0),
                                                                       pytest.approx(1.0))
    assert first.relative_wis == pytest.approx(0.5)
    assert second.origins == 1  # the unobserved target is left out
    assert (first.coverage_50, first.coverage_90) == (0.0, 0.0)
