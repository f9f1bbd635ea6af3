"""FHIR R4 Encounter resources to Admission events: the mapping of the raw topic ``synopse.fhir.encounter.v1``.

Pure: bytes in, domain events and reasons out. A message is one Encounter (its Patient contained in it)
or a Bundle of Encounters and Patients; each resource is validated against FHIR R4 with ``fhir.resources``
(its ``R4B`` package: R4B changed no Encounter or Patient element of R4, while the package's default
is R5, whose Encounter differs). The Patient gives the age band and the commune, then is dropped; its
identifier becomes a keyed hash. One stay (facility + visit number, else Encounter.id) is one admission
id, shared with the HL7 v2 mapping, so an updated Encounter replaces the stored row:

- ``arrived``, ``triaged``, ``in-progress``, ``onleave``: admitted;
- ``finished``: discharged at ``period.end``;
- ``cancelled``, ``entered-in-error``: the admission flagged ``cancelled``;
- ``planned``, ``unknown``: refused (not an admission yet, or not known to be one).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from streams.formats.clinical import (
    admission_event_id,
    age_band,
    care_unit,
    check_facility,
    commune_code,
    partial_birth_date,
    reason_category,
)
from synopse.domain.codec import MAX_BATCH_EVENTS, Decoded, Rejected, describe_validation_error
from synopse.domain.codes import CareUnit
from synopse.domain.events import Admission
from synopse.domain.pseudonymise import MIN_KEY_BYTES, pseudonymise, qualified_identifier
from synopse.errors import ConfigurationError, ContractError

# v3 ActCode encounter classes that are hospital stays; EMER (an ED visit), AMB, HH, VR, PRENC are not.
INPATIENT_CLASSES = frozenset({"IMP", "ACUTE", "NONAC", "SS", "OBSENC"})
ADMITTED_STATUSES = frozenset({"arrived", "triaged", "in-progress", "onleave"})
CANCELLED_STATUSES = frozenset({"cancelled", "entered-in-error"})
# hospitalization.admitSource "emd": from the accident and emergency department.
EMERGENCY_ADMIT_SOURCES = frozenset({"emd"})
# Identifier types (HL7 table 0203) preferred for the patient, and the one naming a visit.
_PATIENT_ID_TYPES = ("PI", "MR")
_VISIT_ID_TYPE = "VN"


@dataclass(frozen=True)
class FhirOptions:
    """What a site may tune: the known facilities and its own service codes."""

    facilities: Collection[str] | None = None
    service_codes: Mapping[str, CareUnit] | None = None


def decode_fhir_encounter(
    raw: bytes | None,
    key: bytes,
    *,
    facilities: Collection[str] | None = None,
    service_codes: Mapping[str, CareUnit] | None = None,
) -> Decoded:
    """Map one Kafka message of the FHIR Encounter topic to Admission events; never raises on bad input.

    Args:
        raw: One Encounter (JSON), or a Bundle whose entries are Encounters and the Patients they name.
        key: The pseudonymisation key (``synopse.config.pseudonymisation_key``).
        facilities: When given, a facility not in it is refused.
        service_codes: Site-specific service codes (Encounter.serviceType) to care units.

    Returns:
        The events, and for each Encounter that cannot be mapped its JSON and a reason (``index``: its
        entry position in a Bundle).

    Raises:
        ConfigurationError: The key is too short.
    """
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
    if raw is None:
        return Decoded(rejected=[Rejected(b"", "empty message value (tombstone)")])
    options = FhirOptions(facilities, service_codes)
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Decoded(rejected=[Rejected(raw, f"not UTF-8 JSON: {exc}")])
    if not isinstance(document, dict):
        reason = f"expected a FHIR resource (JSON object), got {type(document).__name__}"
        return Decoded(rejected=[Rejected(raw, reason)])
    kind = document.get("resourceType")
    if kind == "Encounter":
        try:
            return Decoded(events=[map_encounter(document, {}, key, options)])
        except ContractError as exc:
            return Decoded(rejected=[Rejected(raw, str(exc))])
    if kind == "Bundle":
        return _decode_bundle(raw, document, key, options)
    return Decoded(rejected=[Rejected(raw, f"resourceType {kind!r} is neither Encounter nor Bundle")])


def _decode_bundle(raw: bytes, bundle: dict[str, Any], key: bytes, options: FhirOptions) -> Decoded:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("resource"), dict)
                                                for e in entries):
        return Decoded(rejected=[Rejected(raw, "Bundle.entry must be a list of entries, each with a resource")])
    if len(entries) > MAX_BATCH_EVENTS:
        return Decoded(rejected=[Rejected(raw, f"Bundle of {len(entries)} entries exceeds {MAX_BATCH_EVENTS}")])
    patients: dict[str, dict[str, Any]] = {}
    for entry in entries:
        resource = entry["resource"]
        if resource.get("resourceType") == "Patient":
            for reference in (entry.get("fullUrl"), f"Patient/{resource.get('id')}"):
                if isinstance(reference, str):
                    patients[reference] = resource
    decoded = Decoded()
    for index, entry in enumerate(entries):
        resource = entry["resource"]
        if resource.get("resourceType") != "Encounter":
            continue  # Patients serve the Encounters; other resources are not ours to map
        try:
            decoded.events.append(map_encounter(resource, patients, key, options))
        except ContractError as exc:
            decoded.rejected.append(Rejected(json.dumps(resource, ensure_ascii=False).encode(), str(exc), index))
    if not decoded.events and not decoded.rejected:
        decoded.rejected.append(Rejected(raw, "Bundle holds no Encounter"))
    return decoded


def map_encounter(
    document: dict[str, Any], patients: Mapping[str, dict[str, Any]], key: bytes, options: FhirOptions | None = None
) -> Admission:
    """One Encounter (as JSON) to its Admission event; ``patients`` are the Bundle's, by reference.

    Raises:
        ContractError: With a reason naming the Encounter (its id) and the element at fault.
    """
    options = options or FhirOptions()
    label = f"Encounter {document.get('id') or '(no id)'}"
    try:
        encounter = Encounter.model_validate(document)
        return _admission(encounter, patients, key, options)
    except ValidationError as exc:
        raise ContractError(f"{label} is not valid FHIR R4: {describe_validation_error(exc)}") from None
    except ContractError as exc:
        raise ContractError(f"{label}: {exc}") from None


def _admission(encounter: Any, patients: Mapping[str, dict[str, Any]], key: bytes, options: FhirOptions) -> Admission:
    status = encounter.status
    if status not in ADMITTED_STATUSES | CANCELLED_STATUSES | {"finished"}:
        raise ContractError(f"status {status!r} is not an admission (yet)")
    klass = encounter.class_fhir.code if encounter.class_fhir is not None else None
    if klass not in INPATIENT_CLASSES:
        accepted = ", ".join(sorted(INPATIENT_CLASSES))
        raise ContractError(f"class {klass!r} is not a hospital stay (admissions: {accepted})")
    facility = check_facility(_organisation(encounter.serviceProvider), "Encounter.serviceProvider", options.facilities)
    visit = _visit_number(encounter)
    period = encounter.period
    admitted_at = _instant(period.start if period is not None else None, "Encounter.period.start")
    if admitted_at is None:
        raise ContractError("Encounter.period.start is missing")
    discharged_at = None
    if status == "finished":
        discharged_at = _instant(period.end if period is not None else None, "Encounter.period.end")
        if discharged_at is None:
            raise ContractError("status 'finished' without period.end: the discharge time is unknown")
    patient = _patient(encounter, patients)
    fields = {
        "event_id": admission_event_id(facility, visit),
        "facility_id": facility,
        "care_unit": _care_unit(encounter, options),
        "admitted_at": admitted_at,
        "age_band": age_band(partial_birth_date(str(patient.birthDate or ""), "Patient.birthDate"), admitted_at),
        "reason": reason_category(
            [coding.code or "" for concept in encounter.reasonCode or [] for coding in concept.coding or []]
        ),
        "patient_key": pseudonymise(_patient_identifier(encounter, patient), key),
        "commune_code": _commune(patient),
        "via_emergency": _admitted_from_emergency(encounter),
        "discharged_at": discharged_at,
        "cancelled": status in CANCELLED_STATUSES,
    }
    try:
        return Admission.model_validate(fields)
    except ValidationError as exc:
        raise ContractError(describe_validation_error(exc)) from None


def _organisation(reference: Any) -> str:
    """The facility id of a Reference(Organization): its identifier's value, else the id it points to."""
    if reference is None:
        return ""
    if reference.identifier is not None and reference.identifier.value:
        return str(reference.identifier.value)
    target = str(reference.reference or "")
    kind, _, identity = target.rpartition("/")
    return identity if kind.endswith("Organization") else ""


