"""HL7 v2 ADT to Admission: each trigger, the stay's one identity, pseudonyms, and refusals that explain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from streams.formats.clinical import admission_event_id
from streams.formats.hl7v2 import decode_hl7v2
from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory
from synopse.domain.pseudonymise import pseudonymise
from synopse.errors import ConfigurationError
from tests.unit.streams_formats.hl7_samples import (
    AUTHORITY,
    FACILITY,
    IPP,
    VISIT,
    adt,
    dg1,
    evn,
    message_bytes,
    msh,
    pid,
    pv1,
    pv2,
    segment,
)

KEY = b"unit-test-key-0123456789abcdef-0123"
FEED = Path(__file__).resolve().parents[2] / "fixtures" / "streams_inputs" / "hl7" / "adt_feed_one_stay.hl7"


def decode_one(raw: bytes, **options: object):  # type: ignore[no-untyped-def]
    decoded = decode_hl7v2(raw, KEY, **options)  # type: ignore[arg-type]
    assert decoded.rejected == [], [r.reason for r in decoded.rejected]
    assert len(decoded.events) == 1
    return decoded.events[0]


def reason_of(raw: bytes, **options: object) -> str:
    decoded = decode_hl7v2(raw, KEY, **options)  # type: ignore[arg-type]
    assert decoded.events == []
    assert len(decoded.rejected) == 1
    assert decoded.rejected[0].raw == raw  # the original bytes, for the dead-letter topic
    return decoded.rejected[0].reason


def test_a01_maps_every_field_and_keeps_no_identifier() -> None:
    raw = adt("A01").encode()
    admission = decode_one(raw)
    assert admission.event_id == admission_event_id(FACILITY, VISIT)
    assert admission.facility_id == FACILITY
    assert admission.care_unit is CareUnit.MEDICINE
    assert admission.admitted_at == datetime(2024, 1, 15, 7, 20, tzinfo=UTC)  # 08:20 at +01:00
    assert admission.age_band is AgeBand.FROM_75  # born 1947
    assert admission.reason is ReasonCategory.INFLUENZA_LIKE  # J11.1
    assert admission.commune_code == "44109"  # XAD-9 of the home address, not the postcode 44000
    assert admission.via_emergency is True
    assert admission.discharged_at is None and admission.cancelled is False
    # The internal patient id (PI), qualified by its assigning authority's OID, keyed-hashed.
    assert admission.patient_key == pseudonymise(f"{AUTHORITY}|{IPP}", KEY)
    text = admission.model_dump_json()
    for identifying in (IPP, "DUPONT", "JEAN", "19470312", "1470344109123", "0240000000", "RUE DE LA PAIX"):
        assert identifying not in text


def test_every_message_of_one_stay_updates_the_same_admission() -> None:
    """A01, A02, A03, A08, A13 and a second A03: one id throughout, each message the stay's current state."""
    decoded = decode_hl7v2(FEED.read_bytes(), KEY)  # the fixture: several messages, one per line
    assert decoded.rejected == []
    states = [(e.event_id, e.care_unit, e.discharged_at) for e in decoded.events]
    assert {event_id for event_id, _, _ in states} == {admission_event_id(FACILITY, VISIT)}
    assert [(unit, discharged) for _, unit, discharged in states] == [
        (CareUnit.MEDICINE, None),  # A01
        (CareUnit.ICU, None),  # A02: transferred to intensive care
        (CareUnit.ICU, datetime(2024, 1, 17, 9, tzinfo=UTC)),  # A03
        (CareUnit.ICU, datetime(2024, 1, 17, 9, tzinfo=UTC)),  # A08 update, still discharged
        (CareUnit.ICU, None),  # A13: discharge cancelled
        (CareUnit.ICU, datetime(2024, 1, 18, 10, 30, tzinfo=UTC)),  # discharged again, later
    ]
    assert len({e.patient_key for e in decoded.events}) == 1  # re-admissions link through the pseudonym


def test_a11_cancels_and_a04_registers() -> None:
    assert decode_one(adt("A11").encode()).cancelled is True
    registered = decode_one(adt("A04").encode())
    assert registered.cancelled is False and registered.event_id == admission_event_id(FACILITY, VISIT)


def test_a03_without_discharge_time_uses_the_event_time() -> None:
    raw = message_bytes(msh("A03", "C1"), evn("A03", occurred="20240116120000+0100"), pid(), pv1(), pv2())
    assert decode_one(raw).discharged_at == datetime(2024, 1, 16, 11, tzinfo=UTC)


