"""FHIR R4 Encounter (alone or in a Bundle) to Admission: statuses, Patients found, R4 validation, refusals."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter

from streams.formats.clinical import admission_event_id
from streams.formats.fhir import decode_fhir_encounter
from streams.formats.hl7v2 import decode_hl7v2
from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory
from synopse.domain.pseudonymise import pseudonymise
from tests.unit.streams_formats.hl7_samples import adt

KEY = b"unit-test-key-0123456789abcdef-0123"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "streams_inputs" / "fhir"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return document


def as_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_fixtures_are_valid_fhir_r4() -> None:
    Encounter.model_validate(load("encounter_contained.json"))
    Bundle.model_validate(load("bundle_encounters.json"))


def test_encounter_with_its_patient_contained() -> None:
    decoded = decode_fhir_encounter(as_bytes(load("encounter_contained.json")), KEY)
    assert decoded.rejected == []
    [admission] = decoded.events
    assert admission.event_id == admission_event_id("chu-nantes-hotel-dieu", "V240002")  # the VN identifier
    assert admission.facility_id == "chu-nantes-hotel-dieu"  # serviceProvider's reference
    assert admission.care_unit is CareUnit.PAEDIATRICS
    assert admission.admitted_at == datetime(2024, 1, 16, 20, 40, tzinfo=UTC)
    assert admission.age_band is AgeBand.UNDER_2
    assert admission.reason is ReasonCategory.BRONCHIOLITIS
    assert admission.commune_code == "44143"  # the French INSEE address extension
    assert admission.via_emergency is True
    assert admission.discharged_at is None and admission.cancelled is False
    assert admission.patient_key == pseudonymise("1.2.250.1.213.1.1.9|654321", KEY)
    for identifying in ("654321", "MARTIN", "LOUISE", "2023-06-02", "44400"):
        assert identifying not in admission.model_dump_json()


def test_bundle_maps_each_encounter_and_refuses_only_the_bad_one() -> None:
    decoded = decode_fhir_encounter(as_bytes(load("bundle_encounters.json")), KEY)
    [admission] = decoded.events
    assert admission.facility_id == "sante-atlantique"  # serviceProvider's identifier
    assert admission.care_unit is CareUnit.ICU  # serviceType text "REA"
    assert admission.reason is ReasonCategory.COVID19
    assert admission.discharged_at == datetime(2024, 1, 20, 11, tzinfo=UTC)  # finished: period.end
    assert admission.age_band is AgeBand.FROM_15_TO_74 and admission.commune_code == "44162"
    [rejected] = decoded.rejected
    assert rejected.index == 2
    assert rejected.reason == (
        "Encounter enc-78: class 'EMER' is not a hospital stay (admissions: ACUTE, IMP, NONAC, OBSENC, SS)"
    )
    assert json.loads(rejected.raw)["id"] == "enc-78"  # the entry alone, replayable


def test_same_stay_through_hl7_and_fhir_is_one_admission() -> None:
    encounter = load("encounter_contained.json")
    encounter["identifier"][0]["value"] = "V240001"
    encounter["serviceType"] = {"coding": [{"code": "MED"}]}
    from_fhir = decode_fhir_encounter(as_bytes(encounter), KEY).events[0]
    from_hl7 = decode_hl7v2(adt("A01").encode(), KEY).events[0]
    assert from_fhir.event_id == from_hl7.event_id


@pytest.mark.parametrize(
    ("status", "cancelled", "discharged"),
    [("arrived", False, None), ("onleave", False, None), ("cancelled", True, None), ("entered-in-error", True, None),
     ("finished", False, datetime(2024, 1, 18, 9, tzinfo=UTC))],
)
def test_statuses(status: str, cancelled: bool, discharged: datetime | None) -> None:
    encounter = load("encounter_contained.json")
    encounter["status"] = status
    encounter["period"]["end"] = "2024-01-18T10:00:00+01:00"
    [admission] = decode_fhir_encounter(as_bytes(encounter), KEY).events
    assert (admission.cancelled, admission.discharged_at) == (cancelled, discharged)


def _variant(change: Any) -> bytes:
    encounter = copy.deepcopy(load("encounter_contained.json"))
    change(encounter)
    return as_bytes(encounter)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", "not UTF-8 JSON"),
        (b"[]", "expected a FHIR resource (JSON object), got list"),
        (b'{"resourceType": "Patient", "id": "p"}', "resourceType 'Patient' is neither Encounter nor Bundle"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": []}', "Bundle holds no Encounter"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}', "each with a resource"),
        (_variant(lambda e: e.update(status="planned")), "status 'planned' is not an admission"),
        (_variant(lambda e: e["period"].update(start="2024-01-16T21:40:00")), "is not valid FHIR R4: period.start"),
        (_variant(lambda e: e["period"].update(start="2024-01-16")), "Encounter.period.start is a date without a time"),
        (_variant(lambda e: e.update(actualPeriod=e.pop("period"))), "is not valid FHIR R4: actualPeriod"),  # R5 only
        (_variant(lambda e: e.pop("serviceProvider")), "Encounter.serviceProvider is missing"),
        (_variant(lambda e: e.pop("serviceType")), "Encounter.serviceType is missing"),
        (_variant(lambda e: e.update(subject={"reference": "Patient/elsewhere"})), "is not in the message"),
        (_variant(lambda e: e.update(status="finished")), "without period.end"),
        (_variant(lambda e: e["contained"][0].pop("birthDate")), "Patient.birthDate is missing"),
        (_variant(lambda e: e["contained"][0].pop("identifier")), "the Patient has no identifier"),
        (_variant(lambda e: e["contained"][0].update(birthDate="2030-01-01")), "date of birth is after the admission"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(raw: bytes, expected: str) -> None:
    decoded = decode_fhir_encounter(raw, KEY)
    assert decoded.events == []
    [rejected] = decoded.rejected
    assert expected in rejected.reason
    assert "654321" not in rejected.reason and "MARTIN" not in rejected.reason
