"""Environmental signals of the territory as pure functions of time: weather, air quality, pollen, wastewater.

Each value is a deterministic function of the scenario and the instant (named random draws, no running
state), so any hour can be generated on its own. Day-based quantities use French civil days. The same
functions give the exposures that drive ED visits (lagged heat, particles, pollen), so what the
dashboard shows as a cause is what the model used.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

from simulator.parameters import LOCAL_TZ
from simulator.randomness import normal
from simulator.scenario import Pathogen, Scenario
from synopse.domain.codes import Indicator

# --- Temperature (Météo-France Nantes-Bouguenais normals 1991-2020, rounded) ---------------------------
# Daily maximum: ~9.4 °C in late January, ~25.8 °C in late July; minimum: ~3.1 °C to ~14.5 °C.
TMAX_MEAN_C, TMAX_AMPLITUDE_C = 17.6, 8.2
TMIN_MEAN_C, TMIN_AMPLITUDE_C = 8.8, 5.7
WARMEST_DAY_OF_YEAR = 210  # the normals peak at the end of July
# Day-to-day anomaly (SYNTHETIC): a 3-day moving average of named normal draws, so that warm and cool
# spells last a few days; standard deviation in °C.
TMAX_ANOMALY_SD_C, TMIN_ANOMALY_SD_C = 2.5, 2.0
HOURLY_NOISE_SD_C = 0.3  # sensor and local noise on the hourly reading
# Diurnal cycle (local time): coolest at sunrise, warmest mid-afternoon.
COOLEST_HOUR, WARMEST_HOUR = 6.0, 16.0
# A heat-wave plateau varies a little from day to day above its floor (°C).
HEAT_PLATEAU_SPREAD_C = 1.5
# The day before and after a heat wave, floors this far below the plateau (a ramp, not a step).
HEAT_RAMP_MIN_C, HEAT_RAMP_MAX_C = 3.0, 4.0

# --- Air quality (Air Pays de la Loire orders of magnitude for Nantes; SYNTHETIC shapes) -------------------
PM10_BACKGROUND_UGM3 = 16.0  # urban background annual mean
PM10_SEASONAL_AMPLITUDE = 0.25
PM10_PEAK_DAY_OF_YEAR = 75  # mid-March: spring ammonium-nitrate episodes, winter heating
PM10_DAY_SIGMA = 0.30  # log-normal day-to-day variability (3-day moving average: weather persists)
PM10_HOUR_SIGMA = 0.15
# The day before and after a pollution episode reach this share of its first and last level.
PM10_RAMP_SHARE = 0.55
PM25_TO_PM10 = 0.6  # PM2.5/PM10 ratio of urban background stations
NO2_BACKGROUND_UGM3 = 20.0
NO2_SEASONAL_AMPLITUDE = 0.25  # winter inversions
NO2_WEEKEND_FACTOR = 0.8  # less commuting traffic
NO2_HOUR_SIGMA = 0.2
# Ozone follows temperature (photochemistry), sharply above 28 °C: ~180 µg/m³ (the information threshold,
# DOMAIN.md) on the hottest afternoons of a 36-37 °C heat wave, ~40 µg/m³ on a winter day.
O3_BACKGROUND_UGM3 = 35.0
O3_PER_DEGREE_ABOVE_10 = 2.2
O3_PER_DEGREE_ABOVE_28 = 7.0
O3_HOUR_SIGMA = 0.12
# Hourly shapes by local hour (mean 1 after normalisation): traffic peaks at 8 h and 19 h.
PM10_HOUR_PROFILE = tuple(1.0 + 0.25 * math.exp(-(((h - 8.5) / 1.5) ** 2)) + 0.20 * math.exp(-(((h - 20) / 2) ** 2))
                          for h in range(24))
NO2_HOUR_PROFILE = tuple(0.7 + 0.8 * math.exp(-(((h - 8) / 1.5) ** 2)) + 0.7 * math.exp(-(((h - 19) / 2) ** 2))
                         for h in range(24))
# Station levels relative to the urban background (SYNTHETIC: traffic-side sites higher in NO2 and lower in
# ozone). Stations not listed take 1.
STATION_FACTORS: dict[str, dict[Indicator, float]] = {
    "FR23251": {Indicator.PM10: 1.12, Indicator.NO2: 1.6, Indicator.O3: 0.85},
    "FR23238": {Indicator.PM10: 1.05, Indicator.NO2: 1.3},
    "FR23107": {Indicator.PM10: 0.95, Indicator.PM2_5: 0.95, Indicator.O3: 1.05},
    "FR23239": {Indicator.PM10: 0.97},
}

# --- Pollen (RNSA allergy-risk index 0-5; DOMAIN.md: grasses May-July, birch March-April) ----------------
POLLEN_SEASONS: dict[Indicator, tuple[float, int, float]] = {  # (peak index, peak day of year, sigma days)
    Indicator.POLLEN_GRASSES: (4.5, 160, 22.0),
    Indicator.POLLEN_BIRCH: (3.5, 95, 12.0),
    Indicator.POLLEN_CYPRESS: (2.5, 60, 15.0),
    Indicator.POLLEN_RAGWEED: (1.0, 240, 12.0),  # rare in the west of France
}
POLLEN_DAY_SIGMA = 0.35  # rain and wind make the index jump from day to day

# --- Wastewater (SUM'Eau orders of magnitude for SARS-CoV-2) ------------------------------------------------
WASTEWATER_BASELINE_GCL = 8_000.0  # between waves, ~10^3.5-10^4 genome copies per litre
# Concentration added per extra daily ED visit of a COVID-19 wave at its peak: +160 visits/day gives
# ~4e5 gc/L, a wave peak in 2022 (SYNTHETIC scaling).
WASTEWATER_GCL_PER_WAVE_VISIT = 2_500.0
# Shedding starts before symptoms: the load leads ED visits by this many days (DOMAIN.md: several days).
WASTEWATER_LEAD_DAYS = 5.0
WASTEWATER_SIGMA = 0.3  # sampling and laboratory variability (log-normal)
WASTEWATER_PLANT_FACTORS: dict[str, float] = {"wwtp-petite-californie": 0.8}  # dilution of the catchment


def local_day_start(day: date) -> datetime:
    """The UTC instant at which the local (Europe/Paris) day begins."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ).astimezone(UTC)


