"""Hospital activity as numbers: expected rates per hour and the seeded draws of ED visits and admissions.

Pure and vectorised (numpy arrays, no pydantic, no I/O): :mod:`simulator.model` turns the draws into
events. Rates combine a population-scaled baseline, the weekly and daily rhythm, yearly seasonality,
the scenario's epidemic waves and the environmental exposures. Scheduled admissions are sized by
Little's law so that each unit sits at its usual occupancy on an ordinary week.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator import parameters as p
from simulator.environment import Environment
from simulator.randomness import generator, hour_index
from simulator.scenario import Scenario
from simulator.territory import Territory
from synopse.domain.codes import AgeBand, CareUnit, Indicator, ReasonCategory

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

UNITS: tuple[CareUnit, ...] = tuple(CareUnit)
_AGE = {band: i for i, band in enumerate(p.AGE_BANDS)}
_REASON = {reason: i for i, reason in enumerate(p.REASONS)}
_UNIT = {unit: i for i, unit in enumerate(UNITS)}
_CHILD = np.array([band in (AgeBand.UNDER_2, AgeBand.FROM_2_TO_14) for band in p.AGE_BANDS])
_OUTSIDE = -1  # commune index of a patient living outside the territory


@dataclass(frozen=True)
class Stays:
    """Hospital stays drawn for one source and hour (one row per admission)."""

    entity: str  # the source: "ed" (after an ED visit) or "scheduled"
    hour: int  # hour index of the draw
    index: IntArray  # position in the source's draw of that hour (names the event)
    bed: IntArray  # index into HospitalModel.beds
    admitted_s: IntArray  # Unix seconds
    discharged_s: IntArray
    age: IntArray
    reason: IntArray
    commune: IntArray
    patient: IntArray
    via_emergency: bool


@dataclass(frozen=True)
class Visits:
    """The visits of every emergency department in one hour, in arrival order."""

    hour: int
    ed: IntArray  # index into HospitalModel.eds
    arrived_s: IntArray
    age: IntArray
    reason: IntArray
    commune: IntArray
    patient: IntArray
    hospitalised: BoolArray
    stays: Stays  # the hospitalised visits' stays


def clipped_lognormal_mean(mean: float, sigma: float, cap: float) -> float:
    """E[min(X, cap)] for a log-normal X of this mean and sigma: the mean stay once stays are capped."""
    mu = math.log(mean) - sigma**2 / 2

    def phi(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    log_cap = math.log(cap)
    return mean * phi((log_cap - mu - sigma**2) / sigma) + cap * (1 - phi((log_cap - mu) / sigma))


def _cdf(weights: list[float]) -> FloatArray:
    values = np.cumsum(np.asarray(weights, dtype=np.float64))
    result: FloatArray = values / values[-1]
    return result


def _normalised(mix: Mapping[Any, float], axis: Sequence[object]) -> FloatArray:
    """The mix's weights along ``axis`` (0 for what it does not name), summing to 1."""
    weights = np.array([mix.get(key, 0.0) for key in axis], dtype=np.float64)
    result: FloatArray = weights / weights.sum()
    return result


