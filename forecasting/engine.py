"""One series at one origin: the main model when the data allows it, else the hub baseline, and always a clear outcome.

Boundary: pure computation, shared by the platform's job and the CSV backtest so that what is scored is
what runs. :func:`calibration_origins` says which earlier origins calibrate a forecast and
:func:`origins_to_backfill` which of them to compute when none is stored;
:func:`project` computes the level projections of origins (the costly part: one Prophet fit each, run in
parallel by the callers); :func:`finish` turns them into quantiles, falling back to the baseline with a
reason when the series is too short, constant, gappy, or the model cannot be calibrated or failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from forecasting.baseline import hub_baseline
from forecasting.dataset import Readiness, Series, assess
from forecasting.ensemble import (
    MODEL_NAME,
    MODEL_VERSION,
    EnsembleConfig,
    NotCalibrated,
    OriginState,
    Projection,
    forecast_distribution,
    project_levels,
)
from forecasting.scores import FloatArray
from synopse.domain.forecasts import SeriesStatus

log = logging.getLogger(__name__)

BASELINE_MODEL = "hub-baseline"
NOT_CALIBRATED = "not calibrated yet"
# History the main model needs at an origin, in days: two weeks for the local trends, the weekday profile
# and the noise want more, and Prophet's weekly seasonality at least two weeks. Weekly data: half a year.
MIN_HISTORY_DAYS = 42
MIN_HISTORY_WEEKS = 26


@dataclass(frozen=True)
class EngineConfig:
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    min_history_days: int = MIN_HISTORY_DAYS
    min_history_weeks: int = MIN_HISTORY_WEEKS
    # Earlier origins computed on the spot when no stored projection exists (a new series, a first run):
    # 8 weekly origins give errors up to 4 weeks ahead from 4 of them.
    backfill_origins: int = 8
    # At most this many of them per run: a first run fits every other week, oldest first (weeks 8, 6 and 4
    # still give errors at every horizon up to 28 days), the next runs the weeks left, so that no run fits
    # more than 4 models a series (1,000 series: a first or second run within 3 minutes on 2 cores).
    backfill_per_run: int = 3
    max_missing_share: float = 0.2

    def min_history(self, series: Series) -> int:
        return self.min_history_days if series.freq == "D" else self.min_history_weeks


@dataclass
class Outcome:
    """What one series got at one origin."""

    status: SeriesStatus
    model: str
    reason: str | None
    origin: pd.Timestamp
    quantiles: FloatArray | None  # horizon x 23, None when skipped
    parameters: dict[str, Any]
    projection: Projection | None = None  # today's projection (main model), to keep for later calibration
    seconds: float = 0.0

    @property
    def target_dates(self) -> pd.DatetimeIndex:
        if self.quantiles is None:
            return pd.DatetimeIndex([])
        step = pd.Timedelta(days=self.parameters.get("period_days", 1))
        return pd.DatetimeIndex([self.origin + step * (h + 1) for h in range(len(self.quantiles))])


def calibration_step(series: Series) -> pd.Timedelta:
    """Calibration origins are a week apart (a period apart for weekly data): errors of one origin per week."""
    return pd.Timedelta(days=max(7, series.period_days))


def calibration_origins(
    series: Series, origin: pd.Timestamp, config: EngineConfig, known: Iterable[pd.Timestamp]
) -> list[pd.Timestamp]:
    """Earlier origins whose projections calibrate the forecast at ``origin``, newest first.

    Among the ``known`` origins (projections stored or computed), the newest at least a week before
    ``origin``, then the newest at least a week before that one, and so on: errors of one origin per week,
    whatever days the earlier runs happened on.
    """
    step = calibration_step(series)
    chosen: list[pd.Timestamp] = []
    limit = origin - step
    for candidate in sorted((o for o in known if o <= origin - step), reverse=True):
        if len(chosen) >= config.ensemble.calibration_origins:
            break
        if candidate <= limit:
            chosen.append(candidate)
            limit = candidate - step
    return chosen


def origins_to_backfill(
    series: Series, origin: pd.Timestamp, config: EngineConfig, known: Iterable[pd.Timestamp]
) -> list[pd.Timestamp]:
    """Origins to compute now so that each of the last ``config.backfill_origins`` weeks has one.

    A week already holding a known origin needs none; weeks before the main model could run are skipped.
    The weeks are counted back from the newest known origin at least a week old (from ``origin`` when
    none is known), so that filled weeks fall a week from the stored origins and the calibration finds
    them a week apart. Daily series get at most ``config.backfill_per_run`` per run: every other week
    first, oldest first (errors at every horizon), the weeks between at the next run.
    """
    step = calibration_step(series)
    first_usable = series.dates[0] + pd.Timedelta(days=series.period_days * (config.min_history(series) - 1))
    have = sorted(known)
    oldest = origin - step * config.backfill_origins
    anchor = max((o for o in have if oldest - step < o <= origin - step), default=origin - step)
    missing: list[tuple[int, pd.Timestamp]] = []
    for k in range(1, config.backfill_origins + 1):
        slot = anchor + step * (1 - k) + step * ((origin - step - anchor) // step)
        if slot < first_usable:
            break
        if not any(slot - step < o <= slot for o in have):
            missing.append((k, slot))
    if series.freq != "D":
        return sorted(slot for _, slot in missing)  # a weekly series needs all of them to be calibrated
    # Of 8 weeks: 8, 6, 4, 2 first, then 7, 5, 3, 1 (three a run by default: 8 6 4, 2 7 5, 3 1).
    missing.sort(key=lambda week: (week[0] % 2 != config.backfill_origins % 2, -week[0]))
    return sorted(slot for _, slot in missing[: max(0, config.backfill_per_run)])


def readiness(series: Series, config: EngineConfig) -> tuple[Readiness, str | None]:
    verdict = assess(series, min_history=config.min_history(series), max_missing_share=config.max_missing_share)
    return verdict.readiness, verdict.reason


def project(series: Series, origin: pd.Timestamp, config: EngineConfig) -> tuple[Projection, OriginState]:
    """Projection of the main model from ``origin`` (only the data up to it is seen)."""
    return project_levels(series.until(origin), config.ensemble)


def baseline_outcome(series: Series, horizon: int, reason: str | None, started: float) -> Outcome:
    """The hub baseline: the fallback of every series that cannot have the main model."""
    origin = series.dates[-1]
    quantiles = hub_baseline(series.values, horizon)
    if series.upper_bound is not None:
        quantiles = np.minimum(quantiles, series.upper_bound)
    return Outcome(
        status=SeriesStatus.FALLBACK,
        model=BASELINE_MODEL,
        reason=reason,
        origin=origin,
        quantiles=quantiles,
        parameters={"period_days": series.period_days, "model": BASELINE_MODEL},
        seconds=time.perf_counter() - started,
    )


def skipped(series: Series, reason: str | None, started: float) -> Outcome:
    origin = series.dates[-1] if len(series) else pd.Timestamp(0)
    return Outcome(SeriesStatus.SKIPPED, "none", reason, origin, None, {"period_days": series.period_days},
                   seconds=time.perf_counter() - started)


def finish(
    series: Series,
    projection: Projection,
    state: OriginState,
    history: Mapping[pd.Timestamp, Projection],
    config: EngineConfig,
    *,
    started: float | None = None,
) -> Outcome:
    """Quantiles of the main model at the series' last date, or the baseline if it cannot be calibrated."""
    started = time.perf_counter() if started is None else started
    horizon = config.ensemble.horizon
    past = [history[o] for o in calibration_origins(series, projection.origin, config, history)]
    try:
        distribution = forecast_distribution(series, projection, state, past, config.ensemble)
    except NotCalibrated as exc:
        return baseline_outcome(series, horizon, f"{NOT_CALIBRATED}: {exc}", started)
    parameters: dict[str, Any] = {
        "period_days": series.period_days,
        "model": MODEL_NAME,
        "version": MODEL_VERSION,
        "scale": "log1p" if state.scale.log else "identity",
        "weekday_effects": np.round(state.profile.effects, 4).tolist(),
        "noise": {"kind": state.noise.kind, "inv_k": round(state.noise.inv_k, 5), "n": int(state.noise.z.size)},
        "volatility": round(projection.volatility, 5),
        "calibration": {"origins": len(past), "errors_per_horizon": distribution.errors_used},
        "weights": distribution.weights,
        "prophet": state.prophet_parameters,
    }
    return Outcome(
        status=SeriesStatus.OK,
        model=MODEL_NAME,
        reason=None,
        origin=projection.origin,
        quantiles=distribution.quantiles,
        parameters=parameters,
        projection=projection,
        seconds=time.perf_counter() - started,
    )