def _visit_number(encounter: Any) -> str:
    for identifier in encounter.identifier or []:
        codes = {coding.code for coding in (identifier.type.coding or [])} if identifier.type is not None else set()
        if _VISIT_ID_TYPE in codes and identifier.value:
            return str(identifier.value)
    if encounter.id:
        return str(encounter.id)
    raise ContractError("no visit number (identifier of type VN) and no id: corrections could not find this stay")


def _instant(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ContractError(f"{where} is a date without a time")
    if value.tzinfo is None:
        raise ContractError(f"{where} has no time zone: it would be a guess")
    return value


def _care_unit(encounter: Any, options: FhirOptions) -> CareUnit:
    concept = encounter.serviceType
    candidates = [coding.code for coding in (concept.coding or []) if coding.code] if concept is not None else []
    if concept is not None and concept.text:
        candidates.append(concept.text)
    for code in candidates:
        try:
            return care_unit(str(code), "Encounter.serviceType", options.service_codes)
        except ContractError:
            continue
    if not candidates:
        raise ContractError("Encounter.serviceType is missing: the care unit is unknown")
    return care_unit(str(candidates[0]), "Encounter.serviceType", options.service_codes)


def _patient(encounter: Any, patients: Mapping[str, dict[str, Any]]) -> Any:
    subject = encounter.subject
    reference = str(subject.reference or "") if subject is not None else ""
    document: dict[str, Any] | None = None
    if reference.startswith("#"):
        for contained in encounter.contained or []:
            if contained.get_resource_type() == "Patient" and contained.id == reference[1:]:
                return contained
    elif reference:
        document = patients.get(reference) or patients.get("Patient/" + reference.rsplit("/", 1)[-1])
    if document is None:
        raise ContractError(
            "the Patient of Encounter.subject is not in the message (contained, or a Bundle entry): "
            "the age band is unknown"
        )
    try:
        return Patient.model_validate(document)
    except ValidationError as exc:
        raise ContractError(f"its Patient is not valid FHIR R4: {describe_validation_error(exc)}") from None


def _identifier_text(identifier: Any) -> str | None:
    if identifier is None or not identifier.value:
        return None
    system = str(identifier.system or "")
    authority = system.removeprefix("urn:oid:")
    return qualified_identifier(authority, str(identifier.value))


def _patient_identifier(encounter: Any, patient: Any) -> str:
    """The Patient's identifier (internal id first), else Encounter.subject's; qualified by its system."""
    identifiers = list(patient.identifier or [])
    for wanted in _PATIENT_ID_TYPES:
        for identifier in identifiers:
            codes = {c.code for c in identifier.type.coding or []} if identifier.type is not None else set()
            if wanted in codes and (text := _identifier_text(identifier)):
                return text
    for identifier in [*identifiers, encounter.subject.identifier if encounter.subject is not None else None]:
        if text := _identifier_text(identifier):
            return text
    raise ContractError("the Patient has no identifier (Patient.identifier or Encounter.subject.identifier)")


def _commune(patient: Any) -> str | None:
    """The INSEE code of the home address, from an extension named for it (as French profiles carry it)."""
    addresses = sorted(patient.address or [], key=lambda address: address.use != "home")
    for address in addresses:
        for extension in address.extension or []:
            if "insee" in str(extension.url).lower():
                value = extension.valueString or extension.valueCode or (
                    extension.valueCoding.code if extension.valueCoding is not None else None
                )
                if code := commune_code(value):
                    return code
    return None


def _admitted_from_emergency(encounter: Any) -> bool:
    hospitalization = encounter.hospitalization
    if hospitalization is None or hospitalization.admitSource is None:
        return False
    return any(coding.code in EMERGENCY_ADMIT_SOURCES for coding in hospitalization.admitSource.coding or [])
