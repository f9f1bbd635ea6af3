"""Occupancy levels, late feeds and stale snapshots: the rules behind every colour of the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.status import (
    FEED_LATE_AFTER,
    LEVEL_STYLES,
    SATURATION_FROM,
    TENSION_FROM,
    Level,
    feed_delay,
    occupancy_level,
    occupancy_style,
    snapshot_is_stale,
    source_is_late,
    source_late_after,
)
from synopse.domain.indicators import SourceFreshness

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rate", "level", "label"),
    [
        (0.84, Level.NORMAL, "normal"),
        (0.86, Level.TENSION, "tension"),
        (0.97, Level.SATURATION, "saturation"),
        (TENSION_FROM, Level.TENSION, "tension"),  # thresholds are inclusive lower bounds
        (SATURATION_FROM, Level.SATURATION, "saturation"),
        (1.08, Level.SATURATION, "saturation"),  # extra beds in corridors: above 100 %
        (0.0, Level.NORMAL, "normal"),  # an empty facility is a true 0 %
        (None, Level.NO_DATA, "pas de données"),  # no snapshot is not 0 %
    ],
)
def test_occupancy_level_and_label(rate: float | None, level: Level, label: str) -> None:
    assert occupancy_level(rate) is level
    assert occupancy_style(rate).label == label


def test_every_level_has_its_own_colour_symbol_and_label() -> None:
    styles = list(LEVEL_STYLES.values())
    assert len({s.colour for s in styles}) == len(styles)
    assert len({s.symbol for s in styles}) == len(styles)
    assert all(s.label for s in styles)


def test_feed_is_late_only_past_the_threshold() -> None:
    assert feed_delay(None, NOW) is None
    assert feed_delay(NOW - FEED_LATE_AFTER, NOW) is None
    assert feed_delay(NOW - timedelta(minutes=5), NOW) is None
    assert feed_delay(NOW - timedelta(hours=3), NOW) == timedelta(hours=3)


def test_snapshot_staleness_is_measured_against_the_newest_data() -> None:
    assert not snapshot_is_stale(NOW - timedelta(minutes=50), NOW)
    assert snapshot_is_stale(NOW - timedelta(hours=5), NOW)
    assert not snapshot_is_stale(None, NOW)
    assert not snapshot_is_stale(NOW, None)


def _source(topic: str, kind: str | None, age: timedelta) -> SourceFreshness:
    return SourceFreshness(topic, "x", NOW - age, NOW, 1, kind)


def test_expected_silence_depends_on_the_kind_of_source() -> None:
    assert source_late_after(_source("synopse.bed_snapshots.v1", None, timedelta())) == timedelta(hours=2)
    assert source_late_after(_source("prod.synopse.bed_snapshots.v1", None, timedelta())) == timedelta(hours=2)
    assert source_late_after(_source("synopse.environment.v1", "wastewater", timedelta())) == timedelta(days=8)
    assert source_is_late(_source("synopse.environment.v1", "weather", timedelta(hours=4)), NOW)
    assert not source_is_late(_source("synopse.environment.v1", "wastewater", timedelta(days=4)), NOW)
    assert source_is_late(_source("unknown.topic", None, timedelta(hours=7)), NOW)
