"""Real time and simulated time: the clock a run reads and waits on, and the mapping of one to the other.

The clock is the simulator's only seam with the wall clock, so tests replace it with :class:`ManualClock`
and run the live phase in no time. :class:`LiveTimeline` maps real instants to simulated ones at a given
speed (1.0: real time; 60: one simulated minute per real second).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What a run needs from time: read it, and wait (waking early when asked to stop)."""

    def now(self) -> datetime:
        """The current real instant, aware UTC."""
        ...

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when waited on (tests; replays at a fixed pace)."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def wait(self, seconds: float, stop: threading.Event) -> None:
        if not stop.is_set():
            self._now += timedelta(seconds=max(0.0, seconds))

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward, as if that much real time had passed."""
        self._now += delta


@dataclass(frozen=True)
class LiveTimeline:
    """Simulated time advancing at ``speed`` times real time from a pair of matching instants."""

    real_start: datetime
    simulated_start: datetime
    speed: float

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be positive, got {self.speed}")

    def simulated(self, real_now: datetime) -> datetime:
        """The simulated instant matching ``real_now`` (never before the start)."""
        elapsed = max(0.0, (real_now - self.real_start).total_seconds())
        return self.simulated_start + timedelta(seconds=elapsed * self.speed)

    def real(self, simulated: datetime) -> datetime:
        """The real instant at which ``simulated`` is reached."""
        return self.real_start + timedelta(seconds=(simulated - self.simulated_start).total_seconds() / self.speed)
