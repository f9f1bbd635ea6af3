"""The alert lifecycle: pending period, keep-firing, hysteresis, no flapping, no data is not a recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from synopse.domain.alerts import (
    AlertState,
    EventKind,
    Level,
    Observation,
    Severity,
    Status,
    breached_level,
    step,
)

T0 = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
LEVELS = (Level(severity=Severity.WARNING, enter=0.85, exit=0.82),
          Level(severity=Severity.CRITICAL, enter=0.95, exit=0.92))


def run(values: list[float | None], *, every: timedelta = timedelta(minutes=1), pending_for: timedelta = timedelta(0),
        keep: timedelta = timedelta(minutes=10)) -> tuple[AlertState | None, list[tuple[int, EventKind]]]:
    state: AlertState | None = None
    events = []
    ids = iter(range(10_000))
    for i, value in enumerate(values):
        current = state.severity if state is not None and state.status is not Status.RESOLVED else None
        breach = None if value is None else breached_level(LEVELS, value, current)
        seen = Observation("facility:x", breach, value, {}, has_data=value is not None)
        state, event = step(state, seen, rule_id="r", now=T0 + i * every, pending_for=pending_for,
                            keep_firing_for=keep, new_alert_id=f"a{next(ids)}")
        if event is not None:
            events.append((i, event))
    return state, events


def test_hysteresis_holds_a_level_until_its_exit() -> None:
    assert breached_level(LEVELS, 0.86, None) is Severity.WARNING
    assert breached_level(LEVELS, 0.84, None) is None
    assert breached_level(LEVELS, 0.84, Severity.WARNING) is Severity.WARNING  # held: above exit 0.82
    assert breached_level(LEVELS, 0.81, Severity.WARNING) is None
    assert breached_level(LEVELS, 0.93, Severity.CRITICAL) is Severity.CRITICAL
    assert breached_level(LEVELS, 0.93, Severity.WARNING) is Severity.WARNING  # critical needs its enter
    assert breached_level(LEVELS, 0.91, Severity.CRITICAL) is Severity.WARNING


def test_below_direction_for_days_to_saturation() -> None:
    levels = (Level(severity=Severity.SEVERE, enter=3, exit=4),)
    assert breached_level(levels, 2, None, "below") is Severity.SEVERE
    assert breached_level(levels, 3.5, None, "below") is None
    assert breached_level(levels, 3.5, Severity.SEVERE, "below") is Severity.SEVERE


def test_a_value_oscillating_around_the_threshold_for_an_hour_fires_once() -> None:
    values = [0.85 + (0.01 if minute % 2 else -0.01) for minute in range(60)]  # 0.84, 0.86, 0.84 ...
    state, events = run(values)
    assert events == [(1, EventKind.FIRING)]
    assert state is not None and state.status is Status.FIRING


def test_without_hysteresis_keep_firing_for_still_prevents_flapping() -> None:
    _, events = run([0.86, 0.80, 0.86, 0.80, 0.86, 0.80] * 10, keep=timedelta(minutes=5))
    assert [e for _, e in events] == [EventKind.FIRING]


def test_pending_period_then_firing_then_resolution_after_keep_firing_for() -> None:
    values = [0.9] * 6 + [0.5] * 11  # the last value is the resolving one
    state, events = run(values, pending_for=timedelta(minutes=5), keep=timedelta(minutes=10))
    assert events == [(5, EventKind.FIRING), (16, EventKind.RESOLVED)]
    assert state is not None and state.status is Status.RESOLVED and state.resolved_at == T0 + timedelta(minutes=16)


def test_a_breach_shorter_than_the_pending_period_never_fires() -> None:
    state, events = run([0.9, 0.9, 0.5, 0.9, 0.5], pending_for=timedelta(minutes=5))
    assert events == [] and state is None


def test_a_grade_change_is_an_event_and_keeps_the_episode() -> None:
    state, events = run([0.86, 0.96, 0.93, 0.90])
    assert [e for _, e in events] == [EventKind.FIRING, EventKind.CHANGED, EventKind.CHANGED]
    assert state is not None and state.alert_id == "a0" and state.severity is Severity.WARNING


def test_no_data_keeps_a_firing_alert_firing() -> None:
    state, events = run([0.9, None, None, None, None, None, None, None, None, None, None, None, None, None])
    assert [e for _, e in events] == [EventKind.FIRING]
    assert state is not None and state.status is Status.FIRING


def test_a_new_breach_after_resolution_is_a_new_episode() -> None:
    state, events = run([0.9] + [0.5] * 11 + [0.9], keep=timedelta(minutes=10))
    assert [e for _, e in events] == [EventKind.FIRING, EventKind.RESOLVED, EventKind.FIRING]
    assert state is not None and state.alert_id != "a0"
