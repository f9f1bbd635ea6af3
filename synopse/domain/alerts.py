"""Alert rules, severities and the alert lifecycle: the pure core that the alerts service and the screens share.

Boundary: no I/O. Rules are pydantic models validated from the version-controlled YAML (or from an edit in
the platform); the lifecycle is a pure function from (state, what the rule sees now) to (new state, events).
The payload contracts of the outside world (Alertmanager webhook v4, CAP 1.2) are built in ``alerts/`` from
these types; the shapes the dashboard reads back from the tables are here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter, ValidationError, model_validator
from pydantic.functional_validators import BeforeValidator

# ---------------------------------------------------------------------------------------------- severities


class Severity(StrEnum):
    """Graded levels, lowest first. Each has a text label and a colour-blind-safe colour (never colour alone)."""

    INFO = "info"
    WARNING = "warning"
    SEVERE = "severe"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    @property
    def label(self) -> str:
        return SEVERITY_STYLE[self][0]

    @property
    def colour(self) -> str:
        return SEVERITY_STYLE[self][1]

    @property
    def cap_severity(self) -> str:
        """The CAP 1.2 <severity> value."""
        return {"info": "Minor", "warning": "Moderate", "severe": "Severe", "critical": "Extreme"}[self.value]


_SEVERITY_ORDER = (Severity.INFO, Severity.WARNING, Severity.SEVERE, Severity.CRITICAL)

# Okabe-Ito colours (Okabe & Ito 2008), chosen to stay distinct under the three common colour-vision
# deficiencies; blue, yellow, orange, vermillion also darken in that order, so the grade reads in grey too.
# (label, background colour, text colour with at least 4.5:1 contrast on it)
SEVERITY_STYLE: dict[Severity, tuple[str, str, str]] = {
    Severity.INFO: ("Information", "#0072B2", "#FFFFFF"),
    Severity.WARNING: ("Vigilance", "#F0E442", "#000000"),
    Severity.SEVERE: ("Alerte", "#E69F00", "#000000"),
    Severity.CRITICAL: ("Crise", "#D55E00", "#000000"),
}

# ----------------------------------------------------------------------------------------------- durations

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """``"90s"``, ``"10m"``, ``"2h"``, ``"3d"``, ``"1w"``, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise ValueError(f"expected a duration such as 90s, 10m, 2h or 3d, got {value!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]

# -------------------------------------------------------------------------------------------------- rules


class ScopeLevel(StrEnum):
    """What one alert instance is about: a facility, a commune, a station, the whole metropolis, the platform."""

    FACILITY = "facility"
    COMMUNE = "commune"
    STATION = "station"
    METROPOLIS = "metropolis"
    PLATFORM = "platform"


METROPOLIS_ID = "nantes-metropole"
PLATFORM_ID = "synopse"


def scope_key(level: ScopeLevel, scope_id: str) -> str:
    """The stable key of one alert instance within a rule, e.g. ``facility:chu-nantes-hotel-dieu``."""
    return f"{level.value}:{scope_id}"


def split_scope_key(key: str) -> tuple[ScopeLevel, str]:
    level, _, scope_id = key.partition(":")
    return ScopeLevel(level), scope_id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """Which instances a rule watches: every one at ``level``, or only ``ids``."""

    level: ScopeLevel
    ids: tuple[str, ...] | None = Field(default=None, min_length=1)

    def includes(self, scope_id: str) -> bool:
        return self.ids is None or scope_id in self.ids


class Level(_Strict):
    """One grade of a threshold rule: it is entered at ``enter`` and left only past ``exit`` (no flapping)."""

    severity: Severity
    enter: float
    exit: float | None = Field(default=None, description="Defaults to enter (no hysteresis).")

    def exit_value(self) -> float:
        return self.enter if self.exit is None else self.exit


class _RuleBase(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    enabled: bool = True
    scope: Scope
    pending_for: Duration = Field(default=timedelta(0), alias="for")
    keep_firing_for: Duration = timedelta(minutes=30)
    labels: dict[str, str] = Field(default_factory=dict)
    instruction: str = Field(default="", description="What the reader should do (CAP <instruction>).")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def indicator_name(self) -> str:
        raise NotImplementedError

    @property
    def severities(self) -> tuple[Severity, ...]:
        raise NotImplementedError


class _Graded(_RuleBase):
    direction: Literal["above", "below"] = "above"
    levels: tuple[Level, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent_levels(self) -> _Graded:
        severities = [level.severity for level in self.levels]
        if len(set(severities)) != len(severities):
            raise ValueError("each severity may appear once in levels")
        ordered = sorted(self.levels, key=lambda level: level.severity.rank)
        sign = 1 if self.direction == "above" else -1
        for lower, higher in itertools.pairwise(ordered):
            if sign * (higher.enter - lower.enter) <= 0:
                raise ValueError(
                    f"levels: {higher.severity} must be entered {self.direction} {lower.severity} "
                    f"({higher.enter} vs {lower.enter})"
                )
        for level in self.levels:
            if sign * (level.enter - level.exit_value()) < 0:
                raise ValueError(
                    f"levels: exit of {level.severity} ({level.exit}) must be on the safe side of enter "
                    f"({level.enter}) for direction {self.direction}"
                )
        return self

    @property
    def severities(self) -> tuple[Severity, ...]:
        return tuple(level.severity for level in self.levels)


ObservedIndicator = Literal["ed_visits_hourly", "occupancy_rate", "pm10_daily_mean"]


class ThresholdRule(_Graded):
    """A threshold on an observed indicator (ED visits per hour, occupancy rate, PM10 daily mean)."""

    kind: Literal["threshold"]
    indicator: ObservedIndicator
    filters: dict[str, str] = Field(default_factory=dict, description="care_unit, reason, age_band.")
    min_hours: int = Field(default=6, ge=1, le=24, description="pm10_daily_mean: hourly values needed in the day.")

    @property
    def indicator_name(self) -> str:
        return self.indicator

    @model_validator(mode="after")
    def _fits_indicator(self) -> ThresholdRule:
        allowed = {
            "ed_visits_hourly": ({ScopeLevel.FACILITY, ScopeLevel.METROPOLIS}, {"reason", "age_band"}),
            "occupancy_rate": ({ScopeLevel.FACILITY, ScopeLevel.COMMUNE, ScopeLevel.METROPOLIS}, {"care_unit"}),
            "pm10_daily_mean": ({ScopeLevel.STATION, ScopeLevel.METROPOLIS}, set()),
        }[self.indicator]
        if self.scope.level not in allowed[0]:
            raise ValueError(f"scope.level {self.scope.level} does not fit {self.indicator}")
        unknown = set(self.filters) - allowed[1]
        if unknown:
            raise ValueError(f"filters {sorted(unknown)} do not apply to {self.indicator}")
        return self


class HeatWaveRule(_RuleBase):
    """Météo-France style heat wave: means over ``days`` consecutive days of the daily min (IBMn) and max (IBMx)."""

    kind: Literal["heat_wave"]
    severity: Severity = Severity.SEVERE
    days: int = Field(default=3, ge=1, le=10)
    ibmn_enter: float = 20.0
    ibmx_enter: float = 34.0
    # Leave only when both means are a degree under their thresholds: a day at 33.9 °C does not end a wave.
    exit_margin: float = Field(default=1.0, ge=0)

    @property
    def indicator_name(self) -> str:
        return "heat_wave"

    @property
    def severities(self) -> tuple[Severity, ...]:
        return (self.severity,)

    @model_validator(mode="after")
    def _station_scope(self) -> HeatWaveRule:
        if self.scope.level not in (ScopeLevel.STATION, ScopeLevel.METROPOLIS):
            raise ValueError("scope.level of a heat_wave rule is station or metropolis")
        return self


class ForecastRule(_Graded):
    """A threshold on a forecast: probability of exceeding capacity within N days, or days until saturation."""

    kind: Literal["forecast"]
    metric: Literal["exceed_probability", "days_to_saturation"]
    within_days: int = Field(default=7, ge=1, le=60)

    @property
    def indicator_name(self) -> str:
        return f"forecast_{self.metric}"

    @model_validator(mode="after")
    def _facility_scope(self) -> ForecastRule:
        if self.scope.level is not ScopeLevel.FACILITY:
            raise ValueError("scope.level of a forecast rule is facility")
        if self.metric == "days_to_saturation" and self.direction != "below":
            raise ValueError("days_to_saturation rules use direction: below")
        return self


Algorithm = Literal["ears_c1", "ears_c2", "ears_c3", "cusum", "farrington"]


class AberrationRule(_RuleBase):
    """Statistical aberration detection on daily (EARS, CUSUM) or weekly (Farrington) ED visit counts."""

    kind: Literal["aberration"]
    indicator: Literal["ed_visits_daily"] = "ed_visits_daily"
    algorithm: Algorithm
    params: dict[str, float | int | bool | str] = Field(default_factory=dict)
    filters: dict[str, str] = Field(default_factory=dict, description="reason, age_band.")
    severity: Severity = Severity.WARNING

    @property
    def indicator_name(self) -> str:
        return self.indicator

    @property
    def severities(self) -> tuple[Severity, ...]:
        return (self.severity,)

    @model_validator(mode="after")
    def _check(self) -> AberrationRule:
        if self.scope.level not in (ScopeLevel.FACILITY, ScopeLevel.COMMUNE, ScopeLevel.METROPOLIS):
            raise ValueError("scope.level of an aberration rule is facility, commune or metropolis")
        unknown = set(self.filters) - {"reason", "age_band"}
        if unknown:
            raise ValueError(f"filters {sorted(unknown)} do not apply to ed_visits_daily")
        allowed = ALGORITHM_PARAMETERS[self.algorithm]
        extra = set(self.params) - set(allowed)
        if extra:
            raise ValueError(f"params {sorted(extra)} unknown to {self.algorithm} (known: {sorted(allowed)})")
        return self

    def resolved_params(self) -> dict[str, Any]:
        """The algorithm's defaults overridden by the rule's params."""
        return {**ALGORITHM_PARAMETERS[self.algorithm], **self.params}


# Usual defaults. EARS (Hutwagner et al. 2003; CDC): 7-day baseline, C2/C3 with a 2-day lag, alarm at 3
# standard deviations (C1, C2) and at 2 for the C3 sum. CUSUM: reference value k = 0.5 sd and decision
# interval h = 4 sd (Montgomery's standard design: detects a one-sd shift in about 8 periods, about one
# false alarm per 168 periods in control), standardised on a 28-day baseline. Farrington flexible: the
# defaults of R surveillance::farringtonFlexible (b = 5 years, w = 3 weeks, reweighting at 2.58,
# alpha = 0.05 one-sided, trend kept at p < 0.05, the 5-in-4-weeks low-count rule, 2/3 power transform).
ALGORITHM_PARAMETERS: dict[str, dict[str, Any]] = {
    "ears_c1": {"baseline": 7, "lag": 0, "threshold": 3.0, "min_sigma": 0.5},
    "ears_c2": {"baseline": 7, "lag": 2, "threshold": 3.0, "min_sigma": 0.5},
    "ears_c3": {"baseline": 7, "lag": 2, "threshold": 2.0, "min_sigma": 0.5},
    "cusum": {"baseline": 28, "lag": 2, "k": 0.5, "h": 4.0, "min_sigma": 0.5},
    "farrington": {
        "b": 5, "w": 3, "alpha": 0.05, "reweight": True, "weights_threshold": 2.58, "trend": True,
        "p_threshold_trend": 0.05, "limit54_cases": 5, "limit54_period": 4,
    },
}


class FreshnessRule(_RuleBase):
    """A source (a facility on a topic, a station) silent longer than its cadence: "feed late", not a zero."""

    kind: Literal["freshness"]
    topic: str = Field(description="Input topic name without prefix, e.g. synopse.bed_snapshots.v1.")
    max_silence: Duration
    severity: Severity = Severity.WARNING
    station_kinds: tuple[str, ...] | None = Field(default=None, description="Only stations of these kinds.")

    @property
    def indicator_name(self) -> str:
        return "freshness"

    @property
    def severities(self) -> tuple[Severity, ...]:
        return (self.severity,)

    @model_validator(mode="after")
    def _check(self) -> FreshnessRule:
        if self.scope.level not in (ScopeLevel.FACILITY, ScopeLevel.STATION):
            raise ValueError("scope.level of a freshness rule is facility or station")
        return self


class PipelineRule(_Graded):
    """The platform watching itself: stream consumer lag (messages) or dead-letter rate (messages per minute)."""

    kind: Literal["pipeline"]
    metric: Literal["consumer_lag", "dead_letter_rate"]

    @property
    def indicator_name(self) -> str:
        return self.metric

    @model_validator(mode="after")
    def _platform(self) -> PipelineRule:
        if self.scope.level is not ScopeLevel.PLATFORM:
            raise ValueError("scope.level of a pipeline rule is platform")
        return self


Rule = Annotated[
    ThresholdRule | HeatWaveRule | ForecastRule | AberrationRule | FreshnessRule | PipelineRule,
    Field(discriminator="kind"),
]


class RuleSet(_Strict):
    """The YAML file: a version and a list of rules with unique ids."""

    version: Literal[1] = 1
    rules: tuple[Rule, ...]

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)
        return self


_RULE_ADAPTER: TypeAdapter[Rule] = TypeAdapter(Rule)


class RuleError(ValueError):
    """A rule file or a rule edit is invalid; the message names each bad place as a path (rules[3].levels)."""


def _path(loc: tuple[int | str, ...], rules: list[Any] | None) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            if rules is not None and i == 1 and 0 <= part < len(rules) and isinstance(rules[part], dict):
                out += f"(id={rules[part].get('id', '?')})"
        elif part in {"threshold", "heat_wave", "forecast", "aberration", "freshness", "pipeline"} and i == 2:
            continue  # the discriminator tag pydantic inserts; the rule's kind is already known to the reader
        else:
            out += ("." if out else "") + str(part)
    return out or "(file)"


def describe_errors(exc: ValidationError, document: Any = None) -> list[str]:
    """One line per problem: the YAML path (with the rule's id), then what is wrong."""
    rules = document.get("rules") if isinstance(document, dict) else None
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        lines.append(f"{_path(tuple(error['loc']), rules if isinstance(rules, list) else None)}: {error['msg']}")
    return lines


def parse_rule_set(document: Any) -> RuleSet:
    """Validate a loaded YAML document into a RuleSet, or raise RuleError listing every problem."""
    try:
        return RuleSet.model_validate(document)
    except ValidationError as exc:
        raise RuleError("invalid rules:\n  " + "\n  ".join(describe_errors(exc, document))) from exc


def parse_rule(document: Any) -> Rule:
    """Validate one rule (an edit made in the platform)."""
    try:
        return _RULE_ADAPTER.validate_python(document)
    except ValidationError as exc:
        raise RuleError("invalid rule:\n  " + "\n  ".join(describe_errors(exc))) from exc


def rule_document(rule: Rule) -> dict[str, Any]:
    """The rule as a JSON/YAML-ready mapping (durations as strings), for storage and the audit trail."""
    return rule.model_dump(mode="json", by_alias=True, exclude_defaults=False)


# Roles of the access model (synopse.domain.access.Role) allowed to change rules through the platform: the
# administrators and the crisis cell, who act on the alerts; partners and viewers only read them.
RULE_EDITOR_ROLES = frozenset({"administrator", "crisis_cell"})


def can_edit_rules(roles: set[str] | frozenset[str]) -> bool:
    return bool(RULE_EDITOR_ROLES & set(roles))


# ---------------------------------------------------------------------------------------------- lifecycle


class Status(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    """State changes that are notified."""

    FIRING = "firing"
    RESOLVED = "resolved"
    CHANGED = "changed"  # still firing, at another severity


@dataclass(frozen=True)
class AlertState:
    """The durable state of one alert instance (one rule, one scope key)."""

    rule_id: str
    key: str
    alert_id: str  # one episode: from pending to resolved
    status: Status
    severity: Severity
    pending_since: datetime
    firing_since: datetime | None
    clear_since: datetime | None  # when the condition last stopped holding while firing
    resolved_at: datetime | None
    value: float | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Observation:
    """What a rule sees now for one instance: the breached severity (after hysteresis), or none, or no data."""

    key: str
    breach: Severity | None
    value: float | None
    details: dict[str, Any]
    has_data: bool = True


def breached_level(
    levels: tuple[Level, ...], value: float, current: Severity | None, direction: str = "above"
) -> Severity | None:
    """The highest level whose ``enter`` is crossed, or that is held because ``value`` has not passed its ``exit``.

    A level at or below the current one is held until its exit; a higher level needs its enter.
    """
    sign = 1.0 if direction == "above" else -1.0
    best: Severity | None = None
    for level in levels:
        entered = sign * (value - level.enter) >= 0
        held = current is not None and level.severity.rank <= current.rank and sign * (value - level.exit_value()) >= 0
        if (entered or held) and (best is None or level.severity.rank > best.rank):
            best = level.severity
    return best


def step(
    state: AlertState | None,
    seen: Observation,
    *,
    rule_id: str,
    now: datetime,
    pending_for: timedelta,
    keep_firing_for: timedelta,
    new_alert_id: str | Callable[[], str],
) -> tuple[AlertState | None, EventKind | None]:
    """Advance one alert instance: returns its new state (None: inactive, forget it) and the event to notify.

    No data keeps the state as it is: a silent feed is not a return to normal (a freshness rule says so).
    ``new_alert_id`` names a new episode (a callable is only called when one starts).
    """
    if not seen.has_data:
        return state, None
    active = state if state is not None and state.status is not Status.RESOLVED else None
    if seen.breach is None:
        if active is None:
            return None, None
        if active.status is Status.PENDING:
            return None, None
        clear_since = active.clear_since or now
        if now - clear_since >= keep_firing_for:
            return replace(active, status=Status.RESOLVED, resolved_at=now, clear_since=clear_since,
                           value=seen.value, details=seen.details), EventKind.RESOLVED
        return replace(active, clear_since=clear_since, value=seen.value, details=seen.details), None
    if active is None:
        alert_id = new_alert_id if isinstance(new_alert_id, str) else new_alert_id()
        active = AlertState(rule_id, seen.key, alert_id, Status.PENDING, seen.breach, now, None, None, None,
                            seen.value, seen.details)
    if active.status is Status.PENDING:
        active = replace(active, severity=seen.breach, value=seen.value, details=seen.details)
        if now - active.pending_since >= pending_for:
            return replace(active, status=Status.FIRING, firing_since=now), EventKind.FIRING
        return active, None
    # Firing: a breach clears any countdown to resolution; a change of grade is notified.
    event = EventKind.CHANGED if seen.breach is not active.severity else None
    return replace(active, severity=seen.breach, clear_since=None, value=seen.value, details=seen.details), event