def test_a01_without_admit_time_uses_the_event_time() -> None:
    raw = message_bytes(msh("A01", "C1"), evn("A01", occurred="20240115090000+0100"), pid(), pv1(admitted=""))
    assert decode_one(raw).admitted_at == datetime(2024, 1, 15, 8, tzinfo=UTC)


def test_line_feeds_mllp_framing_and_latin1_are_read() -> None:
    lf = adt("A01", sep="\n").encode()
    assert decode_one(lf).facility_id == FACILITY
    framed = b"\x0b" + adt("A01").encode() + b"\x1c\r"
    assert decode_one(framed).facility_id == FACILITY
    latin = message_bytes(msh("A01", "C1", charset="8859/1"), evn("A01"), pid(name="HÉLÈNE^ÉMILIE"), pv1())
    assert decode_one(latin.decode().encode("latin-1")).facility_id == FACILITY


def test_a_batch_file_maps_each_message_and_refuses_only_the_bad_one() -> None:
    good = adt("A01", "C1")
    bad = message_bytes(msh("A01", "C2"), evn("A01"), pid(), pv1(visit="")).decode()
    batch = "\r".join(["FHS|^~\\&|SIMPLER", "BHS|^~\\&|SIMPLER", good, bad, "BTS|2", "FTS|1"]).encode()
    decoded = decode_hl7v2(batch, KEY)
    assert len(decoded.events) == 1
    [rejected] = decoded.rejected
    assert rejected.index == 1 and rejected.raw == bad.encode()
    assert "C2" in rejected.reason and "PV1-19 visit number is missing" in rejected.reason


def test_naive_times_are_refused_unless_the_site_zone_is_given() -> None:
    raw = message_bytes(msh("A01", "C9"), evn("A01", occurred="20240715082000"), pid(), pv1(admitted="20240715082000"))
    assert "PV1-44 admit date/time has no UTC offset" in reason_of(raw)
    admission = decode_one(raw, local_zone=ZoneInfo("Europe/Paris"))
    assert admission.admitted_at == datetime(2024, 7, 15, 6, 20, tzinfo=UTC)  # summer time: +02:00


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        ((msh("A01", "X1"), evn("A01"), pid(), pv1(visit="")), "ADT^A01 message X1: PV1-19 visit number is missing"),
        ((msh("A01", "X2"), evn("A01"), pid()), "ADT^A01 message X2: PV1 segment is missing"),
        ((msh("A01", "X3"), evn("A01"), pv1()), "PID segment is missing"),
        ((msh("A31", "X4", structure="ADT_A05"), evn("A31"), pid(), pv1()), "trigger event A31 is not mapped"),
        ((msh("R01", "X5", kind="ORU", structure="ORU_R01"), pid()), "not an ADT message"),
        ((msh("A01", "X6"), evn("A01"), pid(), pv1(service="")), "PV1-10 hospital service is missing"),
        ((msh("A01", "X7"), evn("A01"), pid(), pv1(service="XYZ")), "PV1-10 hospital service 'XYZ' is not a known"),
        ((msh("A01", "X8"), evn("A01"), pid(birth=""), pv1()), "PID-7 date of birth is missing"),
        ((msh("A01", "X9"), evn("A01"), segment("PID", {1: "1", 7: "19470312"}), pv1()),
         "PID-3 patient identifier is missing"),
        ((msh("A01", "Y1"), evn("A01"), pid(), pv1(admitted="2024-01-15 08:20")), "PV1-44 admit date/time is not"),
        ((msh("A01", "Y2"), evn("A01"), pid(), pv1(location="MED3^^^CHU NANTES!")), "is not a facility id"),
        ((msh("A01", "Y3"), evn("A01"), *pid().split("CHU-NANTES", 1), pv1()), "segment 4 is broken"),  # a wrapped line
        ((msh("A01", "Y4"), evn("A01"), pid(), "pv1|1|I"), "segment 4 is broken"),
        ((msh("A03", "Y5"), evn("A03"), pid(), pv1(admitted="20240117100000+0100", discharged="20240115000000+0100")),
         "discharged_at is before admitted_at"),
    ],
)
def test_bad_messages_are_refused_with_a_reason_a_person_understands(segments: tuple[str, ...], expected: str) -> None:
    raw = message_bytes(*segments)
    reason = reason_of(raw)
    assert expected in reason
    for identifying in (IPP, "DUPONT", "19470312"):  # reasons go to headers and logs: no patient values
        assert identifying not in reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "no MSH segment"),
        (b"EVN|A01|20240115\rPID|1||123", "segment 1 comes before any MSH"),
        (b'{"event_id": "not hl7"}', "comes before any MSH"),
        (b"MSH", "no MSH segment"),
        (b"\xff\xfeMSH|^~\\&|A", "not UTF-8"),
    ],
)
def test_what_is_not_hl7_at_all_is_refused(raw: bytes, expected: str) -> None:
    assert expected in reason_of(raw)


