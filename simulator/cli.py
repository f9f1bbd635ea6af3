"""The ``synopse simulate`` command's body: settings and options in, a run of the default scenario out.

Kept apart from :mod:`simulator.run` so that the composition root (``synopse/cli.py``) passes plain
values and the run stays testable without settings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simulator.run import Progress, run_simulation
from simulator.scenario import DEFAULT_BACKFILL, scenario_for
from synopse.config import Settings
from synopse.errors import ConfigurationError


def simulate_command(
    settings: Settings,
    *,
    seed: int = 44,
    backfill_days: float = DEFAULT_BACKFILL.days,
    speed: float = 1.0,
    until: datetime | None = None,
    topic_prefix: str | None = None,
    max_hours: float | None = None,
    reference: datetime | None = None,
    scenario: str = "auto",
) -> Progress:
    """Run the demo scenario against the configured broker; returns the run's summary.

    Args:
        settings: The platform settings (broker address and topic prefix).
        seed: Random seed: the same seed (and reference) gives the same events.
        backfill_days: Days of history generated at once before going live.
        speed: Simulated seconds per real second in the live phase.
        until: Stop at this simulated instant (a naive value is taken as UTC).
        topic_prefix: Overrides ``settings.kafka.topic_prefix``.
        max_hours: Stop after this many simulated hours.
        reference: The demo's "now" (episodes are placed around it); default: the current time. Give the
            same one to a restarted run to re-send identical events instead of a shifted scenario.
        scenario: ``summer`` (epidemic wave, heat wave, PM10 episode), ``winter`` (bronchiolitis, influenza,
            PM10 episode) or ``auto``: the one of the real season.

    Raises:
        ConfigurationError: An option is out of range.
        ServiceUnavailableError: The broker cannot be reached or does not acknowledge the events.
    """
    if not speed > 0:
        raise ConfigurationError(f"--speed must be positive, got {speed}")
    if backfill_days < 0:
        raise ConfigurationError(f"--backfill-days must not be negative, got {backfill_days}")
    if max_hours is not None and max_hours <= 0:
        raise ConfigurationError(f"--max-hours must be positive, got {max_hours}")
    backfill = timedelta(days=backfill_days)
    try:
        chosen = scenario_for(scenario, _aware(reference), seed=seed, backfill=backfill)
    except ValueError as exc:
        raise ConfigurationError(f"--scenario: {exc}") from exc
    return run_simulation(
        settings.bootstrap_servers,
        settings.kafka.topic_prefix if topic_prefix is None else topic_prefix,
        chosen,
        backfill=backfill,
        speed=speed,
        until=_aware(until),
        max_hours=max_hours,
    )


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
