"""What the simulated territory lives through: the seed, the timeline and its episodes, and how people respond.

A :class:`Scenario` places episodes (an epidemic wave, a heat wave, a pollution episode) at offsets from a
reference instant, so that the same scenario can be replayed around any "now". It holds no state and does
no I/O; the model (:mod:`simulator.model`) turns it into events. :func:`default_scenario` is the demo: a
fresh run shows a wave at its peak, a heat wave and a PM10 episode of the last days, and a CHU in tension.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.parameters import LOCAL_TZ
from synopse.domain.events import UtcDatetime

# Demo defaults, all relative to the reference instant (the run's "now").
DEFAULT_SEED = 44
# 13 weeks of history: the wave's rise, and the 6 weeks the forecasting model needs before an origin plus 7
# weekly calibration origins, so that the demo's first forecasts are the main model's (not the baseline's).
DEFAULT_BACKFILL = timedelta(days=91)
# The demo replays a mid-July (day 197) whatever the real date, so that a heat wave is plausible and the
# seasonal curves (temperature, pollen, winter viruses at their low) agree with it: like July 2022, when a
# summer COVID-19 wave, heat waves and ozone/particle episodes came together.
DEMO_SEASON_DAY_OF_YEAR = 197


class Pathogen(StrEnum):
    """Epidemics the model knows: who they bring to the ED is in :data:`simulator.parameters.WAVE_AGE_MIX`."""

    BRONCHIOLITIS = "bronchiolitis"
    INFLUENZA = "influenza"
    COVID19 = "covid19"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EpidemicWave(_Frozen):
    """A smooth rise and fall of ED visits for one pathogen (and, for COVID-19, of the wastewater load).

    The extra visits per day follow a two-sided Gaussian: ``peak_ed_visits_per_day`` at ``peak``, falling
    to 10% about 2.1 x ``rise_days`` before and 2.1 x ``fall_days`` after (2-3 weeks for the defaults).
    """

    kind: Literal["epidemic_wave"] = "epidemic_wave"
    pathogen: Pathogen
    peak: timedelta = Field(description="Peak of ED visits, relative to the scenario's reference.")
    rise_days: float = Field(default=4.5, gt=0, description="Width (Gaussian sigma, days) of the rise.")
    fall_days: float = Field(default=5.0, gt=0, description="Width (Gaussian sigma, days) of the fall.")
    # A strong wave: +160 visits/day is ~+23% over the ~700 usual visits, the order of a severe influenza
    # or COVID-19 peak week in OSCOUR (SYNTHETIC magnitude, tuned so the CHU medicine and ICU beds overflow).
    peak_ed_visits_per_day: float = Field(default=200.0, ge=0)

    def intensity(self, when: datetime, reference: datetime) -> float:
        """Share of the peak reached at ``when`` (0 to 1)."""
        days = (when - (reference + self.peak)).total_seconds() / 86_400
        width = self.rise_days if days < 0 else self.fall_days
        return math.exp(-0.5 * (days / width) ** 2)


class HeatWave(_Frozen):
    """Consecutive hot days and nights: daily minimum and maximum held at or above the given levels.

    DOMAIN.md: Météo-France's Loire-Atlantique heat-wave thresholds are about 20 °C (3-day mean of daily
    minima) and 34 °C (of maxima); the defaults sit above them so every day of the episode qualifies.
    The day before and the day after ramp up and down (a few degrees below the plateau).
    """

    kind: Literal["heat_wave"] = "heat_wave"
    start: timedelta = Field(description="Its first local day is the one holding reference + start.")
    days: int = Field(default=4, ge=1, le=30)
    min_c: float = Field(default=21.5, description="Floor of the daily minima during the episode (°C).")
    max_c: float = Field(default=35.5, description="Floor of the daily maxima during the episode (°C).")


class PollutionEpisode(_Frozen):
    """Days of particle pollution: the territory's PM10 daily mean follows the given levels.

    DOMAIN.md: the PM10 information threshold is a daily mean of 50 µg/m³, the alert threshold 80 µg/m³;
    the defaults cross the first, then the second for two days.
    """

    kind: Literal["pollution"] = "pollution"
    start: timedelta = Field(description="Its first local day is the one holding reference + start.")
    pm10_daily_means_ugm3: tuple[float, ...] = Field(default=(64.0, 88.0, 83.0), min_length=1)


Episode = Annotated[EpidemicWave | HeatWave | PollutionEpisode, Field(discriminator="kind")]


class ExposureEffects(_Frozen):
    """How the population's ED visits respond to heat, particles and pollen (exposure-response parameters)."""

    # Heat: effects lag 0-3 days, the elderly first (DOMAIN.md). They start below the warning threshold:
    # a daily maximum above 30 °C already brings dehydration and hyperthermia (SYNTHETIC threshold).
    heat_threshold_max_c: float = 30.0
    heat_lag_weights: tuple[float, ...] = (0.35, 0.30, 0.20, 0.15)  # lag 0, 1, 2, 3 days; sum 1
    # Extra heat-related visits per day per degree of (lagged) maximum above the threshold: 6 °C above
    # gives ~18 a day, ~2.5% of visits, the share OSCOUR recorded at the July 2022 peak.
    heat_related_visits_per_degree: float = 3.0
    # All-cause excess of visits by people aged 75+, per degree above the threshold (SYNTHETIC: +18% at
    # 36 °C, the order of the excess seen in 2019 and 2022 heat waves).
    heat_elderly_excess_per_degree: float = 0.03
    # Particles: respiratory visits rise within 0-2 days (DOMAIN.md). Effects count above a usual urban
    # background of 20 µg/m³. Literature gives 1-3% more respiratory visits per 10 µg/m³; asthma is
    # amplified (10%) so that the episode shows on the demo's dashboard: set it to ~0.03 for realism.
    pm10_reference_ugm3: float = 20.0
    pm10_lag_weights: tuple[float, ...] = (0.5, 0.3, 0.2)  # lag 0, 1, 2 days; sum 1
    asthma_excess_per_10ugm3: float = 0.10
    respiratory_excess_per_10ugm3: float = 0.03
    # Pollen: asthma visits per point of the grass-pollen risk index (0-5) (SYNTHETIC, modest).
    asthma_excess_per_pollen_index: float = 0.05

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> ExposureEffects:
        for name in ("heat_lag_weights", "pm10_lag_weights"):
            weights: tuple[float, ...] = getattr(self, name)
            if not weights or abs(sum(weights) - 1.0) > 1e-6 or min(weights) < 0:
                raise ValueError(f"{name} must be non-negative and sum to 1")
        return self