def forecast_series(
    series: Series,
    config: EngineConfig,
    history: Mapping[pd.Timestamp, Projection] | None = None,
) -> tuple[Outcome, list[Projection]]:
    """Everything for one series at its last date, in one process: what the platform's workers run.

    Earlier projections come from ``history`` (stored by earlier runs); missing ones are computed, at
    most ``config.backfill_origins``, and returned to be stored. Never raises for bad data or a failing
    model: the outcome says what happened.
    """
    started = time.perf_counter()
    known = dict(history or {})
    ready, reason = readiness(series, config)
    if ready is Readiness.NONE:
        return skipped(series, reason, started), []
    if ready is Readiness.SIMPLE:
        return baseline_outcome(series, config.ensemble.horizon, reason, started), []
    origin = series.dates[-1]
    computed: list[Projection] = []
    try:
        for past_origin in origins_to_backfill(series, origin, config, known):
            if readiness(series.until(past_origin), config)[0] is not Readiness.MAIN:
                continue
            past, _ = project(series, past_origin, config)
            known[past_origin] = past
            computed.append(past)
        projection, state = project_levels(series, config.ensemble)
    except Exception as exc:  # a model failing on odd data must not cost the series its forecast
        log.warning("main model failed, baseline used", extra={"error": repr(exc)[:300]})
        return baseline_outcome(series, config.ensemble.horizon, f"main model failed: {exc!r}"[:500], started), []
    outcome = finish(series, projection, state, known, config, started=started)
    # Too few past errors yet (a short horizon gives few per origin): rather than publish the baseline, fit
    # the weeks left now, one at a time, until the forecast can be calibrated.
    one_more = replace(config, backfill_per_run=1)
    while outcome.status is not SeriesStatus.OK and (outcome.reason or "").startswith(NOT_CALIBRATED):
        extra = origins_to_backfill(series, origin, one_more, known)
        if not extra or readiness(series.until(extra[0]), config)[0] is not Readiness.MAIN:
            break
        try:
            past, _ = project(series, extra[0], config)
        except Exception as exc:
            log.warning("main model failed on a calibration origin", extra={"error": repr(exc)[:300]})
            break
        known[extra[0]] = past
        computed.append(past)
        outcome = finish(series, projection, state, known, config, started=started)
    return outcome, [*computed, projection] if outcome.status is SeriesStatus.OK else computed
