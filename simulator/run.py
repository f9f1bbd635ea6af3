"""Running a simulation: catch up on the recent past as fast as possible, then follow the clock, sending events.

The run owns time and delivery, not content: it asks :class:`simulator.model.TerritorySimulation` for
the events of each window and hands them to a sink (the Kafka :class:`synopse.producer.EventProducer`,
or a list in tests). Catch-up sends one simulated hour at a time; the live phase sends, every few real
seconds, what became due at ``speed`` times real time. SIGINT/SIGTERM stop it cleanly: the current
window is sent and flushed before it returns its summary.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import FrameType
from typing import Literal, Protocol

from simulator.clock import Clock, LiveTimeline, SystemClock
from simulator.model import TerritorySimulation, count_by_kind
from simulator.scenario import DEFAULT_BACKFILL, Scenario, floor_hour
from simulator.territory import DEFAULT_TERRITORY, Territory
from synopse.domain.events import Event

logger = logging.getLogger(__name__)

# Real seconds between two live sends: the dashboard refreshes every 15 s at the fastest, so each refresh
# sees fresh data, while a send stays a handful of messages.
DEFAULT_SLICE_SECONDS = 5.0
# Catch-up confirms delivery once per simulated day: a failure is reported within a day's worth of events
# (about 4,000) without waiting on the broker after every hour.
CATCH_UP_FLUSH_EVERY = timedelta(days=1)
# A progress line per simulated day in catch-up, per real minute live: readable, never a flood.
LIVE_LOG_EVERY_S = 60.0

Phase = Literal["catch-up", "live", "done"]
StopReason = Literal["until", "max_hours", "signal"]


class EventSink(Protocol):
    """Where events go: :class:`synopse.producer.EventProducer` satisfies it."""

    def send(self, events: Iterable[Event]) -> int: ...

    def flush(self) -> None: ...


@dataclass
class Progress:
    """Where a run stands; passed to the progress callback after every send."""

    phase: Phase
    origin: datetime  # first simulated instant
    simulated_to: datetime  # everything before this instant has been sent
    events: dict[str, int] = field(default_factory=dict)  # per contract name
    messages: int = 0  # Kafka messages (batch envelopes) queued
    elapsed_s: float = 0.0
    stopped_by: StopReason | None = None

    @property
    def simulated_hours(self) -> float:
        return (self.simulated_to - self.origin).total_seconds() / 3600

    @property
    def events_total(self) -> int:
        return sum(self.events.values())

    def describe(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.events.items()))
        return (f"{self.phase}: simulated to {self.simulated_to:%Y-%m-%d %H:%M:%S}Z ({self.simulated_hours:.1f} h), "
                f"{self.events_total} events ({kinds}), {self.messages} messages, {self.elapsed_s:.1f} s")


ProgressCallback = Callable[[Progress], None]


def simulate(
    sink: EventSink,
    scenario: Scenario,
    *,
    backfill: timedelta | None = DEFAULT_BACKFILL,
    speed: float = 1.0,
    until: datetime | None = None,
    max_hours: float | None = None,
    progress: ProgressCallback | None = None,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    slice_seconds: float = DEFAULT_SLICE_SECONDS,
    territory: Territory = DEFAULT_TERRITORY,
) -> Progress:
    """Generate the scenario into ``sink``: catch-up from ``now - backfill``, then live at ``speed``.

    Args:
        sink: Receives the events, one simulated hour (catch-up) or one slice (live) at a time.
        scenario: What happens, and the seed.
        backfill: History generated at once before going live; None starts at ``scenario.start``.
        speed: Simulated seconds per real second in the live phase.
        until: Stop at this simulated instant (if it is in the past, the run is catch-up only).
        max_hours: Stop after this many simulated hours.
        progress: Called after every send with the run's :class:`Progress`.
        clock: Real time (the system clock by default).
        stop: Set it to stop the run; the current window is sent and flushed first.
        slice_seconds: Real seconds between live sends.
        territory: Communes, facilities and stations.

    Returns:
        The final progress: what was sent, up to when, and why it stopped.
    """
    clock = clock or SystemClock()
    stop = stop or threading.Event()
    if not speed > 0:
        raise ValueError(f"speed must be positive, got {speed}")
    if until is not None and until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    origin = floor_hour(clock.now() - backfill) if backfill is not None else floor_hour(scenario.start)
    end: datetime | None = until
    end_reason: StopReason = "until"
    if max_hours is not None and (end is None or origin + timedelta(hours=max_hours) < end):
        end, end_reason = origin + timedelta(hours=max_hours), "max_hours"
    started = time.monotonic()
    logger.info("simulating scenario %r (seed %d) from %s", scenario.name, scenario.seed, f"{origin:%Y-%m-%d %H:%M}Z")
    for line in scenario.timeline():
        logger.info("  %s", line)
    model = TerritorySimulation(scenario, origin, territory)
    state = Progress("catch-up", origin, origin)

    def send(target: datetime, phase: Phase) -> None:
        events = model.advance(target)
        state.messages += sink.send(events)
        for kind, count in count_by_kind(events).items():
            state.events[kind] = state.events.get(kind, 0) + count
        state.phase, state.simulated_to = phase, target
        state.elapsed_s = time.monotonic() - started
        if progress is not None:
            progress(replace(state, events=dict(state.events)))

    # Catch-up: hour by hour, as fast as the model and the broker go, up to the real now (or the end). The
    # clock moves meanwhile: another round covers that time, until what is left is less than a live slice.
    last_flush = origin
    while not stop.is_set():
        horizon = clock.now() if end is None else min(clock.now(), end)
        if horizon - state.simulated_to <= timedelta(seconds=slice_seconds) and state.simulated_to > origin:
            break
        while not stop.is_set() and state.simulated_to < horizon:
            send(min(floor_hour(state.simulated_to) + timedelta(hours=1), horizon), "catch-up")
            if state.simulated_to - last_flush >= CATCH_UP_FLUSH_EVERY:
                sink.flush()
                last_flush = state.simulated_to
                logger.info("%s", state.describe())
        if end is not None and state.simulated_to >= end:
            break
    sink.flush()
    logger.info("%s", state.describe())

    # Live: simulated time follows real time at the given speed, one slice every few real seconds.
    if end is None or state.simulated_to < end:
        timeline = LiveTimeline(clock.now(), state.simulated_to, speed)
        logger.info("live at %gx real time from %s", speed, f"{state.simulated_to:%Y-%m-%d %H:%M:%S}Z")
        last_log = time.monotonic()
        while not stop.is_set():
            target = timeline.simulated(clock.now())
            if end is not None:
                target = min(target, end)
            if target > state.simulated_to:
                send(target, "live")
                sink.flush()
            if end is not None and state.simulated_to >= end:
                break
            if time.monotonic() - last_log >= LIVE_LOG_EVERY_S:
                logger.info("%s", state.describe())
                last_log = time.monotonic()
            clock.wait(slice_seconds, stop)
        sink.flush()

    state.stopped_by = "signal" if stop.is_set() else end_reason
    state.phase, state.elapsed_s = "done", time.monotonic() - started
    logger.info("done (%s): %s", state.stopped_by, state.describe())
    if progress is not None:
        progress(replace(state, events=dict(state.events)))
    return state


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT or SIGTERM while inside; a second SIGINT interrupts at once.

    Signal handlers can only be installed from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: FrameType | None) -> None:
        logger.info("%s received: stopping after the current window", signal.Signals(signum).name)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_simulation(
    bootstrap_servers: str,
    topic_prefix: str,
    scenario: Scenario,
    *,
    backfill: timedelta | None = DEFAULT_BACKFILL,
    speed: float = 1.0,
    until: datetime | None = None,
    max_hours: float | None = None,
    progress: ProgressCallback | None = None,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
) -> Progress:
    """Simulate ``scenario`` into the broker's input topics until ``until``/``max_hours`` or a signal.

    See :func:`simulate` for the arguments; events go through :class:`synopse.producer.EventProducer`
    (batch envelopes grouped by topic and key), flushed at least once per simulated day and per live slice.

    Raises:
        ServiceUnavailableError: The broker cannot be reached or does not acknowledge the events.
    """
    from synopse.producer import EventProducer  # the Kafka client loads only where a run talks to a broker

    stop = stop or threading.Event()
    with EventProducer(bootstrap_servers, topic_prefix, client_id="synopse-simulator") as producer, \
            stop_on_signals(stop):
        return simulate(producer, scenario, backfill=backfill, speed=speed, until=until, max_hours=max_hours,
                        progress=progress, clock=clock, stop=stop)