def local_day_hours(day: date) -> list[datetime]:
    """The UTC hours of a local day (23, 24 or 25 of them)."""
    start, end = local_day_start(day), local_day_start(day + timedelta(days=1))
    return [start + timedelta(hours=i) for i in range(int((end - start).total_seconds() // 3600))]


def _seasonal(day_of_year: int, amplitude: float, peak_day: int) -> float:
    return amplitude * math.cos(2 * math.pi * (day_of_year - peak_day) / 365.25)


class Environment:
    """Weather, air, pollen and wastewater of one scenario; values are cached, never stateful."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._seed = scenario.seed
        self._extremes: dict[date, tuple[float, float]] = {}
        self._pm10: dict[date, float] = {}
        self._hourly_t: dict[datetime, float] = {}

    def _season_day(self, day: date) -> int:
        return self.scenario.season_day_of_year(local_day_start(day) + timedelta(hours=12))

    def _smooth_normal(self, key: str, day: date) -> float:
        """A 3-day moving average of daily normal draws, rescaled to unit variance."""
        return sum(normal(self._seed, key, (day - timedelta(days=k)).toordinal()) for k in range(3)) / math.sqrt(3)

    # --- temperature -----------------------------------------------------------------------------------
    def daily_extremes(self, day: date) -> tuple[float, float]:
        """The day's (minimum, maximum) temperature in °C, heat waves included."""
        if day not in self._extremes:
            doy = self._season_day(day)
            tmin = TMIN_MEAN_C + _seasonal(doy, TMIN_AMPLITUDE_C, WARMEST_DAY_OF_YEAR)
            tmax = TMAX_MEAN_C + _seasonal(doy, TMAX_AMPLITUDE_C, WARMEST_DAY_OF_YEAR)
            tmin += TMIN_ANOMALY_SD_C * self._smooth_normal("tmin", day)
            tmax += TMAX_ANOMALY_SD_C * self._smooth_normal("tmax", day)
            for wave in self.scenario.heat_waves:
                offset = (day - self.scenario.first_day(wave.start)).days
                if 0 <= offset < wave.days:
                    spread = HEAT_PLATEAU_SPREAD_C
                    tmin = max(tmin, wave.min_c + spread * abs(normal(self._seed, "heat-min", day.toordinal())) / 2)
                    tmax = max(tmax, wave.max_c + spread * abs(normal(self._seed, "heat-max", day.toordinal())) / 2)
                elif offset in (-1, wave.days):
                    tmin = max(tmin, wave.min_c - HEAT_RAMP_MIN_C)
                    tmax = max(tmax, wave.max_c - HEAT_RAMP_MAX_C)
            self._extremes[day] = (tmin, max(tmax, tmin + 1.0))
        return self._extremes[day]

    def temperature(self, when: datetime) -> float:
        """Air temperature (°C) at an instant on the hour: the diurnal cycle between the daily extremes."""
        if when in self._hourly_t:
            return self._hourly_t[when]
        local = when.astimezone(LOCAL_TZ)
        hour, day = local.hour + local.minute / 60, local.date()
        if hour < COOLEST_HOUR:  # the night's cooling from yesterday's maximum to this morning's minimum
            low, high = self.daily_extremes(day)[0], self.daily_extremes(day - timedelta(days=1))[1]
            phase = (hour + 24 - WARMEST_HOUR) / (24 - WARMEST_HOUR + COOLEST_HOUR)
            value = low + (high - low) * (1 + math.cos(math.pi * phase)) / 2
        elif hour < WARMEST_HOUR:
            low, high = self.daily_extremes(day)
            phase = (hour - COOLEST_HOUR) / (WARMEST_HOUR - COOLEST_HOUR)
            value = low + (high - low) * (1 - math.cos(math.pi * phase)) / 2
        else:
            low, high = self.daily_extremes(day + timedelta(days=1))[0], self.daily_extremes(day)[1]
            phase = (hour - WARMEST_HOUR) / (24 - WARMEST_HOUR + COOLEST_HOUR)
            value = low + (high - low) * (1 + math.cos(math.pi * phase)) / 2
        value += HOURLY_NOISE_SD_C * normal(self._seed, "temperature", int(when.timestamp()))
        self._hourly_t[when] = round(value, 1)
        return self._hourly_t[when]

    def daily_temperature(self, day: date) -> tuple[float, float, float]:
        """(min, max, mean) of the day's hourly readings, as a weather service publishes them."""
        values = [self.temperature(h) for h in local_day_hours(day)]
        return min(values), max(values), round(sum(values) / len(values), 1)

    # --- air quality -----------------------------------------------------------------------------------
    def pm10_level(self, day: date) -> float:
        """The territory's urban-background PM10 daily mean (µg/m³), pollution episodes included."""
        if day not in self._pm10:
            seasonal = 1 + _seasonal(self._season_day(day), PM10_SEASONAL_AMPLITUDE, PM10_PEAK_DAY_OF_YEAR)
            noise = math.exp(PM10_DAY_SIGMA * self._smooth_normal("pm10", day) - PM10_DAY_SIGMA**2 / 2)
            level = PM10_BACKGROUND_UGM3 * seasonal * noise
            for episode in self.scenario.pollution_episodes:
                levels = episode.pm10_daily_means_ugm3
                offset = (day - self.scenario.first_day(episode.start)).days
                if 0 <= offset < len(levels):
                    level = max(level, levels[offset])
                elif offset == -1:
                    level = max(level, PM10_RAMP_SHARE * levels[0])
                elif offset == len(levels):
                    level = max(level, PM10_RAMP_SHARE * levels[-1])
            self._pm10[day] = level
        return self._pm10[day]

    def air_quality(self, station_id: str, indicator: Indicator, interval_start: datetime) -> float:
        """The hourly mean (µg/m³) of a pollutant at a station over the hour starting at ``interval_start``."""
        local = interval_start.astimezone(LOCAL_TZ)
        day, hour = local.date(), local.hour
        factor = STATION_FACTORS.get(station_id, {}).get(indicator, 1.0)
        key = (station_id, indicator.value, int(interval_start.timestamp()))
        if indicator in (Indicator.PM10, Indicator.PM2_5):
            value = self.pm10_level(day) * PM10_HOUR_PROFILE[hour] / _mean(PM10_HOUR_PROFILE)
            value *= math.exp(PM10_HOUR_SIGMA * normal(self._seed, *key) - PM10_HOUR_SIGMA**2 / 2)
            if indicator is Indicator.PM2_5:
                value *= PM25_TO_PM10
        elif indicator is Indicator.NO2:
            base_pm10 = PM10_BACKGROUND_UGM3 * (
                1 + _seasonal(self._season_day(day), PM10_SEASONAL_AMPLITUDE, PM10_PEAK_DAY_OF_YEAR))
            stagnation = math.sqrt(self.pm10_level(day) / base_pm10)  # still air traps both pollutants
            value = NO2_BACKGROUND_UGM3 * (1 + _seasonal(self._season_day(day), NO2_SEASONAL_AMPLITUDE, 15))
            value *= stagnation * NO2_HOUR_PROFILE[hour] / _mean(NO2_HOUR_PROFILE)
            value *= NO2_WEEKEND_FACTOR if local.weekday() >= 5 else 1.0
            value *= math.exp(NO2_HOUR_SIGMA * normal(self._seed, *key) - NO2_HOUR_SIGMA**2 / 2)
        elif indicator is Indicator.O3:
            temp = self.temperature(interval_start)
            value = (O3_BACKGROUND_UGM3 + O3_PER_DEGREE_ABOVE_10 * max(0.0, temp - 10)
                     + O3_PER_DEGREE_ABOVE_28 * max(0.0, temp - 28))
            value *= math.exp(O3_HOUR_SIGMA * normal(self._seed, *key) - O3_HOUR_SIGMA**2 / 2)
        else:
            raise ValueError(f"{indicator.value} is not an air-quality indicator")
        return round(value * factor, 1)

    # --- pollen and wastewater -------------------------------------------------------------------------
    def pollen(self, indicator: Indicator, day: date) -> float:
        """The day's allergy-risk index (0-5, whole numbers as the RNSA publishes them)."""
        peak, peak_day, sigma = POLLEN_SEASONS[indicator]
        distance = (self._season_day(day) - peak_day + 182) % 365 - 182
        level = peak * math.exp(-0.5 * (distance / sigma) ** 2)
        level *= math.exp(POLLEN_DAY_SIGMA * normal(self._seed, "pollen", indicator.value, day.toordinal()))
        return float(min(5, max(0, round(level))))

    def wastewater(self, station_id: str, day: date) -> float:
        """SARS-CoV-2 concentration (gc/L) in the day's 24-hour composite sample of a treatment plant."""
        noon = local_day_start(day) + timedelta(hours=12)
        load = WASTEWATER_BASELINE_GCL
        for wave in self.scenario.waves:
            if wave.pathogen is Pathogen.COVID19:
                ahead = noon + timedelta(days=WASTEWATER_LEAD_DAYS)
                load += WASTEWATER_GCL_PER_WAVE_VISIT * wave.peak_ed_visits_per_day * wave.intensity(
                    ahead, self.scenario.reference)
        noise = math.exp(WASTEWATER_SIGMA * normal(self._seed, "wastewater", station_id, day.toordinal())
                         - WASTEWATER_SIGMA**2 / 2)
        return round(load * WASTEWATER_PLANT_FACTORS.get(station_id, 1.0) * noise, -1)

    # --- exposures that drive ED visits ----------------------------------------------------------------
    def heat_excess(self, day: date) -> float:
        """Lag-weighted degrees of daily maximum above the effect threshold (0 when it is not hot)."""
        effects = self.scenario.effects
        return sum(w * max(0.0, self.daily_extremes(day - timedelta(days=k))[1] - effects.heat_threshold_max_c)
                   for k, w in enumerate(effects.heat_lag_weights))

    def pm10_excess(self, day: date) -> float:
        """Lag-weighted PM10 daily mean above the effect reference (µg/m³)."""
        effects = self.scenario.effects
        return sum(w * max(0.0, self.pm10_level(day - timedelta(days=k)) - effects.pm10_reference_ugm3)
                   for k, w in enumerate(effects.pm10_lag_weights))


def _mean(values: tuple[float, ...]) -> float:
    return sum(values) / len(values)