class Scenario(_Frozen):
    """A seeded timeline: the same scenario (and territory) always gives the same events."""

    name: str = "custom"
    seed: int = Field(default=DEFAULT_SEED, ge=0)
    reference: UtcDatetime = Field(description="Episodes are placed relative to this instant.")
    start: UtcDatetime = Field(description="First simulated instant when a run gives no backfill.")
    # Seasonal curves (climate normals, pollen, viruses' yearly cycle) read the calendar shifted by this
    # much; the demo uses it to live a July at any date. Weekdays and hours are never shifted.
    season_shift: timedelta = timedelta(0)
    episodes: tuple[Episode, ...] = ()
    effects: ExposureEffects = ExposureEffects()

    @property
    def waves(self) -> tuple[EpidemicWave, ...]:
        return tuple(e for e in self.episodes if isinstance(e, EpidemicWave))

    @property
    def heat_waves(self) -> tuple[HeatWave, ...]:
        return tuple(e for e in self.episodes if isinstance(e, HeatWave))

    @property
    def pollution_episodes(self) -> tuple[PollutionEpisode, ...]:
        return tuple(e for e in self.episodes if isinstance(e, PollutionEpisode))

    def first_day(self, start: timedelta) -> date:
        """The local (Europe/Paris) day holding ``reference + start``: where a day-based episode begins."""
        return (self.reference + start).astimezone(LOCAL_TZ).date()

    def season_day_of_year(self, when: datetime) -> int:
        """Day of the year (1-366) that seasonal curves use at ``when``."""
        return (when + self.season_shift).astimezone(LOCAL_TZ).timetuple().tm_yday

    def timeline(self) -> list[str]:
        """One line per episode with its absolute dates, for logs and reports."""
        lines = []
        for episode in self.episodes:
            if isinstance(episode, EpidemicWave):
                peak = (self.reference + episode.peak).astimezone(LOCAL_TZ)
                lines.append(f"{episode.pathogen.value} wave: peak of ED visits {peak:%Y-%m-%d %H:%M} "
                             f"(+{episode.peak_ed_visits_per_day:.0f}/day), rise {episode.rise_days:g} d, "
                             f"fall {episode.fall_days:g} d")
            elif isinstance(episode, HeatWave):
                first = self.first_day(episode.start)
                last = first + timedelta(days=episode.days - 1)
                lines.append(f"heat wave: {first} to {last} (min >= {episode.min_c:g} °C, max >= {episode.max_c:g} °C)")
            else:
                first = self.first_day(episode.start)
                levels = ", ".join(f"{v:g}" for v in episode.pm10_daily_means_ugm3)
                lines.append(f"PM10 episode from {first}: daily means {levels} µg/m³")
        return lines