def test_tombstones_and_short_keys() -> None:
    [rejected] = decode_hl7v2(None, KEY).rejected
    assert "tombstone" in rejected.reason
    with pytest.raises(ConfigurationError):
        decode_hl7v2(adt("A01").encode(), b"short")


def test_known_facilities_and_site_service_codes() -> None:
    raw = adt("A01").encode()
    assert "unknown facility 'chu-nantes-hotel-dieu'" in reason_of(raw, facilities={"hp-confluent"})
    assert decode_one(raw, facilities={FACILITY}).facility_id == FACILITY
    site = message_bytes(msh("A01", "S1"), evn("A01"), pid(), pv1(service="4512"))
    assert decode_one(site, service_codes={"4512": CareUnit.PSYCHIATRY}).care_unit is CareUnit.PSYCHIATRY


def test_sending_facility_serves_when_the_location_has_none() -> None:
    raw = message_bytes(msh("A01", "F1"), evn("A01"), pid(), pv1(location="MED3^312^1"))
    assert decode_one(raw).facility_id == "CHU-NANTES"  # MSH-4.1


@pytest.mark.parametrize(
    ("birth", "band"),
    [("20230601", AgeBand.UNDER_2), ("20090116", AgeBand.FROM_2_TO_14), ("20090115", AgeBand.FROM_15_TO_74),
     ("1949", AgeBand.FROM_15_TO_74), ("1948", AgeBand.FROM_75), ("194812", AgeBand.FROM_75)],  # admitted 2024-01-15
)
def test_birth_dates_become_age_bands(birth: str, band: AgeBand) -> None:
    raw = message_bytes(msh("A01", "B1"), evn("A01"), pid(birth=birth), pv1())
    assert decode_one(raw).age_band is band


@pytest.mark.parametrize(
    ("code", "reason"),
    [("U07.1", ReasonCategory.COVID19), ("J21.0", ReasonCategory.BRONCHIOLITIS), ("J45.9", ReasonCategory.ASTHMA),
     ("T67.0", ReasonCategory.HEAT_RELATED), ("E87.1", ReasonCategory.HEAT_RELATED),
     ("A09", ReasonCategory.GASTROENTERITIS), ("I21.4", ReasonCategory.CARDIOVASCULAR),
     ("S72.0", ReasonCategory.TRAUMA), ("J18.9", ReasonCategory.RESPIRATORY), ("K35.8", ReasonCategory.OTHER),
     ("respiratory", ReasonCategory.RESPIRATORY)],
)
def test_admitting_diagnoses_become_syndrome_groups(code: str, reason: ReasonCategory) -> None:
    raw = message_bytes(msh("A01", "D1"), evn("A01"), pid(), pv1(), pv2(reason=""), dg1("Z00.0", kind="F"),
                        dg1(code, kind="A", set_id="2"))
    assert decode_one(raw).reason is reason


def test_the_key_changes_every_pseudonym() -> None:
    first = decode_one(adt("A01").encode()).patient_key
    other = decode_hl7v2(adt("A01").encode(), b"another-key-0123456789abcdef-0123").events[0].patient_key
    assert first != other


def test_raw_decoders_bind_the_key_per_raw_topic() -> None:
    from streams.formats import raw_decoder
    from synopse.domain.topics import FHIR_ENCOUNTER, HL7V2_ADT, RAW_TOPICS

    assert {spec.target.name for spec in RAW_TOPICS} == {"synopse.admissions.v1"}
    decode = raw_decoder(HL7V2_ADT, KEY, facilities={FACILITY})
    assert decode(adt("A01").encode()).events[0].patient_key == pseudonymise(f"{AUTHORITY}|{IPP}", KEY)
    fhir = raw_decoder(FHIR_ENCOUNTER, KEY)
    assert "neither Encounter nor Bundle" in fhir(b'{"resourceType": "Observation"}').rejected[0].reason
    assert HL7V2_ADT.dead_letter == "synopse.hl7v2.adt.v1.dlq"
