"""A run catches up, then follows the (fake) clock at its speed, and sends what the model makes, no more."""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from simulator.cli import simulate_command
from simulator.clock import LiveTimeline, ManualClock
from simulator.model import count_by_kind, generate
from simulator.run import Progress, simulate, stop_on_signals
from simulator.scenario import default_scenario
from synopse.config import Settings
from synopse.domain.events import Event
from synopse.errors import ConfigurationError

NOW = datetime(2025, 3, 10, 14, 20, 30, tzinfo=UTC)


class ListSink:
    """Collects what a run sends; counts flushes."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.sends = 0
        self.flushes = 0

    def send(self, events: Iterable[Event]) -> int:
        batch = list(events)
        self.events.extend(batch)
        self.sends += 1
        return len({(type(e), e.key) for e in batch})

    def flush(self) -> None:
        self.flushes += 1


def test_a_window_in_the_past_is_caught_up_and_the_run_ends():
    scenario = default_scenario(NOW, backfill=timedelta(hours=6))
    sink, seen = ListSink(), []
    until = NOW - timedelta(hours=2)
    summary = simulate(sink, scenario, backfill=timedelta(hours=6), until=until, clock=ManualClock(NOW),
                       progress=seen.append)
    origin = datetime(2025, 3, 10, 8, tzinfo=UTC)  # now - 6 h, floored to the hour
    assert sink.events == generate(scenario, origin, until)
    assert summary.stopped_by == "until"
    assert summary.simulated_to == until
    assert summary.events == count_by_kind(sink.events)
    assert {p.phase for p in seen} == {"catch-up", "done"}
    assert sink.sends == 5  # one per simulated hour: 08, 09, 10, 11 and 12:00-12:20:30
    assert sink.flushes >= 1


@pytest.mark.parametrize("speed", [60.0, 300.0])
def test_the_live_phase_sends_the_same_events_at_any_speed(speed):
    scenario = default_scenario(NOW, backfill=timedelta(hours=2))
    sink, seen = ListSink(), []
    until = NOW + timedelta(hours=2, minutes=10)
    clock = ManualClock(NOW)
    summary = simulate(sink, scenario, backfill=timedelta(hours=2), speed=speed, until=until, clock=clock,
                       progress=seen.append, slice_seconds=5.0)
    assert sink.events == generate(scenario, datetime(2025, 3, 10, 12, tzinfo=UTC), until)
    assert summary.stopped_by == "until"
    live = [p for p in seen if p.phase == "live"]
    assert live
    # Simulated time went at `speed` times the (fake) real time: 5 s slices are 5 x speed simulated seconds.
    steps = {round((b.simulated_to - a.simulated_to).total_seconds()) for a, b in itertools.pairwise(live)}
    assert max(steps) == round(5.0 * speed)
    real_s = (clock.now() - NOW).total_seconds()
    assert real_s == pytest.approx((until - NOW).total_seconds() / speed, abs=5.0)


def test_max_hours_bounds_the_run():
    scenario = default_scenario(NOW, backfill=timedelta(hours=3))
    sink = ListSink()
    summary = simulate(sink, scenario, backfill=timedelta(hours=3), max_hours=2, clock=ManualClock(NOW))
    assert summary.stopped_by == "max_hours"
    assert summary.simulated_to == datetime(2025, 3, 10, 13, tzinfo=UTC)
    assert summary.simulated_hours == 2


def test_a_stop_request_ends_the_run_after_flushing_what_was_sent():
    scenario = default_scenario(NOW, backfill=timedelta(hours=10))
    sink, stop = ListSink(), threading.Event()

    def stop_after_three_hours(progress: Progress) -> None:
        if progress.simulated_hours >= 3:
            stop.set()

    summary = simulate(sink, scenario, backfill=timedelta(hours=10), clock=ManualClock(NOW), stop=stop,
                       progress=stop_after_three_hours)
    assert summary.stopped_by == "signal"
    assert summary.simulated_hours == 3
    assert sink.events == generate(scenario, summary.origin, summary.simulated_to)
    assert sink.flushes >= 1


def test_sigterm_sets_the_stop_event_and_handlers_are_restored():
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
    assert signal.getsignal(signal.SIGTERM) == before


def test_live_timeline_maps_real_to_simulated_time():
    real, simulated = datetime(2025, 1, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)
    timeline = LiveTimeline(real, simulated, speed=60.0)
    assert timeline.simulated(real + timedelta(seconds=10)) == simulated + timedelta(minutes=10)
    assert timeline.simulated(real - timedelta(seconds=10)) == simulated
    assert timeline.real(simulated + timedelta(hours=1)) == real + timedelta(minutes=1)
    with pytest.raises(ValueError, match="speed"):
        LiveTimeline(real, simulated, speed=0)


def test_until_must_be_aware():
    scenario = default_scenario(NOW, backfill=timedelta(hours=1))
    with pytest.raises(ValueError, match="aware"):
        simulate(ListSink(), scenario, until=datetime(2025, 3, 10), clock=ManualClock(NOW))


@pytest.mark.parametrize("options", [{"speed": 0.0}, {"backfill_days": -1.0}, {"max_hours": 0.0}])
def test_the_command_refuses_options_out_of_range(options):
    with pytest.raises(ConfigurationError):
        simulate_command(Settings(), **options)
