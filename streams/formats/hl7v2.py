"""HL7 v2 ADT messages to Admission events: the mapping of the raw topic ``synopse.hl7v2.adt.v1``.

Pure: bytes in, domain events and reasons out. Parsing is python-hl7's (``hl7``): it reads any version
and any segment order, Z-segments included, and this module checks what it needs itself. Every message
about one stay (facility + visit number PV1-19) carries the stay's current state and maps to ONE admission
id, so an A08 update, an A02 transfer or an A03 discharge replaces the stored row instead of adding one:

- A01 admit, A04 register: the stay as admitted;
- A02 transfer, A12 cancel transfer: the stay in the care unit now given in PV1-10 (the unit it moved to,
  or back to);
- A03 discharge: ``discharged_at`` from PV1-45 (else EVN-6, else EVN-2); A13 cancel discharge clears it;
- A08 update: the stay as now described;
- A11 cancel admit: the stay flagged ``cancelled``.

The patient identifier (PID-3) is replaced by a keyed hash here; names, birth dates and addresses are
read only to derive an age band and a commune, then dropped. Reasons never quote a patient's values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import hl7  # type: ignore[import-untyped]
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
from synopse.domain.codec import Decoded, Rejected, describe_validation_error
from synopse.domain.codes import CareUnit
from synopse.domain.events import Admission
from synopse.domain.pseudonymise import MIN_KEY_BYTES, pseudonymise, qualified_identifier
from synopse.errors import ConfigurationError, ContractError

TRIGGERS: dict[str, str] = {
    "A01": "admit",
    "A02": "transfer",
    "A03": "discharge",
    "A04": "register",
    "A08": "update",
    "A11": "cancel admit",
    "A12": "cancel transfer",
    "A13": "cancel discharge",
}

# MLLP framing (start block, end block + carriage return), kept by some bridges that copy MLLP to Kafka.
_MLLP_START, _MLLP_END = "\x0b", "\x1c"
# Batch and file header/trailer segments wrap several messages; they carry no stay.
_ENVELOPE_SEGMENTS = frozenset({"FHS", "FTS", "BHS", "BTS"})
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
# HL7 DTM: YYYYMMDDHHMM[SS[.S{1,4}]][+/-ZZZZ]; an event time needs the minute at least.
_DTM = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$")
# PID-3 identifier types to prefer, in order (HL7 table 0203): the patient internal id (IPP in France),
# then the medical record number; else the first identifier given.
_PATIENT_ID_TYPES = ("PI", "MR")
# Enough repetitions for any real PID-3 or PID-11, and a bound on a hostile one.
_MAX_REPETITIONS = 20
# HL7 table 0007 admission type "E" (emergency) or table 0023 admit source "7" (emergency room).
_EMERGENCY_ADMISSION_TYPES = frozenset({"E"})
_EMERGENCY_ADMIT_SOURCES = frozenset({"7"})


@dataclass(frozen=True)
class Hl7Options:
    """What a site may tune: known facilities, the zone of times sent without offset, its service codes."""

    facilities: Collection[str] | None = None
    local_zone: tzinfo | None = None
    service_codes: Mapping[str, CareUnit] | None = None


def decode_hl7v2(
    raw: bytes | None,
    key: bytes,
    *,
    facilities: Collection[str] | None = None,
    local_zone: tzinfo | None = None,
    service_codes: Mapping[str, CareUnit] | None = None,
) -> Decoded:
    """Map one Kafka message of the HL7 v2 ADT topic to Admission events; never raises on bad input.

    Args:
        raw: The message value: one ER7 message, or several (a batch file, MLLP-framed or not).
        key: The pseudonymisation key (``synopse.config.pseudonymisation_key``).
        facilities: When given, a facility not in it is refused (the reference data's ids).
        local_zone: The zone of times sent without a UTC offset; None refuses such times (a guess).
        service_codes: Site-specific hospital-service codes (PV1-10) to care units, beside the defaults.

    Returns:
        The events, and for each message that cannot be mapped its bytes and a reason (``index`` is its
        position when the Kafka message held several).

    Raises:
        ConfigurationError: The key is too short (a setting problem, not a bad message).
    """
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes")
    if raw is None:
        return Decoded(rejected=[Rejected(b"", "empty message value (tombstone)")])
    options = Hl7Options(facilities, local_zone, service_codes)
    try:
        messages = split_messages(_text(raw))
    except ContractError as exc:
        return Decoded(rejected=[Rejected(raw, str(exc))])
    decoded = Decoded()
    single = len(messages) == 1
    for index, message in enumerate(messages):
        try:
            decoded.events.append(map_adt(message, key, options))
        except ContractError as exc:
            decoded.rejected.append(
                Rejected(raw, str(exc)) if single else Rejected(message.encode(), str(exc), index)
            )
    return decoded


def _text(raw: bytes) -> str:
    """The message text: UTF-8, or ISO 8859-1 when MSH-18 says so (common in French feeds)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    latin = raw.decode("latin-1")
    first = re.split(r"[\r\n]", latin.lstrip(_MLLP_START + "\r\n"), maxsplit=1)[0]
    fields = first.split(first[3]) if first.startswith("MSH") and len(first) > 3 else []
    # fields[0] is "MSH" and MSH-1 is the separator itself, so MSH-n is fields[n - 1].
    if len(fields) > 17 and "8859" in fields[17]:
        return latin
    raise ContractError("not UTF-8, and MSH-18 declares no ISO 8859 character set")


def split_messages(text: str) -> list[str]:
    """The ER7 messages of a text: MLLP framing and batch envelopes removed, segments joined by CR."""
    text = text.replace(_MLLP_START, "").replace(_MLLP_END, "")
    segments = [line.strip("\n") for line in re.split(r"\r\n|\r|\n", text)]
    messages: list[list[str]] = []
    for position, segment in enumerate(segments, start=1):
        if not segment.strip():
            continue
        name = segment[:3]
        if name in _ENVELOPE_SEGMENTS:
            continue
        if name == "MSH":
            messages.append([segment])
        elif not messages:
            raise ContractError(f"segment {position} comes before any MSH: not an HL7 v2 message")
        else:
            messages[-1].append(segment)
    if not messages:
        raise ContractError("no MSH segment: not an HL7 v2 message")
    return ["\r".join(segments) for segments in messages]


def map_adt(text: str, key: bytes, options: Hl7Options | None = None) -> Admission:
    """One ER7 ADT message to its Admission event.

    Raises:
        ContractError: With a reason naming the message (type and control id) and the field at fault.
    """
    options = options or Hl7Options()
    message = _parse(text)
    label = f"{_get(message, 'MSH.F9.R1.C1') or '?'}^{_get(message, 'MSH.F9.R1.C2') or '?'}"
    control = _get(message, "MSH.F10")
    try:
        return _admission(message, key, options)
    except ContractError as exc:
        raise ContractError(f"{label} message {control or '(no MSH-10)'}: {exc}") from None


def _parse(text: str) -> hl7.Message:
    if len(text) < 8 or not text.startswith("MSH"):
        raise ContractError("no MSH segment: not an HL7 v2 message")
    for position, segment in enumerate(text.split("\r"), start=1):
        if not _SEGMENT_ID.match(segment[:3]) or (len(segment) > 3 and segment[3] != text[3]):
            raise ContractError(f"segment {position} is broken: it does not start with a segment name and a separator")
    try:
        return hl7.parse(text)
    except Exception as exc:  # python-hl7 raises ParseException, IndexError... on a broken MSH
        raise ContractError(f"MSH is broken, the message cannot be parsed ({type(exc).__name__})") from None


def _get(message: hl7.Message, path: str) -> str:
    """A field, component or subcomponent as text (unescaped); '' when absent."""
    try:
        value: Any = message[path]
    except (IndexError, KeyError):
        return ""
    return str(value).strip()


def _has(message: hl7.Message, segment: str) -> bool:
    try:
        message.segment(segment)
    except KeyError:
        return False
    return True


def _admission(message: hl7.Message, key: bytes, options: Hl7Options) -> Admission:
    kind = _get(message, "MSH.F9.R1.C1")
    if kind != "ADT":
        raise ContractError("not an ADT message (only ADT messages are mapped)")
    trigger = _get(message, "MSH.F9.R1.C2") or _get(message, "EVN.F1")
    if trigger not in TRIGGERS:
        raise ContractError(f"trigger event {trigger or '(none)'} is not mapped (mapped: {', '.join(TRIGGERS)})")
    for segment in ("PID", "PV1"):
        if not _has(message, segment):
            raise ContractError(f"{segment} segment is missing")
    zone = options.local_zone
    facility = check_facility(
        _get(message, "PV1.F3.R1.C4.S1") or _get(message, "MSH.F4.R1.C1"),
        "PV1-3.4 facility (or MSH-4 sending facility)",
        options.facilities,
    )
    visit = _get(message, "PV1.F19.R1.C1")
    if not visit:
        raise ContractError("PV1-19 visit number is missing: corrections could not find this stay")
    admitted_at = _time(message, "PV1.F44", "PV1-44 admit date/time", zone, required=False)
    if admitted_at is None and trigger in ("A01", "A04"):
        admitted_at = _time(message, "EVN.F6", "EVN-6 event occurred", zone, required=False) or _time(
            message, "EVN.F2", "EVN-2 recorded date/time", zone, required=False
        )
    if admitted_at is None:
        raise ContractError("PV1-44 admit date/time is missing")
    discharged_at = _time(message, "PV1.F45", "PV1-45 discharge date/time", zone, required=False)
    if trigger == "A03" and discharged_at is None:
        discharged_at = _time(message, "EVN.F6", "EVN-6 event occurred", zone, required=False) or _time(
            message, "EVN.F2", "EVN-2 recorded date/time", zone, required=True
        )
    if trigger == "A13":
        discharged_at = None
    fields = {
        "event_id": admission_event_id(facility, visit),
        "facility_id": facility,
        "care_unit": care_unit(_get(message, "PV1.F10"), "PV1-10 hospital service", options.service_codes),
        "admitted_at": admitted_at,
        "age_band": age_band(partial_birth_date(_get(message, "PID.F7.R1.C1"), "PID-7 date of birth"), admitted_at),
        "reason": reason_category(_reason_codes(message)),
        "patient_key": pseudonymise(_patient_identifier(message), key),
        "commune_code": _commune(message),
        "via_emergency": _get(message, "PV1.F4") in _EMERGENCY_ADMISSION_TYPES
        or _get(message, "PV1.F14") in _EMERGENCY_ADMIT_SOURCES,
        "discharged_at": discharged_at,
        "cancelled": trigger == "A11",
    }
    try:
        return Admission.model_validate(fields)
    except ValidationError as exc:
        raise ContractError(describe_validation_error(exc)) from None


def _time(message: hl7.Message, path: str, where: str, zone: tzinfo | None, *, required: bool) -> datetime | None:
    """An HL7 DTM with its UTC offset (or in ``zone`` when it has none), None when absent and not required."""
    text = _get(message, path + ".R1.C1")
    if not text:
        if required:
            raise ContractError(f"{where} is missing")
        return None
    match = _DTM.match(text)
    if match is None:
        raise ContractError(f"{where} is not an HL7 date/time to the minute (YYYYMMDDHHMM[SS][+/-ZZZZ])")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset:
        sign = 1 if offset[0] == "+" else -1
        zone_of_value: tzinfo = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    elif zone is not None:
        zone_of_value = zone
    else:
        raise ContractError(f"{where} has no UTC offset (+hhmm): its time zone would be a guess")
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
            int((fraction or "0").ljust(6, "0")[:6]), tzinfo=zone_of_value,
        )
    except ValueError:
        raise ContractError(f"{where} is not a valid date/time") from None


