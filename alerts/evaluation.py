"""Evaluation of the detectors on simulated count series: sensitivity to an injected outbreak, false alarms.

Boundary: pure simulation with a seeded numpy generator (no I/O); the unit tests assert on small runs and
``benchmarks/alerts_detectors.py`` reports larger ones. Each series is simulated once and scored twice, with
and without the outbreak, so the comparison is on the very same noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alerts.detectors import alarms_over, detect, history_needed

# Daily ED counts of a syndrome group in a metropolis: 20 to 40 a day, Monday highest (DOMAIN.md).
DAILY_LEVEL = (20.0, 40.0)
WEEKDAY = np.array([1.10, 1.00, 0.98, 0.97, 0.99, 0.97, 0.99])
# Mild overdispersion (negative binomial, size 50): real counts vary a little more than Poisson.
NB_SIZE = 50.0
DAYS = 200
OUTBREAK_START, OUTBREAK_DAYS = 170, 7
# Weekly series: six years, outbreak in the last quarter; only the last 32 weeks are scored (cost).
WEEKS, WEEKLY_OUTBREAK_START, WEEKLY_OUTBREAK_WEEKS, WEEKLY_SCORED = 312, 300, 2, 32


@dataclass(frozen=True)
class DetectionResult:
    algorithm: str
    series: int
    excess: float  # the outbreak's extra cases, as a fraction of the expected count
    sensitivity: float  # share of series with an alarm during the outbreak
    window_alarms_without: int  # series alarming in the same window without the outbreak
    false_alarms_per_100_series_weeks: float  # alarm points on the series without outbreak
    series_weeks: float


def _negative_binomial(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    p = NB_SIZE / (NB_SIZE + mean)
    return rng.negative_binomial(NB_SIZE, p).astype(np.float64)


def simulate_detection(algorithm: str, *, series: int = 100, seed: int = 1, excess: float = 0.8) -> DetectionResult:
    """Score one algorithm on ``series`` simulated series with an outbreak of ``excess`` times the expected count."""
    rng = np.random.default_rng(seed)
    weekly = algorithm == "farrington"
    detected = quiet_window_alarms = false_alarms = 0
    scored_points = 0
    for _ in range(series):
        level = rng.uniform(*DAILY_LEVEL)
        if weekly:
            weeks = np.arange(WEEKS)
            mean = level * 7 * (1 + 0.3 * np.sin(2 * np.pi * weeks / 52))
            start, length, first_scored = WEEKLY_OUTBREAK_START, WEEKLY_OUTBREAK_WEEKS, WEEKS - WEEKLY_SCORED
        else:
            days = np.arange(DAYS)
            mean = level * WEEKDAY[days % 7]
            start, length = OUTBREAK_START, OUTBREAK_DAYS
            first_scored = history_needed(algorithm)
        base = _negative_binomial(rng, mean)
        extra = rng.poisson(excess * mean[start : start + length]).astype(np.float64)
        with_outbreak = base.copy()
        with_outbreak[start : start + length] += extra
        alarms_with = _alarms(algorithm, with_outbreak, first_scored)
        alarms_without = _alarms(algorithm, base, first_scored)
        detected += bool(any(alarms_with[start : start + length]))
        quiet_window_alarms += bool(any(alarms_without[start : start + length]))
        false_alarms += sum(alarms_without[first_scored:])
        scored_points += len(base) - first_scored
    series_weeks = scored_points if weekly else scored_points / 7
    return DetectionResult(
        algorithm, series, excess, detected / series, quiet_window_alarms,
        100 * false_alarms / series_weeks, series_weeks,
    )


def _alarms(algorithm: str, x: np.ndarray, first: int) -> list[bool]:
    if algorithm != "farrington":
        return alarms_over(algorithm, x)
    return [False] * first + [detect(algorithm, x[: i + 1]).alarm for i in range(first, len(x))]
