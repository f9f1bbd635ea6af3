"""HL7 v2.5 ADT sample messages for the format tests, written field by field so positions are right."""

from __future__ import annotations

FACILITY = "chu-nantes-hotel-dieu"
VISIT = "V240001"
IPP = "123456"
AUTHORITY = "1.2.250.1.213.1.1.9"  # OID-shaped assigning authority of the example IPP domain


def segment(name: str, fields: dict[int, str]) -> str:
    """One segment from {field number: value}; missing fields are empty."""
    last = max(fields) if fields else 0
    return "|".join([name, *(fields.get(n, "") for n in range(1, last + 1))])


def msh(
    trigger: str, control: str, *, structure: str = "ADT_A01", kind: str = "ADT", charset: str = "UNICODE UTF-8"
) -> str:
    # MSH-1 is the field separator itself, so the values below start at MSH-2.
    fields = {2: "^~\\&", 3: "SIMPLER", 4: f"CHU-NANTES^{AUTHORITY}^ISO", 5: "SYNOPSE", 6: "ARS-PDL",
              7: "20240115083000+0100", 9: f"{kind}^{trigger}^{structure}", 10: control, 11: "P", 12: "2.5",
              15: "AL", 16: "NE", 17: "FRA", 18: charset}
    return "MSH|" + "|".join(fields.get(n, "") for n in range(2, max(fields) + 1))


def evn(trigger: str, occurred: str = "20240115082000+0100") -> str:
    return segment("EVN", {1: trigger, 2: "20240115083000+0100", 6: occurred})


def pid(*, ipp: str = IPP, birth: str = "19470312", commune: str = "44109", name: str = "DUPONT^JEAN^^^^^L") -> str:
    identifiers = f"{ipp}^^^CHU-NANTES&{AUTHORITY}&ISO^PI~1470344109123^^^INS-NIR&1.2.250.1.213.1.4.8&ISO^INS"
    address = f"12 RUE DE LA PAIX^^NANTES^^44000^FRA^H^^{commune}"
    return segment("PID", {1: "1", 3: identifiers, 5: name, 7: birth, 8: "M", 11: address,
                           13: "^PRN^PH^^^^^^^^^0240000000"})


def pv1(*, service: str = "MED", visit: str = VISIT, admitted: str = "20240115082000+0100", discharged: str = "",
        admission_type: str = "E", location: str = f"MED3^312^1^{FACILITY}", admit_source: str = "7") -> str:
    return segment("PV1", {1: "1", 2: "I", 3: location, 4: admission_type, 7: "12345^MARTIN^PAUL", 10: service,
                           14: admit_source, 19: f"{visit}^^^CHU-NANTES&{AUTHORITY}&ISO^VN", 44: admitted,
                           45: discharged})


def pv2(reason: str = "J11.1^Grippe^I10") -> str:
    return segment("PV2", {3: reason})


def dg1(code: str = "J11.1", kind: str = "A", set_id: str = "1") -> str:
    return segment("DG1", {1: set_id, 3: f"{code}^Diagnostic^I10", 5: "20240115082000+0100", 6: kind})


def adt(trigger: str, control: str = "MSG0001", *, sep: str = "\r", **pv1_fields: str) -> str:
    """A complete ADT message of the given trigger about the sample stay."""
    discharged = pv1_fields.pop("discharged", "20240117100000+0100" if trigger in ("A03",) else "")
    return sep.join([msh(trigger, control), evn(trigger), pid(), pv1(discharged=discharged, **pv1_fields),
                     pv2(), dg1()])


def message_bytes(*segments: str, sep: str = "\r") -> bytes:
    return sep.join(segments).encode()