def _repetitions(message: hl7.Message, path: str) -> list[int]:
    """The repetition numbers present in a field (1 when the field is empty)."""
    found = []
    for repetition in range(1, _MAX_REPETITIONS + 1):
        try:
            message[f"{path}.R{repetition}.C1"]
        except IndexError:
            break
        found.append(repetition)
    return found or [1]


def _patient_identifier(message: hl7.Message) -> str:
    """PID-3 (the internal patient id first), qualified by its assigning authority (CX-4: OID, else namespace)."""
    candidates = []
    for repetition in _repetitions(message, "PID.F3"):
        base = f"PID.F3.R{repetition}"
        value = _get(message, base + ".C1")
        if value:
            authority = _get(message, base + ".C4.S2") or _get(message, base + ".C4.S1")
            candidates.append((_get(message, base + ".C5").upper(), qualified_identifier(authority, value)))
    if not candidates:
        raise ContractError("PID-3 patient identifier is missing")
    for wanted in _PATIENT_ID_TYPES:
        for type_code, identifier in candidates:
            if type_code == wanted:
                return identifier
    return candidates[0][1]


def _commune(message: hl7.Message) -> str | None:
    """The INSEE code (XAD-9) of the home address (XAD-7 'H'), else of the first address that has one."""
    codes: list[tuple[bool, str]] = []
    for repetition in _repetitions(message, "PID.F11"):
        code = commune_code(_get(message, f"PID.F11.R{repetition}.C9"))
        if code is not None:
            codes.append((_get(message, f"PID.F11.R{repetition}.C7").upper() == "H", code))
    for is_home, code in codes:
        if is_home:
            return code
    return codes[0][1] if codes else None


def _reason_codes(message: hl7.Message) -> list[str]:
    """Diagnosis codes, admitting diagnosis first: DG1-3 (DG1-6 'A' first), then PV2-3 admit reason."""
    diagnoses: list[tuple[bool, str]] = []
    count = len(message.segments("DG1")) if _has(message, "DG1") else 0
    for number in range(1, count + 1):
        segment = f"DG1{number}" if number > 1 else "DG1"
        code = _get(message, f"{segment}.F3.R1.C1")
        if code:
            diagnoses.append((_get(message, f"{segment}.F6") != "A", code))
    codes = [code for _, code in sorted(diagnoses, key=lambda item: item[0])]
    admit_reason = _get(message, "PV2.F3.R1.C1") if _has(message, "PV2") else ""
    return [*codes, admit_reason] if admit_reason else codes
