"""Named figures of the simulated territory: every rate, share, lag and duration, with where it comes from.

Nothing here is computed: the model reads these tables; how the population responds to an episode
(heat, pollution, pollen) is a parameter of the scenario instead (:class:`simulator.scenario.ExposureEffects`).
Figures come from DOMAIN.md (the project's domain brief) where it gives them, else from public French
statistics named in the comment; "SYNTHETIC" marks a value chosen for plausibility only.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory

# Days, weekdays and hours of the day are French civil time: that is when people go to the emergency
# department, when the weekly pattern happens and how daily means are defined (DOMAIN.md, aggregates).
LOCAL_TZ = ZoneInfo("Europe/Paris")

AGE_BANDS: tuple[AgeBand, ...] = tuple(AgeBand)
REASONS: tuple[ReasonCategory, ...] = tuple(ReasonCategory)

# --- Population ---------------------------------------------------------------------------------------

# Age structure of Nantes Métropole (INSEE 2020, rounded): used to size the pool of synthetic patients
# per commune and age band, so that a frail elderly person is more often seen twice than a young adult.
POPULATION_AGE_SHARES: dict[AgeBand, float] = {
    AgeBand.UNDER_2: 0.022,
    AgeBand.FROM_2_TO_14: 0.150,
    AgeBand.FROM_15_TO_74: 0.748,
    AgeBand.FROM_75: 0.080,
}

# --- Emergency departments ------------------------------------------------------------------------------

# DREES, "Les urgences en 2019": about 22 million ED visits a year for 67 million inhabitants.
ED_VISITS_PER_INHABITANT_YEAR = 0.33
# Visits by people living outside the territory (the CHU is the department's referral hospital; tourists):
# SYNTHETIC, plausible for a metropolis of a coastal department. Their commune is left empty.
ED_OUT_OF_TERRITORY_SHARE = 0.12
# With the population of the 24 communes (~683,000) the two figures above give ~700 visits a day across
# the four emergency departments, inside the 600-800 a day expected for Nantes Métropole.

# Age of ED patients (OSCOUR national shares, rounded): children under 2 ~5%, 75+ ~17%.
ED_AGE_MIX: dict[AgeBand, float] = {
    AgeBand.UNDER_2: 0.05,
    AgeBand.FROM_2_TO_14: 0.15,
    AgeBand.FROM_15_TO_74: 0.63,
    AgeBand.FROM_75: 0.17,
}

# Syndrome mix per age band, yearly average (OSCOUR-like regroupings, rounded; SYNTHETIC where the
# bulletins give no figure). Rows sum to about 1 and are normalised by the model.
ED_REASON_MIX: dict[AgeBand, dict[ReasonCategory, float]] = {
    AgeBand.UNDER_2: {
        ReasonCategory.BRONCHIOLITIS: 0.08, ReasonCategory.RESPIRATORY: 0.20, ReasonCategory.INFLUENZA_LIKE: 0.02,
        ReasonCategory.COVID19: 0.01, ReasonCategory.GASTROENTERITIS: 0.15, ReasonCategory.TRAUMA: 0.12,
        ReasonCategory.ASTHMA: 0.01, ReasonCategory.HEAT_RELATED: 0.003, ReasonCategory.OTHER: 0.40,
    },
    AgeBand.FROM_2_TO_14: {
        ReasonCategory.RESPIRATORY: 0.12, ReasonCategory.ASTHMA: 0.04, ReasonCategory.INFLUENZA_LIKE: 0.03,
        ReasonCategory.COVID19: 0.01, ReasonCategory.GASTROENTERITIS: 0.10, ReasonCategory.TRAUMA: 0.35,
        ReasonCategory.HEAT_RELATED: 0.002, ReasonCategory.OTHER: 0.34,
    },
    AgeBand.FROM_15_TO_74: {
        ReasonCategory.RESPIRATORY: 0.06, ReasonCategory.ASTHMA: 0.015, ReasonCategory.INFLUENZA_LIKE: 0.02,
        ReasonCategory.COVID19: 0.01, ReasonCategory.GASTROENTERITIS: 0.04, ReasonCategory.TRAUMA: 0.30,
        ReasonCategory.CARDIOVASCULAR: 0.07, ReasonCategory.HEAT_RELATED: 0.002, ReasonCategory.OTHER: 0.45,
    },
    AgeBand.FROM_75: {
        ReasonCategory.RESPIRATORY: 0.14, ReasonCategory.INFLUENZA_LIKE: 0.02, ReasonCategory.COVID19: 0.02,
        ReasonCategory.CARDIOVASCULAR: 0.16, ReasonCategory.TRAUMA: 0.18, ReasonCategory.GASTROENTERITIS: 0.03,
        ReasonCategory.ASTHMA: 0.005, ReasonCategory.HEAT_RELATED: 0.005, ReasonCategory.OTHER: 0.44,
    },
}

# Yearly seasonality per reason: factor 1 + amplitude * cos(2 pi (day - peak day) / 365.25), averaging 1.
# DOMAIN.md: bronchiolitis peaks in November-December, influenza December-February, gastroenteritis in
# winter; heat in summer. Amplitudes SYNTHETIC (winter respiratory activity ~+35%, bronchiolitis and
# influenza near zero in summer).
SEASONALITY: dict[ReasonCategory, tuple[float, int]] = {  # reason: (amplitude, peak day of year)
    ReasonCategory.RESPIRATORY: (0.35, 15),
    ReasonCategory.BRONCHIOLITIS: (0.90, 339),  # early December
    ReasonCategory.INFLUENZA_LIKE: (0.90, 31),  # end of January
    ReasonCategory.GASTROENTERITIS: (0.40, 5),
    ReasonCategory.ASTHMA: (0.20, 263),  # the September back-to-school asthma peak
    ReasonCategory.CARDIOVASCULAR: (0.10, 15),
    ReasonCategory.TRAUMA: (0.10, 182),  # outdoor activity in summer
    ReasonCategory.HEAT_RELATED: (1.00, 206),  # late July; next to nothing in winter
}

# Weekly pattern of ED visits, Monday first, mean 1 (DOMAIN.md: highest on Mondays).
ED_WEEKDAY_FACTORS: tuple[float, ...] = (1.10, 1.00, 0.98, 0.97, 0.99, 0.97, 0.99)
# Share of the day's ED arrivals per local hour (OSCOUR-like curve: trough at 4-5 am, plateau from late
# morning to evening, DOMAIN.md). Normalised by the model.
ED_HOUR_PROFILE: tuple[float, ...] = (
    2.4, 1.9, 1.6, 1.4, 1.3, 1.3, 1.7, 2.6, 4.0, 5.3, 6.2, 6.3,
    5.6, 5.6, 6.0, 5.9, 5.8, 5.8, 5.9, 5.8, 5.2, 4.4, 3.6, 2.9,
)  # fmt: skip

# Where ED patients go, by age: children mostly to the CHU paediatric ED (SYNTHETIC shares; the CHU
# takes about half of the adult visits of the metropolis). Facilities missing from the territory are
# ignored and the shares renormalised.
ED_SHARES_ADULT: dict[str, float] = {
    "chu-nantes-hotel-dieu": 0.52, "sante-atlantique": 0.18, "hp-confluent": 0.18, "clinique-jules-verne": 0.12,
}
ED_SHARES_CHILD: dict[str, float] = {
    "chu-nantes-hotel-dieu": 0.80, "sante-atlantique": 0.08, "hp-confluent": 0.08, "clinique-jules-verne": 0.04,
}

# Probability of hospitalisation after an ED visit by age (DREES 2019: ~20% overall, about half of the
# patients aged 75 and over) and a multiplier by reason (SYNTHETIC: bronchiolitis of infants ~30%).
HOSPITALISATION_BY_AGE: dict[AgeBand, float] = {
    AgeBand.UNDER_2: 0.12, AgeBand.FROM_2_TO_14: 0.08, AgeBand.FROM_15_TO_74: 0.15, AgeBand.FROM_75: 0.55,
}
HOSPITALISATION_REASON_FACTOR: dict[ReasonCategory, float] = {
    ReasonCategory.RESPIRATORY: 1.3, ReasonCategory.BRONCHIOLITIS: 2.5, ReasonCategory.INFLUENZA_LIKE: 1.0,
    ReasonCategory.COVID19: 1.4, ReasonCategory.GASTROENTERITIS: 0.6, ReasonCategory.HEAT_RELATED: 1.2,
    ReasonCategory.ASTHMA: 0.8, ReasonCategory.CARDIOVASCULAR: 1.6, ReasonCategory.TRAUMA: 0.7,
    ReasonCategory.OTHER: 1.0,
}
# A probability never reaches 1: some patients go home or elsewhere whatever their state.
MAX_HOSPITALISATION_PROBABILITY = 0.95

# Share of hospitalised ED patients who need intensive care, by reason (SYNTHETIC, order of magnitude of
# French ICU admissions: a few percent, ~10% for severe COVID-19 waves).
ICU_SHARE: dict[ReasonCategory, float] = {
    ReasonCategory.RESPIRATORY: 0.06, ReasonCategory.BRONCHIOLITIS: 0.04, ReasonCategory.INFLUENZA_LIKE: 0.06,
    ReasonCategory.COVID19: 0.10, ReasonCategory.GASTROENTERITIS: 0.01, ReasonCategory.HEAT_RELATED: 0.05,
    ReasonCategory.ASTHMA: 0.04, ReasonCategory.CARDIOVASCULAR: 0.08, ReasonCategory.TRAUMA: 0.04,
    ReasonCategory.OTHER: 0.04,
}
# Adults hospitalised for trauma mostly go to surgery (SYNTHETIC).
TRAUMA_TO_SURGERY_SHARE = 0.75
# Hours spent in the ED before reaching a ward: log-normal, median 4.5 h (DREES: median stay of
# hospitalised patients about 4-5 h), capped below a day.
ED_STAY_MEDIAN_HOURS = 4.5
ED_STAY_SIGMA = 0.5
ED_STAY_CAP_HOURS = 23.0

# Which sites take the patients an ED hospitalises, with their shares (SYNTHETIC): the CHU spreads them over
# its sites; a private ED keeps most of them and sends the rest to the nearest CHU site (private medicine
# wards are small: kept alone they would overflow on an ordinary week). Shares are renormalised over the
# sites that have the unit; an ED not listed keeps all its patients. A unit found in none of the sites
# (a child at a private ED, intensive care at a clinic without one) goes to the referral facility's sites.
ED_ADMISSION_SITES: dict[str, dict[str, float]] = {
    "chu-nantes-hotel-dieu": {
        "chu-nantes-hotel-dieu": 0.55, "chu-nantes-nord-laennec": 0.33,
        "chu-nantes-saint-jacques": 0.08, "chu-nantes-bellier": 0.04,
    },
    "sante-atlantique": {"sante-atlantique": 0.70, "chu-nantes-nord-laennec": 0.30},
    "hp-confluent": {"hp-confluent": 0.70, "chu-nantes-hotel-dieu": 0.30},
    "clinique-jules-verne": {"clinique-jules-verne": 0.60, "chu-nantes-hotel-dieu": 0.40},
}
REFERRAL_FACILITY = "chu-nantes-hotel-dieu"

# --- Hospital stays ---------------------------------------------------------------------------------------

# Length of stay per unit: log-normal with this mean (days) and sigma, clipped at the cap (which also bounds
# how far back the bed model looks). ATIH/ScanSanté orders of magnitude: MCO full hospitalisation ~5-6 days
# (longer in medicine, for the elderly), ICU ~6-8 days, rehabilitation (SSR) ~30-35 days.
# Caps of acute stays at 30 days trim 1-3% of the mean (accounted for when sizing scheduled admissions).
LENGTH_OF_STAY: dict[CareUnit, tuple[float, float, float]] = {  # unit: (mean days, sigma, cap days)
    CareUnit.MEDICINE: (8.0, 0.8, 30.0),  # many elderly patients: longer than the MCO mean
    CareUnit.SURGERY: (6.0, 0.8, 30.0),
    CareUnit.PAEDIATRICS: (3.5, 0.7, 30.0),
    CareUnit.ICU: (6.0, 0.9, 30.0),
    CareUnit.REHABILITATION: (32.0, 0.6, 90.0),
    CareUnit.PSYCHIATRY: (25.0, 0.7, 90.0),
}
# Stays of the very old are longer, of infants shorter (SYNTHETIC multipliers of the unit's mean).
LENGTH_OF_STAY_AGE_FACTOR: dict[AgeBand, float] = {
    AgeBand.UNDER_2: 0.8, AgeBand.FROM_2_TO_14: 0.8, AgeBand.FROM_15_TO_74: 0.9, AgeBand.FROM_75: 1.25,
}
# Units whose patients come through transfers and waiting lists, never straight from the ED.
LONG_STAY_UNITS: frozenset[CareUnit] = frozenset({CareUnit.REHABILITATION, CareUnit.PSYCHIATRY})

# What a full hospital does (DOMAIN.md: tension levels trigger the "plan blanc" and regional ORSAN
# arrangements). A unit at or above its staffed capacity postpones the scheduled admissions that can wait
# (SYNTHETIC share: non-urgent surgery and check-ups; cancer care and urgent procedures go ahead); an ED
# patient bound for a unit at or above 115% (corridor and extra beds used up, SYNTHETIC level) is
# transferred to the same kind of unit with the lowest occupancy elsewhere, if one is below that level.
# Long-stay units (rehabilitation) do not postpone: their patients wait in acute beds instead, which this
# model leaves out; it also keeps their occupancy independent of where a run starts.
DEPROGRAMMING_OCCUPANCY = 1.0
DEFERRABLE_SCHEDULED_SHARE = 0.6
TRANSFER_OCCUPANCY = 1.15

# Usual occupancy of staffed beds outside epidemics (DREES SAE: French MCO occupancy ~80-85%, medicine in
# university hospitals above 90%). Scheduled admissions are sized so that, by Little's law
# (occupied = admissions per day x mean stay), the unit sits at this level on an ordinary week; an
# epidemic then pushes it past capacity, which is what a crisis cell has to see.
TARGET_OCCUPANCY: dict[CareUnit, float] = {
    CareUnit.MEDICINE: 0.91,
    CareUnit.SURGERY: 0.75,  # emptier at weekends
    CareUnit.PAEDIATRICS: 0.72,
    CareUnit.ICU: 0.86,
    CareUnit.REHABILITATION: 0.90,
    CareUnit.PSYCHIATRY: 0.90,
}
# Scheduled admissions are at least this share of a unit's inflow, even when ED inflow alone would fill it.
MIN_SCHEDULED_SHARE = 0.15
# Weekly pattern of scheduled admissions, Monday first, mean 1 (DOMAIN.md: fewer at weekends).
SCHEDULED_WEEKDAY_FACTORS: tuple[float, ...] = (1.30, 1.25, 1.20, 1.15, 1.00, 0.45, 0.65)
# Scheduled admissions by local hour: morning entries for the day's procedures, afternoon transfers.
SCHEDULED_HOUR_PROFILE: tuple[float, ...] = (
    0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.5, 6.0, 12.0, 12.0, 10.0, 8.0,
    4.0, 6.0, 9.0, 9.0, 8.0, 6.0, 3.0, 2.0, 1.0, 0.5, 0.3, 0.2,
)  # fmt: skip
# Who is admitted on schedule, per unit (SYNTHETIC): ages and reasons.
SCHEDULED_AGE_MIX: dict[CareUnit, dict[AgeBand, float]] = {
    CareUnit.PAEDIATRICS: {AgeBand.UNDER_2: 0.25, AgeBand.FROM_2_TO_14: 0.75},
    CareUnit.REHABILITATION: {AgeBand.FROM_15_TO_74: 0.45, AgeBand.FROM_75: 0.55},
    CareUnit.ICU: {AgeBand.FROM_15_TO_74: 0.65, AgeBand.FROM_75: 0.35},
}
SCHEDULED_AGE_MIX_DEFAULT: dict[AgeBand, float] = {
    AgeBand.UNDER_2: 0.01, AgeBand.FROM_2_TO_14: 0.04, AgeBand.FROM_15_TO_74: 0.67, AgeBand.FROM_75: 0.28,
}
SCHEDULED_REASON_MIX: dict[CareUnit, dict[ReasonCategory, float]] = {
    CareUnit.MEDICINE: {ReasonCategory.OTHER: 0.70, ReasonCategory.CARDIOVASCULAR: 0.20,
                        ReasonCategory.RESPIRATORY: 0.10},
    CareUnit.SURGERY: {ReasonCategory.OTHER: 0.80, ReasonCategory.TRAUMA: 0.15, ReasonCategory.CARDIOVASCULAR: 0.05},
    CareUnit.ICU: {ReasonCategory.OTHER: 0.60, ReasonCategory.CARDIOVASCULAR: 0.40},
    CareUnit.PAEDIATRICS: {ReasonCategory.OTHER: 0.85, ReasonCategory.RESPIRATORY: 0.10,
                           ReasonCategory.ASTHMA: 0.05},
}
SCHEDULED_REASON_MIX_DEFAULT: dict[ReasonCategory, float] = {ReasonCategory.OTHER: 0.8,
                                                             ReasonCategory.CARDIOVASCULAR: 0.2}

# How often bed counts are reported (the task's 15-minute snapshot cadence: fine enough for hourly views).
BED_SNAPSHOT_MINUTES = 15

# --- Epidemic waves ----------------------------------------------------------------------------------------

# Who an epidemic brings to the ED, per pathogen (DOMAIN.md: bronchiolitis hits children under 2,
# influenza and COVID-19 hospitalise the elderly first). Shares SYNTHETIC, close to OSCOUR bulletins.
WAVE_AGE_MIX: dict[str, dict[AgeBand, float]] = {
    "bronchiolitis": {AgeBand.UNDER_2: 0.92, AgeBand.FROM_2_TO_14: 0.08},
    "influenza": {AgeBand.UNDER_2: 0.05, AgeBand.FROM_2_TO_14: 0.25, AgeBand.FROM_15_TO_74: 0.45,
                  AgeBand.FROM_75: 0.25},
    "covid19": {AgeBand.UNDER_2: 0.03, AgeBand.FROM_2_TO_14: 0.05, AgeBand.FROM_15_TO_74: 0.50,
                AgeBand.FROM_75: 0.42},
}
# How those visits are coded (the syndrome group, and the share coded only as "respiratory").
WAVE_REASON_MIX: dict[str, dict[ReasonCategory, float]] = {
    "bronchiolitis": {ReasonCategory.BRONCHIOLITIS: 0.90, ReasonCategory.RESPIRATORY: 0.10},
    "influenza": {ReasonCategory.INFLUENZA_LIKE: 0.80, ReasonCategory.RESPIRATORY: 0.20},
    "covid19": {ReasonCategory.COVID19: 0.75, ReasonCategory.RESPIRATORY: 0.25},
}

# Heat-related visits by age (DOMAIN.md: the elderly first; SYNTHETIC shares close to OSCOUR "iCanicule").
HEAT_RELATED_AGE_MIX: dict[AgeBand, float] = {
    AgeBand.UNDER_2: 0.04, AgeBand.FROM_2_TO_14: 0.06, AgeBand.FROM_15_TO_74: 0.35, AgeBand.FROM_75: 0.55,
}
# Reasons whose visits by people aged 75+ rise with heat (decompensations rather than heat stroke).
HEAT_SENSITIVE_REASONS: frozenset[ReasonCategory] = frozenset(
    {ReasonCategory.CARDIOVASCULAR, ReasonCategory.RESPIRATORY, ReasonCategory.OTHER}
)
# People living outside the 24 communes who may use the territory's hospitals (the rest of the
# department, ~780,000 inhabitants): the pool their synthetic patient numbers are drawn from.
OUT_OF_TERRITORY_POPULATION = 780_000
