"""Status rules of the screens: occupancy levels, late feeds, stale snapshots, and their colours.

Every threshold the dashboard applies is a named constant here, with the reason for its value, so that
they can be reviewed in one place (and moved into settings when a crisis cell needs to tune them).
Colours come from the Okabe-Ito palette, which stays distinct under the common colour-vision
deficiencies; a status is never shown by colour alone: it always carries a text label and a symbol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from dashboard.text import t
from synopse.domain.indicators import SourceFreshness

# Bed occupancy. Above about 85 % a hospital can no longer absorb a surge without delaying admissions
# (the usual "safe occupancy" mark of hospital-capacity studies); from 95 % it is saturated, the level
# at which an establishment considers its crisis plan ("plan blanc"). Check against the ARS's own
# tension indicators before relying on them.
TENSION_FROM: Final = 0.85
SATURATION_FROM: Final = 0.95

# The newest data of all sources older than this (against the wall clock) means the whole pipeline is
# stalled: territory-wide, ED visits and bed snapshots arrive every few minutes.
FEED_LATE_AFTER: Final = timedelta(minutes=30)

# A facility's bed snapshot older than this (against the newest data time) no longer says how full it is now.
SNAPSHOT_STALE_AFTER: Final = timedelta(hours=2)

# One source is late when it lags the newest data of all sources by more than its expected silence:
# bed snapshots come at least hourly (two missed cycles); a small ED can go an hour or two at night
# without a visit; scheduled admissions pause at night; weather and air stations measure hourly;
# pollen is a daily bulletin; wastewater is sampled once or twice a week.
SOURCE_LATE_AFTER: Final[dict[str, timedelta]] = {
    "synopse.bed_snapshots.v1": timedelta(hours=2),
    "synopse.emergency_visits.v1": timedelta(hours=3),
    "synopse.admissions.v1": timedelta(hours=6),
    "weather": timedelta(hours=3),
    "air_quality": timedelta(hours=3),
    "pollen": timedelta(hours=36),
    "wastewater": timedelta(days=8),
}
# A source the table above does not know is given the longest silence of a regular feed.
DEFAULT_SOURCE_LATE_AFTER: Final = timedelta(hours=6)

# Okabe & Ito (2008), "Color Universal Design": distinguishable with protanopia, deuteranopia, tritanopia.
OKABE_ITO: Final[dict[str, str]] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
NO_DATA_GREY: Final = "#8C8C8C"  # neutral: absence of data is not a level


class Level(StrEnum):
    """Occupancy level of a facility (or of the territory)."""

    NORMAL = "normal"
    TENSION = "tension"
    SATURATION = "saturation"
    NO_DATA = "no-data"


@dataclass(frozen=True)
class LevelStyle:
    """How a level is shown: text label, colour and a symbol (the shape is a second non-colour cue)."""

    level: Level
    label_key: str  # the label's message id: read in the language of the request being served
    colour: str
    symbol: str

    @property
    def label(self) -> str:
        return t(self.label_key)


LEVEL_STYLES: Final[dict[Level, LevelStyle]] = {
    Level.NORMAL: LevelStyle(Level.NORMAL, "status_normal", OKABE_ITO["bluish_green"], "●"),
    Level.TENSION: LevelStyle(Level.TENSION, "status_tension", OKABE_ITO["orange"], "▲"),
    Level.SATURATION: LevelStyle(Level.SATURATION, "status_saturation", OKABE_ITO["vermillion"], "■"),
    Level.NO_DATA: LevelStyle(Level.NO_DATA, "status_no_data", NO_DATA_GREY, "○"),
}


def occupancy_level(rate: float | None) -> Level:
    """The level of an occupancy rate (a share: 0.9 is 90 %); None is "no data", never 0 %."""
    if rate is None:
        return Level.NO_DATA
    if rate >= SATURATION_FROM:
        return Level.SATURATION
    if rate >= TENSION_FROM:
        return Level.TENSION
    return Level.NORMAL


def occupancy_style(rate: float | None) -> LevelStyle:
    """Label, colour and symbol of an occupancy rate."""
    return LEVEL_STYLES[occupancy_level(rate)]


def feed_delay(latest: datetime | None, wall_now: datetime) -> timedelta | None:
    """How late the newest data is against the wall clock, or None when it is fresh enough (or absent)."""
    if latest is None:
        return None
    delay = wall_now - latest
    return delay if delay > FEED_LATE_AFTER else None


def snapshot_is_stale(snapshot_at: datetime | None, reference: datetime | None) -> bool:
    """Whether a bed snapshot is too old, against the newest data time, to describe the present."""
    if snapshot_at is None or reference is None:
        return False
    return reference - snapshot_at > SNAPSHOT_STALE_AFTER


def source_late_after(source: SourceFreshness) -> timedelta:
    """The silence expected of a source: by station kind for environmental stations, else by topic."""
    if source.station_kind is not None and source.station_kind in SOURCE_LATE_AFTER:
        return SOURCE_LATE_AFTER[source.station_kind]
    for topic, allowed in SOURCE_LATE_AFTER.items():
        if source.topic.endswith(topic):
            return allowed
    return DEFAULT_SOURCE_LATE_AFTER


def source_is_late(source: SourceFreshness, reference: datetime) -> bool:
    """Whether a source lags the newest data of all sources by more than its expected silence."""
    return reference - source.last_event_at > source_late_after(source)
