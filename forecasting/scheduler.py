"""The scheduler: runs the forecasting job when a new day of data is complete, and every few hours anyway.

Boundary: a loop around :func:`forecasting.jobs.run_forecasts` in its own process (``synopse forecast
schedule``, started by ``synopse up``). Every ``schedule_interval_min`` it compares the store's data with
the latest finished run: a newer complete day ("new_data"), or a run older than ``refresh_hours``
("schedule"), or no run yet, starts a run. The first look comes 90 s after the start (the simulator's
history is in by then), and while the store is empty it looks again every 90 s. A failed run is logged
and retried at the next tick; SIGTERM or Ctrl-C stops the loop, and a run in progress records itself as
failed."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from forecasting.jobs import RunSummary, origin_for, run_forecasts
from synopse.config import Settings
from synopse.db import forecast_inputs as inputs
from synopse.db import forecasts as db
from synopse.db.connection import connect
from synopse.errors import DataUnavailableError, SynopseError

log = logging.getLogger(__name__)

# The simulator of `synopse up` writes its 13 weeks of history in about 70 s: a first look after 90 s
# forecasts from all of it (on a slower machine, the next look sees the newer complete day and runs again);
# until the store has data, it looks again every 90 s.
FIRST_CHECK_DELAY_S = 90.0


def due(settings: Settings, now: datetime | None = None) -> str | None:
    """Why a run is due now (``new_data`` or ``schedule``), or None when the latest run is current."""
    now = now or datetime.now(UTC)
    with connect(settings.dsn, connect_timeout_s=settings.db.connect_timeout_s) as conn:
        cutoff = inputs.data_cutoff(conn)
        if cutoff is None:
            return None
        latest = db.latest_run(conn)
    if latest is None or origin_for(cutoff) > latest.origin_date:
        return "new_data"
    if now - latest.started_at >= timedelta(hours=settings.forecast.refresh_hours):
        return "schedule"
    return None


def _has_run(settings: Settings) -> bool:
    with connect(settings.dsn, connect_timeout_s=settings.db.connect_timeout_s) as conn:
        return db.latest_run(conn) is not None


def run_schedule(
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    on_run: Callable[[RunSummary], None] | None = None,
    max_runs: int | None = None,
) -> int:
    """Loop until stopped; returns the number of runs made."""
    stop = stop or threading.Event()
    previous = _stop_on_signals(stop)
    try:
        return _loop(settings, stop, on_run, max_runs)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _loop(
    settings: Settings, stop: threading.Event, on_run: Callable[[RunSummary], None] | None, max_runs: int | None
) -> int:
    interval = settings.forecast.schedule_interval_min * 60
    runs = 0
    log.info("forecast scheduler started", extra={"interval_s": interval})
    # Started with the platform, the first look waits for the simulator's backfill (about a minute).
    wait = min(interval, FIRST_CHECK_DELAY_S)
    if stop.wait(wait if max_runs is None else 0):
        return runs
    while not stop.is_set():
        wait = interval
        try:
            trigger = due(settings)
            if trigger is None and not _has_run(settings):
                wait = min(interval, FIRST_CHECK_DELAY_S)  # no data yet: look again soon
            if trigger is not None:
                summary = run_forecasts(settings, trigger=trigger)
                runs += 1
                if on_run is not None:
                    on_run(summary)
                if max_runs is not None and runs >= max_runs:
                    break
        except DataUnavailableError as exc:
            log.info("nothing to forecast yet: %s", exc)
        except SynopseError as exc:
            log.error("forecast run failed, retried at the next tick: %s", exc)
        except Exception:
            log.exception("forecast run failed, retried at the next tick")
        stop.wait(wait)
    log.info("forecast scheduler stopped", extra={"runs": runs})
    return runs


def _stop_on_signals(stop: threading.Event) -> Any:
    """SIGTERM (the supervisor's stop) ends the loop; returns the handler it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        raise KeyboardInterrupt  # interrupts a run in progress; the run records itself as failed

    return signal.signal(signal.SIGTERM, handler)
