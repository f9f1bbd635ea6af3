"""A feed with 5% malformed messages: every valid one mapped, every invalid one refused with a clear reason."""

from __future__ import annotations

import json
import random

from streams.formats.hl7v2 import decode_hl7v2
from streams.formats.sensors import decode_sensor_payload
from synopse.domain.territory import FACILITIES
from tests.unit.streams_formats.hl7_samples import evn, message_bytes, msh, pid, pv1, pv2

KEY = b"unit-test-key-0123456789abcdef-0123"
KNOWN = {facility.facility_id for facility in FACILITIES}
MESSAGES = 400
MALFORMED_SHARE = 0.05


def _hl7_valid(n: int) -> bytes:
    facility = sorted(KNOWN)[n % len(KNOWN)]
    trigger = ("A01", "A02", "A03", "A08")[n % 4]
    return message_bytes(msh(trigger, f"M{n}"), evn(trigger), pid(ipp=f"{100000 + n}"),
                         pv1(visit=f"V{n}", location=f"U^^^{facility}", service=("MED", "REA", "PED")[n % 3],
                             discharged="20240117100000+0100" if trigger == "A03" else ""), pv2())


HL7_MALFORMED = [
    (message_bytes(msh("A01", "B1"), evn("A01"), pid(), pv1(location="U^^^clinique-inconnue")), "unknown facility"),
    (message_bytes(msh("A01", "B2"), evn("A01"), pid(), pv1(admitted="20240115082000")), "has no UTC offset"),
    (message_bytes(msh("A01", "B3"), evn("A01"), *pid().split("RUE", 1), pv1()), "segment 4 is broken"),
    (message_bytes(msh("A01", "B4"), evn("A01"), pid(birth="19XX0312"), pv1()), "PID-7 date of birth is not a date"),
    (message_bytes(msh("A01", "B5"), evn("A01"), pid(), pv1(visit="")), "PV1-19 visit number is missing"),
    (message_bytes(msh("A05", "B6", structure="ADT_A05"), evn("A05"), pid(), pv1()), "trigger event A05 is not mapped"),
    (b'{"not": "hl7"}', "comes before any MSH"),
]


def test_hl7_feed_with_five_percent_malformed() -> None:
    rng = random.Random(44)
    feed: list[tuple[bytes, str | None]] = [(_hl7_valid(n), None) for n in range(MESSAGES)]
    bad = [HL7_MALFORMED[i % len(HL7_MALFORMED)] for i in range(int(MESSAGES * MALFORMED_SHARE))]
    for message in bad:
        feed.insert(rng.randrange(len(feed)), message)
    stored, refused = 0, []
    for raw, expected in feed:
        decoded = decode_hl7v2(raw, KEY, facilities=KNOWN)
        if expected is None:
            assert decoded.rejected == [] and len(decoded.events) == 1, [r.reason for r in decoded.rejected]
            stored += 1
        else:
            assert decoded.events == []
            [rejected] = decoded.rejected
            assert expected in rejected.reason and rejected.raw == raw
            refused.append(rejected.reason)
    assert stored == MESSAGES and len(refused) == len(bad)


def test_sensor_feed_with_five_percent_malformed() -> None:
    rng = random.Random(7)
    good = [json.dumps({"station": "FR23188", "time": f"2024-01-15T{h % 24:02d}:{h // 24:02d}:00Z",
                        "pm10": 20 + h % 30}).encode() for h in range(MESSAGES)]
    bad = [b'{"station": "FR23188", "time": "2024-01-15T08:00:00Z", "pm10": ', b'{"station": "FR23188", "pm10": "x"}',
           b'{"station": "FR23188", "time": "2024-01-15T08:00:00", "pm10": 3}',
           b'{"station": "FR23188", "time": "2024-01-15T08:00:00Z", "pm10": -4}']
    feed = [(raw, True) for raw in good]
    for i in range(int(MESSAGES * MALFORMED_SHARE)):
        feed.insert(rng.randrange(len(feed)), (bad[i % len(bad)], False))
    events = refused = 0
    for raw, valid in feed:
        decoded = decode_sensor_payload(raw)
        assert (decoded.rejected == []) is valid
        assert all(r.reason for r in decoded.rejected)
        events += len(decoded.events)
        refused += len(decoded.rejected)
    assert events == MESSAGES and refused == int(MESSAGES * MALFORMED_SHARE)
