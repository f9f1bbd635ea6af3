"""Detectors reproduce hand-computed cases and find an injected outbreak in simulated series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alerts.detectors import InsufficientHistory, alarms_over, cusum, detect, detect_many, ears, farrington
from alerts.evaluation import simulate_detection

BASELINE = [10, 12, 9, 11, 10, 13, 8]
# Hand computation: mean 73/7; squared deviations sum to 17.7143, / 6 = 2.95238, sd = 1.71825.
MEAN = 73 / 7
SD = math.sqrt(17.714285714285715 / 6)


def test_ears_c1_is_a_z_score_against_the_seven_previous_days() -> None:
    signal = ears([*BASELINE, 20], "c1")
    assert signal.expected == pytest.approx(MEAN)
    assert signal.statistic == pytest.approx((20 - MEAN) / SD)  # 5.5705
    assert signal.upper_bound == pytest.approx(MEAN + 3 * SD)  # 15.583
    assert signal.alarm and signal.baseline == (-7, -1)
    assert not ears([*BASELINE, 15], "c1").alarm  # 2.66 sd: under 3


def test_ears_c2_skips_the_two_days_before_the_tested_one() -> None:
    signal = ears([*BASELINE, 30, 30, 20], "c2")  # the two 30s are the guard band, not the baseline
    assert signal.expected == pytest.approx(MEAN)
    assert signal.statistic == pytest.approx((20 - MEAN) / SD)
    assert signal.baseline == (-9, -3)


def test_ears_c3_sums_the_excess_of_the_last_three_c2() -> None:
    # Baselines all at 10 (sd 0, floored at min_sigma 0.5): C2 = 2, 4, 6; terms 1, 3, 5; C3 = 9.
    signal = ears([10] * 9 + [11, 12, 13], "c3")
    assert signal.statistic == pytest.approx(9.0)
    assert signal.alarm
    # The two previous terms (4) already exceed the threshold 2: the bound is mean + sigma * 1.
    assert signal.upper_bound == pytest.approx(10.5)
    quiet = ears([10, 12, 9, 11, 10, 13, 8, 10, 11, 10, 12, 11], "c3")
    assert not quiet.alarm


def test_cusum_accumulates_standardised_excess_above_k() -> None:
    params = {"baseline": 3, "lag": 0, "k": 0.5, "h": 4.0}
    # i=3: baseline 10,12,14 -> mean 12, sd 2, z 0, S 0.  i=4: baseline 12,14,12 -> mean 12.667,
    # sd sqrt(4/3) = 1.1547, z = 7.333/1.1547 = 6.3509, S = 5.8509 > 4.
    signal = cusum([10, 12, 14, 12, 20], params)
    assert signal.statistic == pytest.approx((20 - 38 / 3) / math.sqrt(4 / 3) - 0.5)
    assert signal.alarm
    assert signal.expected == pytest.approx(38 / 3)
    # Bound: the value at which S reaches h given S_{t-1} = 0: mean + sd * (h + k).
    assert signal.upper_bound == pytest.approx(38 / 3 + math.sqrt(4 / 3) * 4.5)
    assert not cusum([10, 12, 14, 12, 13], params).alarm


def test_cusum_alarms_over_a_series_match_point_by_point() -> None:
    rng = np.random.default_rng(3)
    x = rng.poisson(30, 80).astype(float)
    x[60:67] += 25
    over = alarms_over("cusum", x)
    assert over == [False] * 30 + [cusum(x[: i + 1]).alarm for i in range(30, 80)]
    assert any(over[60:67])


def test_too_short_a_series_gives_no_verdict() -> None:
    with pytest.raises(InsufficientHistory):
        ears([1, 2, 3], "c1")
    with pytest.raises(InsufficientHistory):
        farrington(list(range(100)))


def test_farrington_flags_an_outbreak_week_and_carries_its_parameters() -> None:
    rng = np.random.default_rng(7)
    weeks = np.arange(320)
    x = rng.poisson(20 + 6 * np.sin(2 * np.pi * weeks / 52)).astype(float)
    quiet = farrington(x)
    x[-1] = quiet.upper_bound * 2 + 10
    loud = farrington(x)
    assert loud.alarm and not quiet.alarm
    assert loud.upper_bound == pytest.approx(quiet.upper_bound)
    assert loud.params["b"] == 5 and loud.params["w"] == 3 and loud.params["alpha"] == 0.05
    assert loud.baseline == (-263, -49)


def test_detect_dispatches_by_rule_name() -> None:
    assert detect("ears_c1", [*BASELINE, 20]).algorithm == "ears_c1"
    with pytest.raises(ValueError):
        detect("bogus", [1])


@pytest.mark.parametrize("algorithm", ["ears_c1", "ears_c2", "ears_c3", "cusum"])
def test_injected_outbreak_is_found_and_the_same_series_without_it_stays_quiet(algorithm: str) -> None:
    result = simulate_detection(algorithm, series=40, seed=11)
    # Outbreak: +80 % of the expected count for 7 days on a daily baseline of 20-40 visits.
    assert result.sensitivity >= 0.8, result
    # The same series without the injection alarm far less in that window. EARS's 7-day baselines make
    # it a noisy detector (its known weakness: tens of false alarms per 100 series-weeks, C3 the most);
    # the figures are reported by benchmarks/alerts_detectors.py.
    assert result.sensitivity - result.window_alarms_without / result.series >= 0.5, result
    assert result.false_alarms_per_100_series_weeks < 70, result


def test_farrington_on_weekly_series_with_and_without_outbreak() -> None:
    result = simulate_detection("farrington", series=12, seed=5)
    assert result.sensitivity >= 0.9, result
    assert result.window_alarms_without <= 2, result


@pytest.mark.parametrize("algorithm", ["ears_c1", "ears_c2", "ears_c3", "cusum"])
def test_vectorised_detection_matches_one_series_at_a_time(algorithm: str) -> None:
    rng = np.random.default_rng(2)
    matrix = rng.poisson(12, (25, 45)).astype(float)
    matrix[::5, -1] += 30
    many = detect_many(algorithm, matrix)
    for row, signal in zip(matrix, many, strict=True):
        single = detect(algorithm, row)
        assert (signal.alarm, signal.baseline) == (single.alarm, single.baseline)
        assert (signal.expected, signal.upper_bound, signal.statistic) == pytest.approx(
            (single.expected, single.upper_bound, single.statistic))
    assert sum(s.alarm for s in many) >= 5
