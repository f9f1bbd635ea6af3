"""Small synthetic series for the forecasting unit tests (seeded; no real data in the repository)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.dataset import Series, regular_series

WEEKLY = np.array([1.15, 1.1, 1.05, 1.05, 1.0, 0.8, 0.85])


def admissions(days: int = 160, level: float = 30.0, seed: int = 1, start: str = "2024-01-01") -> Series:
    """Daily counts with a weekly pattern and a slow wave."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days)
    wave = 1 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 50)
    return regular_series(dates, rng.poisson(level * wave * WEEKLY[dates.day_of_week]).astype(float))


def weekly(weeks: int = 80, level: float = 200.0, seed: int = 2) -> Series:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-02", periods=weeks, freq="7D")
    wave = 1 + 0.4 * np.sin(2 * np.pi * np.arange(weeks) / 26)
    return regular_series(dates, rng.poisson(level * wave).astype(float), freq="W")


def occupancy(days: int = 200, seed: int = 3) -> Series:
    """Beds occupied fed by daily admissions (a wave), a tenth of the patients leaving each day."""
    flow = admissions(days=days, level=12.0, seed=seed)
    assert flow.inflow is None
    beds = np.empty(days)
    x = 120.0
    for day, arrived in enumerate(flow.values):
        x = 0.9 * x + arrived
        beds[day] = round(x)
    return Series(flow.dates, beds, "D", {}, None, counts=True, inflow=flow.values)