def floor_hour(when: datetime) -> datetime:
    """The start of the UTC hour holding ``when`` (hours are the simulator's unit of generation)."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def default_scenario(
    now: datetime | None = None, *, seed: int = DEFAULT_SEED, backfill: timedelta = DEFAULT_BACKFILL
) -> Scenario:
    """The demo: everything worth alerting on happens in the last days before ``now`` (default: the clock).

    - a COVID-19-like wave whose ED visits peak 2 days before ``now``: admissions follow, the CHU's
      medicine and ICU beds go past capacity around ``now``; the wastewater load peaked ~5 days earlier;
    - a heat wave over the last 4 days and the next one (min >= 21.5 °C, max >= 35.5 °C);
    - a PM10 episode 3 to 1 days ago (64, 88, 83 µg/m³), overlapping the heat;
    - mid-July seasons (see :data:`DEMO_SEASON_DAY_OF_YEAR`): grass pollen at the end of its season.
    """
    reference = floor_hour(now if now is not None else datetime.now(UTC))
    local_day = reference.astimezone(LOCAL_TZ).timetuple().tm_yday
    return Scenario(
        name="demo",
        seed=seed,
        reference=reference,
        start=floor_hour(reference - backfill),
        season_shift=timedelta(days=DEMO_SEASON_DAY_OF_YEAR - local_day),
        episodes=(
            EpidemicWave(pathogen=Pathogen.COVID19, peak=timedelta(days=-2)),
            HeatWave(start=timedelta(days=-4), days=5),
            PollutionEpisode(start=timedelta(days=-3)),
        ),
    )


def winter_scenario(
    now: datetime | None = None, *, seed: int = DEFAULT_SEED, backfill: timedelta = DEFAULT_BACKFILL
) -> Scenario:
    """A winter demo: bronchiolitis peaking at ``now`` (children under 2), influenza rising behind it,
    and a winter particle episode 3 to 1 days ago (wood heating under a temperature inversion: the usual
    cause of French PM10 episodes from December to March)."""
    reference = floor_hour(now if now is not None else datetime.now(UTC))
    local_day = reference.astimezone(LOCAL_TZ).timetuple().tm_yday
    return Scenario(
        name="winter",
        seed=seed,
        reference=reference,
        start=floor_hour(reference - backfill),
        season_shift=timedelta(days=350 - local_day),  # mid-December
        episodes=(
            EpidemicWave(pathogen=Pathogen.BRONCHIOLITIS, peak=timedelta(0), peak_ed_visits_per_day=70.0),
            EpidemicWave(pathogen=Pathogen.INFLUENZA, peak=timedelta(days=8), peak_ed_visits_per_day=120.0),
            PollutionEpisode(start=timedelta(days=-3)),
        ),
    )


SCENARIOS = {"summer": default_scenario, "winter": winter_scenario}

# Months (local time) whose real season is the winter one: bronchiolitis peaks in November-December,
# influenza in December-February (DOMAIN.md); the summer demo (heat, ozone) fits May to September.
WINTER_MONTHS = frozenset({10, 11, 12, 1, 2, 3, 4})


def scenario_for(
    name: str, now: datetime | None = None, *, seed: int = DEFAULT_SEED, backfill: timedelta = DEFAULT_BACKFILL
) -> Scenario:
    """The named scenario; ``auto`` picks the one of the real season at ``now`` (default: the clock)."""
    if name == "auto":
        month = (now if now is not None else datetime.now(UTC)).astimezone(LOCAL_TZ).month
        name = "winter" if month in WINTER_MONTHS else "summer"
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose auto, {', '.join(SCENARIOS)}")
    return SCENARIOS[name](now, seed=seed, backfill=backfill)
