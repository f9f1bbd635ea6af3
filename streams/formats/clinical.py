"""Code mappings shared by the clinical formats: care units, reason categories, age bands, admission ids.

Pure. These are the coarse regroupings of the domain contracts (``synopse.domain.codes``): a diagnosis
becomes a syndrome group, a birth date an age band, a hospital service a kind of care unit, so nothing
finer than the contracts allow ever leaves the mapper. Reasons raised here name fields and codes, never
a patient's values.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping
from datetime import date, datetime

from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory
from synopse.errors import ContractError

# All admission ids derive from this namespace: the id of a stay is uuid5(namespace, "facility|visit"),
# the same whichever feed (HL7 v2 or FHIR) reports it, so an A08 or an updated Encounter replaces it.
ADMISSION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:synopse:admission")

_SOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")  # synopse.domain.events.SourceId
_COMMUNE = re.compile(r"^(\d{5}|2[AB]\d{3})$")  # synopse.domain.events.CommuneCode

# Hospital services (HL7 table 0069 is user-defined: these are the codes met in French and HL7 sample
# feeds) and the contract's own spellings, to kinds of care unit. A site with its own codes passes
# ``service_codes`` to the decoders.
HOSPITAL_SERVICES: dict[str, CareUnit] = {
    **{unit.value.upper(): unit for unit in CareUnit},
    "MED": CareUnit.MEDICINE, "CAR": CareUnit.MEDICINE, "PUL": CareUnit.MEDICINE, "GER": CareUnit.MEDICINE,
    "GERIATRICS": CareUnit.MEDICINE, "INTERNAL": CareUnit.MEDICINE, "MEDECINE": CareUnit.MEDICINE,
    "SUR": CareUnit.SURGERY, "CHI": CareUnit.SURGERY, "CHIR": CareUnit.SURGERY, "URO": CareUnit.SURGERY,
    "ORT": CareUnit.SURGERY, "CHIRURGIE": CareUnit.SURGERY,
    "PED": CareUnit.PAEDIATRICS, "PEDIATRICS": CareUnit.PAEDIATRICS, "PEDIATRIE": CareUnit.PAEDIATRICS,
    "NEO": CareUnit.PAEDIATRICS,
    "ICU": CareUnit.ICU, "CCU": CareUnit.ICU, "MICU": CareUnit.ICU, "SICU": CareUnit.ICU, "NICU": CareUnit.ICU,
    "PICU": CareUnit.ICU, "REA": CareUnit.ICU, "USI": CareUnit.ICU, "USC": CareUnit.ICU, "SC": CareUnit.ICU,
    "REANIMATION": CareUnit.ICU,
    "REH": CareUnit.REHABILITATION, "REHAB": CareUnit.REHABILITATION, "SSR": CareUnit.REHABILITATION,
    "SMR": CareUnit.REHABILITATION,
    "PSY": CareUnit.PSYCHIATRY, "PSYCHIATRIE": CareUnit.PSYCHIATRY,
}

# ICD-10 code prefixes (dots removed) to syndrome groups, most specific first: the first match wins.
# OSCOUR-style regroupings, deliberately coarse; codes outside them count as "other".
ICD10_GROUPS: tuple[tuple[str, ReasonCategory], ...] = (
    ("U071", ReasonCategory.COVID19), ("U072", ReasonCategory.COVID19),
    ("J09", ReasonCategory.INFLUENZA_LIKE), ("J10", ReasonCategory.INFLUENZA_LIKE),
    ("J11", ReasonCategory.INFLUENZA_LIKE),
    ("J21", ReasonCategory.BRONCHIOLITIS),
    ("J45", ReasonCategory.ASTHMA), ("J46", ReasonCategory.ASTHMA),
    ("T67", ReasonCategory.HEAT_RELATED), ("X30", ReasonCategory.HEAT_RELATED), ("E86", ReasonCategory.HEAT_RELATED),
    ("E871", ReasonCategory.HEAT_RELATED),
    ("J", ReasonCategory.RESPIRATORY),
    ("A0", ReasonCategory.GASTROENTERITIS),
    ("I", ReasonCategory.CARDIOVASCULAR),
    ("S", ReasonCategory.TRAUMA), ("T0", ReasonCategory.TRAUMA), ("T10", ReasonCategory.TRAUMA),
    ("T11", ReasonCategory.TRAUMA), ("T12", ReasonCategory.TRAUMA), ("T13", ReasonCategory.TRAUMA),
    ("T14", ReasonCategory.TRAUMA),
)
_ICD10 = re.compile(r"^[A-Z]\d{2}(\.?[0-9A-Z]{1,4})?$")


def admission_event_id(facility_id: str, visit_number: str) -> uuid.UUID:
    """The stable id of one stay: every message about it (admit, transfer, discharge, cancel) updates one row."""
    return uuid.uuid5(ADMISSION_NAMESPACE, f"{facility_id}|{visit_number.strip()}")


def check_facility(facility_id: str, where: str, facilities: Collection[str] | None) -> str:
    """The facility id, checked to be an id Synopse can store and, when a list is given, a known one."""
    facility_id = facility_id.strip()
    if not facility_id:
        raise ContractError(f"{where} is missing: the facility is unknown")
    if not _SOURCE_ID.match(facility_id):
        raise ContractError(f"{where} {facility_id!r} is not a facility id (letters, digits, '_.:-'; 64 at most)")
    if facilities is not None and facility_id not in facilities:
        raise ContractError(f"{where}: unknown facility {facility_id!r} (not in the reference data)")
    return facility_id


def care_unit(code: str, where: str, extra: Mapping[str, CareUnit] | None = None) -> CareUnit:
    """The kind of care unit of a hospital-service code (site codes in ``extra`` win over the defaults)."""
    key = code.strip().upper()
    if not key:
        raise ContractError(f"{where} is missing: the care unit is unknown")
    unit = (extra or {}).get(key) or (extra or {}).get(code.strip()) or HOSPITAL_SERVICES.get(key)
    if unit is None:
        raise ContractError(
            f"{where} {code.strip()!r} is not a known hospital service (e.g. MED, SUR, PED, ICU, REA, SSR, PSY)"
        )
    return unit


def reason_category(codes: Collection[str]) -> ReasonCategory:
    """The syndrome group of the first code that has one (ICD-10, or a contract spelling); else OTHER."""
    for raw in codes:
        code = raw.strip()
        if not code:
            continue
        try:
            return ReasonCategory(code.lower())
        except ValueError:
            pass
        normalised = code.upper()
        if _ICD10.match(normalised):
            compact = normalised.replace(".", "")
            for prefix, category in ICD10_GROUPS:
                if compact.startswith(prefix):
                    return category
    return ReasonCategory.OTHER


def age_band(birth: date, at: datetime) -> AgeBand:
    """The age band at ``at`` of someone born on ``birth`` (the birth date goes no further than here)."""
    day = at.date()
    if birth > day:
        raise ContractError("the date of birth is after the admission")
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    if years < 2:
        return AgeBand.UNDER_2
    if years < 15:
        return AgeBand.FROM_2_TO_14
    if years < 75:
        return AgeBand.FROM_15_TO_74
    return AgeBand.FROM_75


def partial_birth_date(text: str, where: str) -> date:
    """A birth date given as ``YYYY``, ``YYYYMM``/``YYYY-MM`` or a full date; a missing part is mid-period.

    Mid-year (1 July) or mid-month (15th) keeps the age right except within half a period of a band's edge.
    """
    digits = text.strip().replace("-", "")[:8]
    try:
        if len(digits) == 4:
            return date(int(digits), 7, 1)
        if len(digits) == 6:
            return date(int(digits[:4]), int(digits[4:6]), 15)
        if len(digits) == 8:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        pass
    if not digits:
        raise ContractError(f"{where} is missing: the age band is unknown")
    raise ContractError(f"{where} is not a date (YYYY[MM[DD]])")


def commune_code(value: str | None) -> str | None:
    """``value`` when it has the shape of an INSEE commune code, else None.

    Read only from fields meant for the INSEE code (HL7 XAD-9, the FHIR INSEE extension), never from a
    postcode: a postcode has the same shape but spans several communes.
    """
    if value is None:
        return None
    value = value.strip().upper()
    return value if _COMMUNE.match(value) else None
