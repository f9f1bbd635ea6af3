"""What each rule sees now: reads the store once per cycle and turns it into observations per alert instance.

Boundary: reads through ``synopse.db.alerts`` (one query per kind of series per cycle, shared by every rule
that needs it) and computes values, breaches (with hysteresis against the current severity) and the details
carried by a notification. No writes. "No data" (a silent source, a series too short for its baseline) is an
observation with ``has_data=False``: it never resolves an alert and never reads as a zero.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
from psycopg import Connection

from alerts.detectors import detect_many, history_needed
from synopse.db import alerts as db
from synopse.domain.alerts import (
    METROPOLIS_ID,
    AberrationRule,
    ForecastRule,
    FreshnessRule,
    HeatWaveRule,
    Observation,
    PipelineRule,
    Rule,
    ScopeLevel,
    Severity,
    ThresholdRule,
    breached_level,
    scope_key,
)

logger = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Europe/Paris")
# An ED feed silent for 2 hours is "feed late": its zero visits are not a true zero (EDs are open 24/7).
ED_FEED_LATE = timedelta(hours=2)
# A lag figure older than 2 minutes means no worker holds the partition any more: the lag is unknown.
LAG_STALE = timedelta(minutes=2)
# Dead-letter rate: per minute, from two samples at least a minute apart (a shorter gap is noise).
DLQ_MIN_GAP = timedelta(minutes=1)

T = TypeVar("T")


# Daily counts of past days change only with late events: their reading (the costliest of a cycle) and the
# aberration verdicts drawn from it are reused for a minute across cycles. A late event is seen within that.
SLOW_SERIES_TTL_S = 60.0


class Snapshot:
    """The store as one evaluation cycle reads it: each series read once, on first use.

    ``lasting`` is a cache kept across cycles by the evaluator, for the series read with a ``ttl_s``.
    """

    def __init__(self, conn: Connection[Any], now: datetime,
                 lasting: dict[tuple[Any, ...], tuple[float, Any]] | None = None) -> None:
        self.conn = conn
        self.now = now
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._lasting = {} if lasting is None else lasting

    def get(self, key: tuple[Any, ...], load: Callable[[], T], *, ttl_s: float | None = None) -> T:
        if key not in self._cache:
            if ttl_s is None:
                self._cache[key] = load()
            else:
                expires, value = self._lasting.get(key, (0.0, None))
                if expires < time.monotonic():
                    value = load()
                    self._lasting[key] = (time.monotonic() + ttl_s, value)
                self._cache[key] = value
        found: T = self._cache[key]
        return found


def _graded(rule: ThresholdRule | ForecastRule | PipelineRule, key: str, value: float | None,
            current: dict[str, Severity], details: dict[str, Any]) -> Observation | None:
    """The observation of a graded rule; None when nothing can change (no breach, no open alert)."""
    if value is None:
        return Observation(key, None, None, details, has_data=False) if key in current else None
    breach = breached_level(rule.levels, value, current.get(key), rule.direction)
    if breach is None and key not in current:
        return None
    return Observation(key, breach, value, details)


def _in_scope(rule: Rule, level: ScopeLevel, scope_id: str) -> bool:
    return rule.scope.level is level and rule.scope.includes(scope_id)


# ------------------------------------------------------------------------------------------------ threshold


Value = tuple[str, str, float | None, dict[str, Any]]  # scope id, scope key, value, details


def _occupancy_values(snap: Snapshot, care_unit: str | None, level: ScopeLevel) -> list[Value]:
    units = snap.get(("beds",), lambda: db.occupancy_by_unit(snap.conn))
    groups: dict[str, list[Any]] = defaultdict(list)
    for unit in units:
        if care_unit and unit.care_unit != care_unit:
            continue
        scope_id = {ScopeLevel.FACILITY: unit.facility_id, ScopeLevel.COMMUNE: unit.commune_code or "",
                    ScopeLevel.METROPOLIS: METROPOLIS_ID}[level]
        groups[scope_id].append(unit)
    out: list[Value] = []
    for scope_id, members in groups.items():
        total = sum(u.beds_total for u in members)
        occupied = sum(u.beds_occupied for u in members)
        value = occupied / total if total else None
        details = {"observed": round(value, 4) if value is not None else None, "beds_occupied": occupied,
                   "beds_total": total, "units": len(members),
                   "observed_at": min(u.observed_at for u in members).isoformat()}
        out.append((scope_id, scope_key(level, scope_id), value, details))
    return out


def _from_values(rule: ThresholdRule | ForecastRule | PipelineRule, values: list[Value],
                 current: dict[str, Severity]) -> list[Observation]:
    out = []
    ids = rule.scope.ids
    # Below the lowest enter (above it, for "below" rules) with no open alert, nothing can happen: skip fast.
    sign = 1.0 if rule.direction == "above" else -1.0
    lowest = min(sign * level.enter for level in rule.levels)
    for scope_id, key, value, details in values:
        if ids is not None and scope_id not in ids:
            continue
        if value is not None and sign * value < lowest and key not in current:
            continue
        seen = _graded(rule, key, value, current, details)
        if seen is not None:
            out.append(seen)
    return out


def _occupancy(rule: ThresholdRule, snap: Snapshot, current: dict[str, Severity]) -> list[Observation]:
    care_unit, level = rule.filters.get("care_unit"), rule.scope.level
    values = snap.get(("occupancy", care_unit, level), lambda: _occupancy_values(snap, care_unit, level))
    return _from_values(rule, values, current)


def _ed_hourly_values(snap: Snapshot, reason: str | None, age: str | None, level: ScopeLevel) -> list[Value]:
    reference = snap.get(("ed_ref",), lambda: db.latest_visit_hour(snap.conn))
    if reference is None:
        return []
    hour = reference.replace(minute=0, second=0, microsecond=0)
    previous = hour - timedelta(hours=1)
    rows = snap.get(("ed_hourly", hour, reason, age),
                    lambda: db.ed_visits_by_hour(snap.conn, previous, hour, reason=reason, age_band=age))
    sources = snap.get(("fresh", "emergency_visits.v1"), lambda: db.source_silences(snap.conn, "emergency_visits.v1"))
    late = {s.source_id for s in sources if snap.now - s.last_ingested_at > ED_FEED_LATE}
    counts: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        scope_id = row.facility_id if level is ScopeLevel.FACILITY else METROPOLIS_ID
        counts[scope_id][row.bucket] += row.visits
    known = {s.source_id for s in sources} if level is ScopeLevel.FACILITY else {METROPOLIS_ID}
    out: list[Value] = []
    for scope_id in sorted(known | set(counts)):
        by_hour = counts.get(scope_id, {})
        # The last complete hour or the current one so far, whichever is higher: a surge is seen while it
        # happens, and the turn of the hour does not drop the value to a few minutes' worth.
        value = float(max(by_hour.get(previous, 0), by_hour.get(hour, 0)))
        details: dict[str, Any] = {"observed": int(value), "hour": hour.isoformat()}
        if scope_id in late or (scope_id == METROPOLIS_ID and late and len(late) == len(sources)):
            out.append((scope_id, scope_key(level, scope_id), None, details | {"feed_late": True}))
        else:
            out.append((scope_id, scope_key(level, scope_id), value, details))
    return out


def _ed_hourly(rule: ThresholdRule, snap: Snapshot, current: dict[str, Severity]) -> list[Observation]:
    reason, age, level = rule.filters.get("reason"), rule.filters.get("age_band"), rule.scope.level
    values = snap.get(("ed_values", reason, age, level), lambda: _ed_hourly_values(snap, reason, age, level))
    return _from_values(rule, values, current)


def _pm10(rule: ThresholdRule, snap: Snapshot, current: dict[str, Severity]) -> list[Observation]:
    today = snap.now.astimezone(LOCAL_TZ).date()
    days = snap.get(("station_days", "pm10", today),
                    lambda: db.station_days(snap.conn, ["pm10"], today - timedelta(days=1)))
    latest: dict[str, Any] = {}
    for row in days:
        newer = row.station_id not in latest or row.day > latest[row.station_id].day
        if row.observations >= rule.min_hours and newer:
            latest[row.station_id] = row
    if rule.scope.level is ScopeLevel.METROPOLIS:
        if not latest:
            return []
        top = max(latest.values(), key=lambda r: (r.day, r.value))
        details = {"observed": round(top.value, 1), "day": top.day.isoformat(), "station": top.station_id,
                   "hours": top.observations}
        return _from_values(rule, [(METROPOLIS_ID, scope_key(ScopeLevel.METROPOLIS, METROPOLIS_ID), top.value,
                                    details)], current)
    return _from_values(rule, [
        (sid, scope_key(ScopeLevel.STATION, sid), row.value,
         {"observed": round(row.value, 1), "day": row.day.isoformat(), "hours": row.observations})
        for sid, row in latest.items()
    ], current)


# ----------------------------------------------------------------------------------------- heat, forecasts


def _heat_wave(rule: HeatWaveRule, snap: Snapshot, current: dict[str, Severity]) -> list[Observation]:
    today = snap.now.astimezone(LOCAL_TZ).date()
    rows = snap.get(("station_days", "temperature", today), lambda: db.station_days(
        snap.conn, ["temperature_daily_min", "temperature_daily_max"], today - timedelta(days=12)))
    by_station: dict[str, dict[date, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        by_station[row.station_id][row.day][row.indicator] = row.value
    out = []
    for sid, days in by_station.items():
        complete = sorted(d for d, v in days.items() if len(v) == 2)
        if len(complete) < rule.days:
            continue
        window = complete[-rule.days:]
        if (window[-1] - window[0]).days != rule.days - 1:
            continue  # not consecutive days: no verdict
        ibmn = sum(days[d]["temperature_daily_min"] for d in window) / rule.days
        ibmx = sum(days[d]["temperature_daily_max"] for d in window) / rule.days
        scope_id = sid if rule.scope.level is ScopeLevel.STATION else METROPOLIS_ID
        if not rule.scope.includes(scope_id):
            continue
        key = scope_key(rule.scope.level, scope_id)
        margin = rule.exit_margin if key in current else 0.0
        breach = rule.severity if ibmn >= rule.ibmn_enter - margin and ibmx >= rule.ibmx_enter - margin else None
        details = {"observed": round(ibmx, 1), "ibmn": round(ibmn, 1), "ibmx": round(ibmx, 1),
                   "ibmn_threshold": rule.ibmn_enter, "ibmx_threshold": rule.ibmx_enter,
                   "days": [d.isoformat() for d in window], "station": sid}
        out.append(Observation(key, breach, ibmx, details))
    return out


def _forecast(rule: ForecastRule, snap: Snapshot, current: dict[str, Severity]) -> list[Observation]:
    today = snap.now.astimezone(LOCAL_TZ).date()
    outlooks = snap.get(("forecast", rule.within_days, today),
                        lambda: db.capacity_outlook(snap.conn, rule.within_days, today))
    out = []
    for outlook in outlooks:
        if not rule.scope.includes(outlook.facility_id):
            continue
        details: dict[str, Any] = {"run_at": outlook.run_at.isoformat(), "within_days": rule.within_days,
                                   "exceed_probability": outlook.exceed_probability,
                                   "saturation_date": outlook.saturation_date.isoformat()
                                   if outlook.saturation_date else None}
        if rule.metric == "exceed_probability":
            value = outlook.exceed_probability
        else:
            # No saturation expected within the horizon: as far as the rule can see (not "no data").
            value = float((outlook.saturation_date - today).days) if outlook.saturation_date else float(
                rule.within_days + 1)
        details["observed"] = value
        seen = _graded(rule, scope_key(ScopeLevel.FACILITY, outlook.facility_id), value, current, details)
        if seen is not None:
            out.append(seen)
    return out


# --------------------------------------------------------------------------------------------- aberrations


def _daily_matrix(snap: Snapshot, level: ScopeLevel, reason: str | None, age: str | None, days: int,
                  last_day: date) -> tuple[list[str], np.ndarray]:
    """Daily ED visit counts per scope over ``days`` days ending ``last_day`` (missing days are zeros)."""
    first = last_day - timedelta(days=days - 1)
    source = "facility" if level is ScopeLevel.FACILITY else "commune"
    rows = snap.get(("ed_daily", source, first, last_day, reason, age),
                    lambda: db.ed_visits_daily(snap.conn, source, first, last_day, reason=reason, age_band=age))
    index: dict[str, int] = {}
    cells: list[tuple[int, int, int]] = []
    for row in rows:
        scope_id = METROPOLIS_ID if level is ScopeLevel.METROPOLIS else row.scope_id
        if scope_id:
            cells.append((index.setdefault(scope_id, len(index)), (row.day - first).days, row.visits))
    matrix = np.zeros((len(index), days))
    if cells:
        rows_, cols, values = (np.array(column) for column in zip(*cells, strict=True))
        np.add.at(matrix, (rows_, cols), values)
    return list(index), matrix


Verdict = tuple[str, str, Any]  # scope id, scope key, Signal or the reason there is none


def _aberration_verdicts(rule: AberrationRule, snap: Snapshot) -> list[Verdict]:
    params = rule.resolved_params()
    weekly = rule.algorithm == "farrington"
    points = history_needed(rule.algorithm, params) + 1
    # The last complete local day (weekly: the last complete ISO week, Monday to Sunday).
    yesterday = snap.now.astimezone(LOCAL_TZ).date() - timedelta(days=1)
    last_day = yesterday - timedelta(days=(yesterday.weekday() + 1) % 7) if weekly else yesterday
    level = rule.scope.level
    ids, matrix = _daily_matrix(snap, level, rule.filters.get("reason"), rule.filters.get("age_band"),
                                points * 7 if weekly else points, last_day)
    if not ids:
        return []
    if weekly:
        matrix = matrix.reshape(len(ids), -1, 7).sum(axis=2)
    # When the store holds nothing as far back as the first point, the history is too short for the baseline:
    # no verdict, which is not "no alarm". Otherwise a zero is a true zero (a small commune's quiet day).
    too_short = not matrix[:, 0].any()
    young = np.full(len(ids), too_short)
    verdicts: list[Verdict] = []
    complete = [i for i in range(len(ids)) if not young[i]]
    signals = detect_many(rule.algorithm, matrix[complete], params) if complete else []
    period = {"period": "week" if weekly else "day", "period_end": last_day.isoformat()}
    for i, signal in zip(complete, signals, strict=True):
        verdicts.append((ids[i], scope_key(level, ids[i]), (signal, signal.as_details() | period)))
    for j in np.flatnonzero(young):
        scope_id = ids[int(j)]
        verdicts.append((scope_id, scope_key(level, scope_id), f"data only from later than {points} periods ago"))
    return verdicts


def _aberration(rule: AberrationRule, snap: Snapshot, current: dict[str, Severity]) -> list[Observation]:
    cache_key = ("aberration", rule.algorithm, tuple(sorted(rule.resolved_params().items())),
                 tuple(sorted(rule.filters.items())), rule.scope.level, snap.now.astimezone(LOCAL_TZ).date())
    verdicts = snap.get(cache_key, lambda: _aberration_verdicts(rule, snap), ttl_s=SLOW_SERIES_TTL_S)
    out = []
    for scope_id, key, verdict in verdicts:
        if not rule.scope.includes(scope_id):
            continue
        if isinstance(verdict, str):
            if key in current:
                out.append(Observation(key, None, None, {"algorithm": rule.algorithm, "note": verdict}, has_data=False))
            continue
        signal, details = verdict
        if signal.alarm or key in current:
            out.append(Observation(key, rule.severity if signal.alarm else None, signal.observed, details))
    return out


# ---------------------------------------------------------------------------------------- freshness, pipeline


def _freshness(rule: FreshnessRule, snap: Snapshot, current: dict[str, Severity]) -> list[Observation]:
    sources = snap.get(("fresh", rule.topic), lambda: db.source_silences(snap.conn, rule.topic))
    out = []
    for source in sources:
        if rule.station_kinds is not None and source.station_kind not in rule.station_kinds:
            continue
        if not rule.scope.includes(source.source_id):
            continue
        silence = max(snap.now - source.last_ingested_at, timedelta(0))
        late = silence > rule.max_silence
        key = scope_key(rule.scope.level, source.source_id)
        if not late and key not in current:
            continue
        details = {"observed": round(silence.total_seconds() / 60, 1), "unit": "minutes",
                   "last_ingested_at": source.last_ingested_at.isoformat(),
                   "last_event_at": source.last_event_at.isoformat(),
                   "expected_cadence_minutes": rule.max_silence.total_seconds() / 60, "feed_late": late}
        out.append(Observation(key, rule.severity if late else None, silence.total_seconds(), details))
    return out


class PipelineMemory:
    """Dead-letter counters seen at the previous cycles, to turn them into a rate (per process)."""

    def __init__(self) -> None:
        self.samples: dict[str, tuple[datetime, int]] = {}
        self.rates: dict[str, float] = {}


def _pipeline(
    rule: PipelineRule, snap: Snapshot, current: dict[str, Severity], memory: PipelineMemory
) -> list[Observation]:
    topics = snap.get(("pipeline",), lambda: db.pipeline_topics(snap.conn))
    groups: dict[str, list[Any]] = defaultdict(list)
    for topic in topics:
        groups[topic.consumer_group].append(topic)
    out = []
    for group, rows in groups.items():
        if not rule.scope.includes(group):
            continue
        key = scope_key(ScopeLevel.PLATFORM, group)
        value: float | None
        if rule.metric == "consumer_lag":
            fresh = [r for r in rows
                     if r.lag is not None and r.oldest_lag_at and snap.now - r.oldest_lag_at <= LAG_STALE]
            value = float(sum(r.lag or 0 for r in fresh)) if fresh else None
            details: dict[str, Any] = {"observed": value, "unit": "messages", "topics": len(rows)}
        else:
            total = sum(r.dead_lettered for r in rows)
            now = snap.now
            previous = memory.samples.get(group)
            if previous is None or now - previous[0] >= DLQ_MIN_GAP:
                if previous is not None:
                    memory.rates[group] = (total - previous[1]) / ((now - previous[0]).total_seconds() / 60)
                memory.samples[group] = (now, total)
            value = memory.rates.get(group)  # None until two samples a minute apart: no data yet
            details = {"observed": None if value is None else round(value, 2), "unit": "per minute",
                       "dead_lettered_total": total}
        seen = _graded(rule, key, value, current, details)
        if seen is not None:
            out.append(seen)
    return out


def observe(rule: Rule, snap: Snapshot, current: dict[str, Severity], memory: PipelineMemory) -> list[Observation]:
    """The observations of one rule this cycle that may change something (a breach, or an open alert)."""
    return [seen for seen in _observe(rule, snap, current, memory) if seen.breach is not None or seen.key in current]


def _observe(rule: Rule, snap: Snapshot, current: dict[str, Severity], memory: PipelineMemory) -> list[Observation]:
    if isinstance(rule, ThresholdRule):
        handler = {"occupancy_rate": _occupancy, "ed_visits_hourly": _ed_hourly, "pm10_daily_mean": _pm10}
        return handler[rule.indicator](rule, snap, current)
    if isinstance(rule, HeatWaveRule):
        return _heat_wave(rule, snap, current)
    if isinstance(rule, ForecastRule):
        return _forecast(rule, snap, current)
    if isinstance(rule, AberrationRule):
        return _aberration(rule, snap, current)
    if isinstance(rule, FreshnessRule):
        return _freshness(rule, snap, current)
    return _pipeline(rule, snap, current, memory)


# Which raw tables each rule reads: a notification naming one of them triggers its live evaluation.
def tables_read(rule: Rule) -> frozenset[str]:
    if isinstance(rule, ThresholdRule):
        return frozenset({
            "occupancy_rate": {"bed_occupancy_current"}, "ed_visits_hourly": {"emergency_visits"},
            "pm10_daily_mean": {"environment_observations"},
        }[rule.indicator])
    if isinstance(rule, HeatWaveRule):
        return frozenset({"environment_observations"})
    if isinstance(rule, AberrationRule):
        return frozenset({"emergency_visits"})
    return frozenset()
