"""Code lists shared by every contract: age bands, care units, reasons, environmental indicators.

Values are the wire spelling (lower-case ASCII) and never change within a topic version.
"""

from __future__ import annotations

from enum import StrEnum


class AgeBand(StrEnum):
    """Age bands of French syndromic surveillance bulletins (SurSaUD): birth dates never leave the hospital."""

    UNDER_2 = "0-1"
    FROM_2_TO_14 = "2-14"
    FROM_15_TO_74 = "15-74"
    FROM_75 = "75+"


class CareUnit(StrEnum):
    """Kinds of care unit whose beds and admissions are counted."""

    MEDICINE = "medicine"
    SURGERY = "surgery"
    PAEDIATRICS = "paediatrics"
    ICU = "icu"
    REHABILITATION = "rehabilitation"
    PSYCHIATRY = "psychiatry"


class ReasonCategory(StrEnum):
    """Syndrome groups of surveillance (OSCOUR-style regroupings), coarse enough to never identify anyone."""

    RESPIRATORY = "respiratory"
    BRONCHIOLITIS = "bronchiolitis"
    INFLUENZA_LIKE = "influenza_like"
    COVID19 = "covid19"
    GASTROENTERITIS = "gastroenteritis"
    HEAT_RELATED = "heat_related"
    ASTHMA = "asthma"
    CARDIOVASCULAR = "cardiovascular"
    TRAUMA = "trauma"
    OTHER = "other"


class Indicator(StrEnum):
    """Environmental indicators; each has exactly one canonical unit (see :data:`INDICATOR_UNITS`)."""

    TEMPERATURE = "temperature"
    TEMPERATURE_DAILY_MIN = "temperature_daily_min"
    TEMPERATURE_DAILY_MAX = "temperature_daily_max"
    TEMPERATURE_DAILY_MEAN = "temperature_daily_mean"
    PM10 = "pm10"
    PM2_5 = "pm2_5"
    NO2 = "no2"
    O3 = "o3"
    POLLEN_GRASSES = "pollen_grasses"
    POLLEN_BIRCH = "pollen_birch"
    POLLEN_RAGWEED = "pollen_ragweed"
    POLLEN_CYPRESS = "pollen_cypress"
    WASTEWATER_SARS_COV_2 = "wastewater_sars_cov_2"


CELSIUS = "°C"
MICROGRAMS_PER_M3 = "µg/m³"
RISK_INDEX = "index"  # RNSA allergy-risk index, 0 (none) to 5 (very high)
GENOME_COPIES_PER_L = "gc/L"

INDICATOR_UNITS: dict[Indicator, str] = {
    Indicator.TEMPERATURE: CELSIUS,
    Indicator.TEMPERATURE_DAILY_MIN: CELSIUS,
    Indicator.TEMPERATURE_DAILY_MAX: CELSIUS,
    Indicator.TEMPERATURE_DAILY_MEAN: CELSIUS,
    Indicator.PM10: MICROGRAMS_PER_M3,
    Indicator.PM2_5: MICROGRAMS_PER_M3,
    Indicator.NO2: MICROGRAMS_PER_M3,
    Indicator.O3: MICROGRAMS_PER_M3,
    Indicator.POLLEN_GRASSES: RISK_INDEX,
    Indicator.POLLEN_BIRCH: RISK_INDEX,
    Indicator.POLLEN_RAGWEED: RISK_INDEX,
    Indicator.POLLEN_CYPRESS: RISK_INDEX,
    Indicator.WASTEWATER_SARS_COV_2: GENOME_COPIES_PER_L,
}

# Spellings met in open data and sensor firmware, mapped to the canonical unit.
UNIT_ALIASES: dict[str, str] = {
    "°c": CELSIUS,
    "degc": CELSIUS,
    "c": CELSIUS,
    "celsius": CELSIUS,
    "µg/m³": MICROGRAMS_PER_M3,
    "µg/m3": MICROGRAMS_PER_M3,
    "μg/m³": MICROGRAMS_PER_M3,  # Greek mu, not the micro sign
    "μg/m3": MICROGRAMS_PER_M3,
    "ug/m3": MICROGRAMS_PER_M3,
    "ug.m-3": MICROGRAMS_PER_M3,
    "index": RISK_INDEX,
    "gc/l": GENOME_COPIES_PER_L,
    "cg/l": GENOME_COPIES_PER_L,
}

# Physically plausible ranges: a value outside is a sensor or unit error, not an observation.
INDICATOR_RANGES: dict[str, tuple[float, float]] = {
    CELSIUS: (-60.0, 60.0),
    MICROGRAMS_PER_M3: (0.0, 5000.0),
    RISK_INDEX: (0.0, 5.0),
    GENOME_COPIES_PER_L: (0.0, 1e12),
}


def canonical_unit(unit: str) -> str | None:
    """The canonical spelling of a unit, or None when the unit is unknown."""
    return UNIT_ALIASES.get(unit.strip().lower())
