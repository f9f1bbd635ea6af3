"""Forecast contracts: which series are forecast, the 23 quantile levels, and the row types of the forecast tables.

Pure: codes and frozen dataclasses (read from the store with psycopg ``class_row`` in ``synopse.db.forecasts``);
the forecasting component writes these tables, the dashboard and the alert rules read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

# The 23 levels of the public COVID-19 forecast hubs (US and European): 0.01, 0.025, 0.05 to 0.95 by 0.05,
# 0.975, 0.99. They hold the median and the central 2 %, 5 %, 10 %, 20 %, ..., 90 %, 95 %, 98 % intervals,
# which is what the weighted interval score (Bracher et al. 2021) is defined on.
QUANTILE_LEVELS: tuple[float, ...] = (
    0.01, 0.025, *(round(0.05 * i, 2) for i in range(1, 20)), 0.975, 0.99,
)
MEDIAN_INDEX = QUANTILE_LEVELS.index(0.5)

# Scope id of the whole-territory series.
TERRITORY_ID = "all"


class Metric(StrEnum):
    """What a series counts, per local (Europe/Paris) day."""

    ADMISSIONS = "admissions"  # new hospital admissions
    ED_VISITS = "ed_visits"  # emergency-department arrivals
    BED_OCCUPANCY = "bed_occupancy"  # occupied beds, daily mean of the hourly snapshots


class Scope(StrEnum):
    """Where a series is counted: a facility, a commune (of residence, or of the facility for beds), the territory."""

    FACILITY = "facility"
    COMMUNE = "commune"
    TERRITORY = "territory"


@dataclass(frozen=True, order=True)
class SeriesKey:
    """One forecast series: a metric over a scope, e.g. admissions of facility ``chu-nantes``."""

    metric: Metric
    scope: Scope
    scope_id: str

    @property
    def label(self) -> str:
        return f"{self.metric.value}/{self.scope.value}/{self.scope_id}"


class SeriesStatus(StrEnum):
    """The outcome of one series in a run: what was stored and why."""

    OK = "ok"  # the main model (Prophet ensemble, calibrated on past errors)
    FALLBACK = "fallback"  # a simple model was used instead; ``reason`` says why (short history, failure, timeout)
    SKIPPED = "skipped"  # no forecast stored: too little data for even the simple model; ``reason`` says what


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # every series got the main model
    PARTIAL = "partial"  # some series fell back or were skipped (see forecast_series_runs)
    FAILED = "failed"  # the run itself failed (``error``); nothing of it is read as the latest forecast


class ScoreKind(StrEnum):
    """Where a score comes from."""

    # Rolling-origin forecasts made inside the run with only the data available at each origin: available
    # from the first run on.
    BACKTEST = "backtest"
    # Forecasts stored by earlier runs, scored once their target days were observed.
    PROSPECTIVE = "prospective"


@dataclass(frozen=True)
class ForecastRun:
    """One run of the forecasting job: when, on what data, with which model, and how it went."""

    run_id: UUID
    started_at: datetime
    finished_at: datetime | None
    as_of: datetime  # the data cut-off: nothing observed after it was used
    origin_date: date  # last complete local day of data; day 1 of the horizon is the day after
    trigger: str  # manual, schedule, new_data
    status: RunStatus
    model: str
    model_version: str
    horizon_days: int
    parameters: dict[str, Any]
    quantile_levels: list[float]
    series_total: int
    series_ok: int
    series_fallback: int
    series_skipped: int
    duration_s: float | None
    error: str | None


@dataclass(frozen=True)
class SeriesRun:
    """One series in one run: the model used, the data window it saw and the fitted parameters (JSON)."""

    run_id: UUID
    metric: str
    scope: str
    scope_id: str
    status: SeriesStatus
    model: str
    reason: str | None
    data_start: date | None
    data_end: date | None
    observations: int
    fit_seconds: float
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ForecastRow:
    """The forecast distribution of one series for one target day, as 23 quantiles (``QUANTILE_LEVELS``)."""

    run_id: UUID
    metric: str
    scope: str
    scope_id: str
    target_date: date
    horizon: int  # days after the origin date
    quantiles: list[float]

    @property
    def median(self) -> float:
        return self.quantiles[MEDIAN_INDEX]

    def interval(self, coverage: float) -> tuple[float, float]:
        """The central interval of nominal ``coverage`` (0.5, 0.8, 0.9, 0.95 or 0.98 ...)."""
        lower = round((1 - coverage) / 2, 3)
        upper = round(1 - lower, 3)
        levels = [round(level, 3) for level in QUANTILE_LEVELS]
        if lower not in levels or upper not in levels:
            raise ValueError(f"no central {coverage:.0%} interval among the quantile levels")
        return self.quantiles[levels.index(lower)], self.quantiles[levels.index(upper)]


@dataclass(frozen=True)
class CapacityDay:
    """Projected bed occupancy of one scope against its capacity on one future day."""

    run_id: UUID
    scope: str
    scope_id: str
    target_date: date
    horizon: int
    capacity_beds: float
    occupancy_median: float
    p_exceed_capacity: float  # probability that occupied beds exceed the capacity that day


@dataclass(frozen=True)
class CapacityOutlook:
    """Per scope and run: capacity, current occupancy and the expected date of saturation."""

    run_id: UUID
    scope: str
    scope_id: str
    capacity_beds: float
    capacity_source: str  # snapshots (latest staffed beds) or planned (reference capacities)
    occupied_now: float | None
    max_p_exceed: float
    saturation_date: date | None  # first day with p_exceed_capacity >= the saturation probability; None: not within


@dataclass(frozen=True)
class ForecastScore:
    """Skill of one series at one horizon, over the origins scored (WIS relative to the hub baseline)."""

    run_id: UUID
    metric: str
    scope: str
    scope_id: str
    kind: ScoreKind
    horizon: int
    origins: int
    wis: float
    wis_baseline: float
    relative_wis: float | None  # wis / wis_baseline; None when the baseline scored a perfect 0
    mae: float
    coverage_50: float
    coverage_90: float
