"""Capacity projection: the chance of exceeding capacity read off the 23 quantiles, and the saturation date."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from forecasting.capacity import exceedance_probability, project_capacity
from forecasting.scores import LEVELS

EVEN = np.arange(23.0) * 10  # quantile i at 10 i: level 0.5 at 110


def test_probability_at_a_quantile_and_between() -> None:
    assert exceedance_probability(EVEN, 110.0)[0] == pytest.approx(0.5)
    assert exceedance_probability(EVEN, 115.0)[0] == pytest.approx(1 - (0.5 + 0.55) / 2)
    assert exceedance_probability(EVEN, 200.0)[0] == pytest.approx(1 - LEVELS[20])  # the 95 % quantile


def test_tails() -> None:
    assert exceedance_probability(EVEN, -1.0)[0] == 1.0  # below the 1 % quantile
    assert exceedance_probability(EVEN, 220.0)[0] == 0.0  # at the 99 % quantile
    assert exceedance_probability(EVEN, 500.0)[0] == 0.0


def test_a_distribution_capped_at_the_beds_that_exist() -> None:
    capped = np.minimum(EVEN, 150.0)  # quantiles from level 0.7 on sit at the cap
    assert exceedance_probability(capped, 150.0)[0] == 0.0  # nothing above the cap
    # Just below the cap: from level 0.65 at 140 to the jump at 150 (reached from level 0.7).
    assert exceedance_probability(capped, 149.0)[0] == pytest.approx(1 - (0.65 + 0.9 * 0.05))


def test_saturation_date_is_the_first_day_likely_over_capacity() -> None:
    days = [np.arange(23.0) * 10 + 20 * d for d in range(5)]  # the distribution moves up 20 beds a day
    projection = project_capacity(np.array(days), capacity=150.0)
    # 150 beds sit at levels 0.7, 0.6, 0.5, 0.4, 0.3 on the successive days.
    assert projection.p_exceed.tolist() == pytest.approx([0.3, 0.4, 0.5, 0.6, 0.7])
    assert projection.saturation_index == 2  # the median reaches capacity on day 3
    first = 2
    start = date(2026, 1, 1)
    assert projection.saturation_date([start + timedelta(days=i) for i in range(5)]) == start + timedelta(days=first)
    assert projection.median.tolist() == [110.0, 130.0, 150.0, 170.0, 190.0]


def test_no_saturation_within_the_horizon() -> None:
    projection = project_capacity(np.tile(EVEN, (3, 1)), capacity=1000.0)
    assert projection.saturation_index is None and projection.saturation_date([date(2026, 1, 1)] * 3) is None
    with pytest.raises(ValueError):
        project_capacity(EVEN, capacity=0)