class HospitalModel:
    """Rates and draws of the territory's emergency departments and wards for one scenario."""

    def __init__(self, scenario: Scenario, environment: Environment, territory: Territory) -> None:
        self.scenario, self.environment = scenario, environment
        self.eds = [f for f in territory.facilities if f.has_emergency_department]
        self.facilities = list(territory.facilities)
        self.beds = [(f, unit) for f in self.facilities for unit, n in f.beds.items() if n > 0]
        self.capacity = np.array([f.beds[u] for f, u in self.beds], dtype=np.int64)
        self._bed_of = {(f.facility_id, u): i for i, (f, u) in enumerate(self.beds)}

        population = np.array([c.population for c in territory.communes], dtype=np.float64)
        inside = (1 - p.ED_OUT_OF_TERRITORY_SHARE) * population / population.sum()
        self.commune_cdf = _cdf([*inside, p.ED_OUT_OF_TERRITORY_SHARE])
        ages = _normalised(p.POPULATION_AGE_SHARES, p.AGE_BANDS)
        self.pool = np.outer(np.append(population, p.OUT_OF_TERRITORY_POPULATION), ages).astype(np.int64) + 1

        # Baseline ED visits per day by (ED, age, reason), before rhythm, season and episodes.
        per_day = population.sum() * p.ED_VISITS_PER_INHABITANT_YEAR / 365 / (1 - p.ED_OUT_OF_TERRITORY_SHARE)
        self.ed_share = np.array([[self._ed_share(f.facility_id, bool(child)) for child in _CHILD] for f in self.eds])
        age_mix = _normalised(p.ED_AGE_MIX, p.AGE_BANDS)
        reason_mix = np.array([_normalised(p.ED_REASON_MIX[a], p.REASONS) for a in p.AGE_BANDS])
        self.base_ed = per_day * self.ed_share[:, :, None] * (age_mix[:, None] * reason_mix)[None, :, :]

        hosp = np.outer([p.HOSPITALISATION_BY_AGE[a] for a in p.AGE_BANDS],
                        [p.HOSPITALISATION_REASON_FACTOR[r] for r in p.REASONS])
        self.p_hosp = np.minimum(hosp, p.MAX_HOSPITALISATION_PROBABILITY)
        self.icu_share = np.array([p.ICU_SHARE[r] for r in p.REASONS])
        self.routes = {(e, u): self._route(f.facility_id, u) for e, f in enumerate(self.eds) for u in UNITS}
        los = [p.LENGTH_OF_STAY[u] for u in UNITS]
        self.los_mean = np.array([m for m, _, _ in los])
        self.los_sigma = np.array([s for _, s, _ in los])
        self.los_cap_days = np.array([c for _, _, c in los])
        self.los_age = np.array([p.LENGTH_OF_STAY_AGE_FACTOR[a] for a in p.AGE_BANDS])
        self.bed_unit = np.array([_UNIT[u] for _, u in self.beds], dtype=np.int64)
        # How far back the bed model replays stays before a run's first hour: who is in a bed then was
        # admitted within the longest stay (plus the ED wait), and where they went depended on the census
        # at their admission, so acute units replay twice that. Long-stay units neither postpone nor take
        # transfers: once is enough.
        acute_cap = max(p.LENGTH_OF_STAY[u][2] for _, u in self.beds if u not in p.LONG_STAY_UNITS)
        self.ed_lookback_days = 2 * acute_cap + p.ED_STAY_CAP_HOURS / 24
        self.scheduled_lookback_days = max([self.ed_lookback_days, *(
            p.LENGTH_OF_STAY[u][2] for _, u in self.beds if u in p.LONG_STAY_UNITS)])
        self.scheduled_daily = self._scheduled_rates()
        self._hour_weights = np.array(p.ED_HOUR_PROFILE) / np.mean(p.ED_HOUR_PROFILE)
        self._sched_weights = np.array(p.SCHEDULED_HOUR_PROFILE) / np.mean(p.SCHEDULED_HOUR_PROFILE)
        self._sched_age = np.array([_cdf(list(_normalised(
            p.SCHEDULED_AGE_MIX.get(u, p.SCHEDULED_AGE_MIX_DEFAULT), p.AGE_BANDS))) for _, u in self.beds])
        self._sched_reason = np.array([_cdf(list(_normalised(
            p.SCHEDULED_REASON_MIX.get(u, p.SCHEDULED_REASON_MIX_DEFAULT), p.REASONS))) for _, u in self.beds])

    # --- set-up ------------------------------------------------------------------------------------------
    def _ed_share(self, facility_id: str, child: bool) -> float:
        shares = p.ED_SHARES_CHILD if child else p.ED_SHARES_ADULT
        known = {f.facility_id: shares.get(f.facility_id, 0.0) for f in self.eds}
        total = sum(known.values())
        return known[facility_id] / total if total > 0 else 1.0 / len(self.eds)

    def _route(self, ed_id: str, unit: CareUnit) -> tuple[IntArray, FloatArray]:
        """Bed indices an ED sends patients of this unit to, with their cumulative probabilities."""
        for sites in (p.ED_ADMISSION_SITES.get(ed_id, {ed_id: 1.0}),
                      p.ED_ADMISSION_SITES.get(p.REFERRAL_FACILITY, {p.REFERRAL_FACILITY: 1.0}),
                      {f.facility_id: float(f.beds.get(unit, 0)) for f in self.facilities}):
            found = [(self._bed_of[(site, unit)], share) for site, share in sites.items()
                     if (site, unit) in self._bed_of and share > 0]
            if found:
                return np.array([b for b, _ in found], dtype=np.int64), _cdf([w for _, w in found])
        if unit is CareUnit.MEDICINE:
            raise ValueError("the territory has no medicine beds to admit ED patients to")
        return self._route(ed_id, CareUnit.MEDICINE)

    def _unit_probabilities(self) -> FloatArray:
        """P(unit | age, reason) of a hospitalised ED patient, shape (age, reason, unit)."""
        probs = np.zeros((len(p.AGE_BANDS), len(p.REASONS), len(UNITS)))
        for a in range(len(p.AGE_BANDS)):
            for r, reason in enumerate(p.REASONS):
                icu = self.icu_share[r]
                probs[a, r, _UNIT[CareUnit.ICU]] = icu
                if _CHILD[a]:
                    probs[a, r, _UNIT[CareUnit.PAEDIATRICS]] = 1 - icu
                elif reason is ReasonCategory.TRAUMA:
                    probs[a, r, _UNIT[CareUnit.SURGERY]] = (1 - icu) * p.TRAUMA_TO_SURGERY_SHARE
                    probs[a, r, _UNIT[CareUnit.MEDICINE]] = (1 - icu) * (1 - p.TRAUMA_TO_SURGERY_SHARE)
                else:
                    probs[a, r, _UNIT[CareUnit.MEDICINE]] = 1 - icu
        return probs

    def _scheduled_rates(self) -> FloatArray:
        """Scheduled admissions per day and bed index: what fills each unit to its usual occupancy."""
        # Bed-days per day that baseline ED patients bring to each bed index (Little's law: occupancy).
        ed_bed_days = np.zeros(len(self.beds))
        unit_probs = self._unit_probabilities()
        for e in range(len(self.eds)):
            for a in range(len(p.AGE_BANDS)):
                for u, unit in enumerate(UNITS):
                    flow = float((self.base_ed[e, a] * self.p_hosp[a] * unit_probs[a, :, u]).sum())
                    if flow == 0:
                        continue
                    beds, cdf = self.routes[(e, unit)]
                    shares = np.diff(np.concatenate(([0.0], cdf)))
                    ed_bed_days[beds] += flow * shares * self.mean_stay(unit, p.AGE_BANDS[a])
        rates = np.zeros(len(self.beds))
        for i, (_, unit) in enumerate(self.beds):
            age_mix = _normalised(p.SCHEDULED_AGE_MIX.get(unit, p.SCHEDULED_AGE_MIX_DEFAULT), p.AGE_BANDS)
            stay = sum(share * self.mean_stay(unit, band) for share, band in zip(age_mix, p.AGE_BANDS, strict=True))
            target = p.TARGET_OCCUPANCY[unit] * self.capacity[i]
            rates[i] = max(p.MIN_SCHEDULED_SHARE * target, target - ed_bed_days[i]) / stay
        return rates

    @staticmethod
    def mean_stay(unit: CareUnit, band: AgeBand) -> float:
        """Expected days in the ward for one unit and age band, caps included."""
        mean, sigma, cap = p.LENGTH_OF_STAY[unit]
        return clipped_lognormal_mean(mean * p.LENGTH_OF_STAY_AGE_FACTOR[band], sigma, cap)

    # --- rates -------------------------------------------------------------------------------------------
    def ed_rates(self, hour: datetime) -> FloatArray:
        """Expected ED visits in this hour, shape (ED, age band, reason)."""
        local = hour.astimezone(p.LOCAL_TZ)
        day, env, effects = local.date(), self.environment, self.scenario.effects
        rhythm = self._hour_weights[local.hour] * p.ED_WEEKDAY_FACTORS[local.weekday()] / 24
        doy = self.scenario.season_day_of_year(hour)
        season = np.ones(len(p.REASONS))
        for reason, (amplitude, peak) in p.SEASONALITY.items():
            season[_REASON[reason]] += amplitude * math.cos(2 * math.pi * (doy - peak) / 365.25)
        factor = np.ones((len(p.AGE_BANDS), len(p.REASONS)))
        particles = env.pm10_excess(day) / 10
        grass = env.pollen(Indicator.POLLEN_GRASSES, day)
        heat = env.heat_excess(day)
        factor[:, _REASON[ReasonCategory.ASTHMA]] *= (1 + effects.asthma_excess_per_10ugm3 * particles) * (
            1 + effects.asthma_excess_per_pollen_index * grass)
        factor[:, _REASON[ReasonCategory.RESPIRATORY]] *= 1 + effects.respiratory_excess_per_10ugm3 * particles
        for reason in p.HEAT_SENSITIVE_REASONS:
            factor[_AGE[AgeBand.FROM_75], _REASON[reason]] *= 1 + effects.heat_elderly_excess_per_degree * heat
        extra = np.zeros((len(p.AGE_BANDS), len(p.REASONS)))  # extra visits per day
        extra[:, _REASON[ReasonCategory.HEAT_RELATED]] += (
            effects.heat_related_visits_per_degree * heat * _normalised(p.HEAT_RELATED_AGE_MIX, p.AGE_BANDS))
        middle = hour + timedelta(minutes=30)
        for wave in self.scenario.waves:
            level = wave.peak_ed_visits_per_day * wave.intensity(middle, self.scenario.reference)
            extra += level * np.outer(_normalised(p.WAVE_AGE_MIX[wave.pathogen.value], p.AGE_BANDS),
                                      _normalised(p.WAVE_REASON_MIX[wave.pathogen.value], p.REASONS))
        rates = self.base_ed * (season[None, None, :] * factor[None, :, :]) + self.ed_share[:, :, None] * extra
        result: FloatArray = rates * rhythm
        return result

    def scheduled_rates(self, hour: datetime) -> FloatArray:
        """Expected scheduled admissions in this hour, per bed index."""
        local = hour.astimezone(p.LOCAL_TZ)
        rhythm = self._sched_weights[local.hour] * p.SCHEDULED_WEEKDAY_FACTORS[local.weekday()] / 24
        result: FloatArray = self.scheduled_daily * rhythm
        return result

    # --- draws -------------------------------------------------------------------------------------------
    def draw_visits(self, hour: datetime, rates: FloatArray | None = None) -> Visits:
        """The visits of every ED in one hour, from the generator named (seed, "ed", hour)."""
        index = hour_index(hour)
        rates = self.ed_rates(hour) if rates is None else rates
        rng = generator(self.scenario.seed, "draw", "ed", index)
        counts = rng.poisson(rates)
        n = int(counts.sum())
        cells = np.repeat(np.arange(counts.size), counts.ravel())[rng.permutation(n)]  # cells come grouped
        ed, age, reason = np.unravel_index(cells, rates.shape)
        ed, age, reason = ed.astype(np.int64), age.astype(np.int64), reason.astype(np.int64)
        arrived = np.sort(rng.integers(0, 3600, n)) + index * 3600
        commune, patient = self._residents(rng, age)
        hospitalised = rng.random(n) < self.p_hosp[age, reason]
        unit_draw, site_draw, surgery_draw = rng.random(n), rng.random(n), rng.random(n)
        unit = np.full(n, _UNIT[CareUnit.MEDICINE])
        unit[~_CHILD[age] & (reason == _REASON[ReasonCategory.TRAUMA])
             & (surgery_draw < p.TRAUMA_TO_SURGERY_SHARE)] = _UNIT[CareUnit.SURGERY]
        unit[_CHILD[age]] = _UNIT[CareUnit.PAEDIATRICS]
        unit[unit_draw < self.icu_share[reason]] = _UNIT[CareUnit.ICU]
        bed = np.zeros(n, dtype=np.int64)
        for e in range(len(self.eds)):
            for u in np.unique(unit[ed == e]):
                beds, cdf = self.routes[(e, UNITS[u])]
                chosen = (ed == e) & (unit == u)
                bed[chosen] = beds[np.minimum(np.searchsorted(cdf, site_draw[chosen], side="right"), len(beds) - 1)]
        wait = np.exp(math.log(p.ED_STAY_MEDIAN_HOURS) + p.ED_STAY_SIGMA * rng.standard_normal(n))
        admitted = arrived + (np.minimum(wait, p.ED_STAY_CAP_HOURS) * 3600).astype(np.int64)
        los = self._length_of_stay(rng, self.bed_unit[bed], age)
        keep = np.flatnonzero(hospitalised)
        stays = Stays("ed", index, keep, bed[keep], admitted[keep], admitted[keep] + los[keep], age[keep],
                      reason[keep], commune[keep], patient[keep], True)
        return Visits(index, ed, arrived, age, reason, commune, patient, hospitalised, stays)

    def draw_scheduled(self, hour: datetime) -> Stays:
        """The scheduled admissions of every unit in one hour, from the generator (seed, "scheduled", hour)."""
        index = hour_index(hour)
        rng = generator(self.scenario.seed, "draw", "scheduled", index)
        counts = rng.poisson(self.scheduled_rates(hour))
        bed = np.repeat(np.arange(len(self.beds), dtype=np.int64), counts)
        n = bed.size
        admitted = np.sort(rng.integers(0, 3600, n)) + index * 3600
        age = np.minimum((rng.random(n)[:, None] > self._sched_age[bed]).sum(axis=1), len(p.AGE_BANDS) - 1)
        reason = np.minimum((rng.random(n)[:, None] > self._sched_reason[bed]).sum(axis=1), len(p.REASONS) - 1)
        age, reason = age.astype(np.int64), reason.astype(np.int64)
        commune, patient = self._residents(rng, age)
        los = self._length_of_stay(rng, self.bed_unit[bed], age)
        return Stays("scheduled", index, np.arange(n), bed, admitted, admitted + los, age, reason, commune,
                     patient, False)

    def _residents(self, rng: np.random.Generator, age: IntArray) -> tuple[IntArray, IntArray]:
        """Commune of residence (by population; -1 outside the territory) and synthetic patient number."""
        commune = np.minimum(np.searchsorted(self.commune_cdf, rng.random(age.size), side="right"),
                             len(self.commune_cdf) - 1)
        number = (rng.random(age.size) * self.pool[commune, age]).astype(np.int64)
        commune[commune == len(self.commune_cdf) - 1] = _OUTSIDE
        return commune, number

    def _length_of_stay(self, rng: np.random.Generator, unit: IntArray, age: IntArray) -> IntArray:
        """Seconds in the ward: log-normal around the unit's mean (longer for the old), capped."""
        sigma = self.los_sigma[unit]
        mean = self.los_mean[unit] * self.los_age[age]
        days = np.exp(np.log(mean) - sigma**2 / 2 + sigma * rng.standard_normal(unit.size))
        result: IntArray = (np.minimum(days, self.los_cap_days[unit]) * 86_400).astype(np.int64)
        return result
