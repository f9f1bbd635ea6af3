"""Fixtures of the simulator's unit tests: the demo scenario around a fixed "now", generated once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulator.model import generate
from simulator.scenario import Scenario, default_scenario
from synopse.domain.events import Event

# A fixed "now" (a Monday afternoon), so that tests never depend on the day they run.
DEMO_NOW = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
DEMO_BACKFILL = timedelta(days=14)
# A day after "now" as well: the wave's admissions and the heat wave's lagged effects continue.
DEMO_END = DEMO_NOW + timedelta(days=1)


@pytest.fixture(scope="session")
def demo_scenario() -> Scenario:
    return default_scenario(DEMO_NOW, backfill=DEMO_BACKFILL)


@pytest.fixture(scope="session")
def demo_events(demo_scenario: Scenario) -> list[Event]:
    """Fifteen days of the demo: the generation a fresh `synopse simulate` does, plus a day."""
    return generate(demo_scenario, demo_scenario.start, DEMO_END)
