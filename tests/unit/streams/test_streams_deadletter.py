"""Dead-letter records: original bytes and key kept, provenance and reason in the headers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from streams.deadletter import MAX_REASON_CHARS, SourcePosition, build_dead_letter, truncate_reason
from synopse.domain.codec import Rejected
from synopse.domain.topics import (
    DLQ_HEADER_ERROR,
    DLQ_HEADER_INDEX,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_TIMESTAMP,
    DLQ_HEADER_TOPIC,
)

SOURCE = SourcePosition(topic="p.synopse.admissions.v1", partition=3, offset=41, key=b"chu-nantes-hotel-dieu")


def test_whole_message_keeps_bytes_key_and_provenance() -> None:
    raw = b'{"not": json'
    when = datetime(2024, 7, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    letter = build_dead_letter(
        Rejected(raw, "not UTF-8 JSON: boom"), source=SOURCE, dead_letter_topic="p.synopse.admissions.v1.dlq", now=when
    )
    assert letter.topic == "p.synopse.admissions.v1.dlq"
    assert letter.value == raw
    assert letter.key == SOURCE.key
    assert letter.header(DLQ_HEADER_ERROR) == "not UTF-8 JSON: boom"
    assert letter.header(DLQ_HEADER_TOPIC) == "p.synopse.admissions.v1"
    assert letter.header(DLQ_HEADER_PARTITION) == "3"
    assert letter.header(DLQ_HEADER_OFFSET) == "41"
    assert letter.header(DLQ_HEADER_INDEX) is None  # the whole message, not one event of an envelope
    assert letter.header(DLQ_HEADER_TIMESTAMP) == "2024-07-01T12:00:00.000+00:00"  # converted to UTC
    assert all(isinstance(value, bytes) for _, value in letter.headers)


def test_event_of_an_envelope_carries_its_index() -> None:
    letter = build_dead_letter(Rejected(b'{"event_id": 1}', "event_id: bad", index=7), source=SOURCE,
                               dead_letter_topic="x.dlq")
    assert letter.header(DLQ_HEADER_INDEX) == "7"
    stamp = datetime.fromisoformat(letter.header(DLQ_HEADER_TIMESTAMP) or "")
    assert stamp.utcoffset() == timedelta(0)


def test_tombstone_and_missing_key() -> None:
    source = SourcePosition("t", 0, 0, None)
    tombstone = Rejected(b"", "empty message value (tombstone)")
    letter = build_dead_letter(tombstone, source=source, dead_letter_topic="t.dlq")
    assert letter.key is None
    assert letter.value == b""


def test_long_reason_is_truncated_visibly() -> None:
    reason = "field: bad; " * 500
    cut = truncate_reason(reason)
    assert len(cut) == MAX_REASON_CHARS
    assert cut.endswith("…")
    assert truncate_reason("short") == "short"
    letter = build_dead_letter(Rejected(b"x", reason), source=SOURCE, dead_letter_topic="t.dlq")
    assert len(letter.header(DLQ_HEADER_ERROR) or "") == MAX_REASON_CHARS
