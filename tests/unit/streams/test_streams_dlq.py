"""Dead-letter listing and replay planning: safe previews, filters, the ledger's effect."""

from __future__ import annotations

import pytest

from streams.dlq import DeadLetterRecord, RecordFilter, plan_replay, preview, replay_headers, resolve_topics
from synopse.domain.topics import (
    ADMISSIONS,
    DAILY_COUNT_TOPICS,
    DLQ_HEADER_ERROR,
    DLQ_HEADER_TOPIC,
    HL7V2_ADT,
    INPUT_TOPICS,
    RAW_TOPICS,
)
from synopse.errors import ConfigurationError


def record(offset: int, reason: str = "bad", source: str = "p.synopse.admissions.v1") -> DeadLetterRecord:
    return DeadLetterRecord("p.synopse.admissions.v1.dlq", 0, offset, None, b"k", b"{}",
                            {DLQ_HEADER_ERROR: reason, DLQ_HEADER_TOPIC: source})


def test_previews_never_show_values() -> None:
    shown = preview(b'{"patient_key": "secret", "facility_id": "x"}')
    assert shown == "JSON object {patient_key, facility_id} (45 bytes)"
    assert preview(b'{"events": [{"a": "secret"}, {}]}') == "envelope of 2 events (33 bytes)"
    assert preview(b"MSH|^~\\&|DUPONT") == "not JSON (15 bytes)"
    assert preview(b"") == "empty (0 bytes)"
    assert preview(b"[1]") == "JSON list (3 bytes)"


def test_filters_by_reason_partition_and_offsets() -> None:
    records = [record(i, reason) for i, reason in enumerate(["Unknown facility 'a'", "bad json", "unknown facility"])]
    assert [r.offset for r in records if RecordFilter(reason="unknown FACILITY")(r)] == [0, 2]
    assert [r.offset for r in records if RecordFilter(from_offset=1, to_offset=1)(r)] == [1]
    assert [r.offset for r in records if RecordFilter(partition=1)(r)] == []


def test_a_replay_skips_what_the_ledger_holds_unless_forced() -> None:
    records = [record(1), record(2), record(3, source="")]
    chosen, summary = plan_replay(records, {("p.synopse.admissions.v1.dlq", 0, 1)})
    assert [r.offset for r in chosen] == [2]
    assert (summary.selected, summary.already_replayed, summary.without_source) == (3, 1, 1)
    chosen, _ = plan_replay(records, {("p.synopse.admissions.v1.dlq", 0, 1)}, force=True)
    assert [r.offset for r in chosen] == [1, 2]
    assert replay_headers(records[0]) == [("synopse.dlq.replay_of", b"p.synopse.admissions.v1.dlq/0/1")]


def test_topics_by_full_or_short_name() -> None:
    assert resolve_topics([]) == [*INPUT_TOPICS, *DAILY_COUNT_TOPICS, *RAW_TOPICS]
    assert resolve_topics(["admissions", "synopse.admissions.v1", "hl7v2"]) == [ADMISSIONS, HL7V2_ADT]
    with pytest.raises(ConfigurationError, match="unknown input topic nope"):
        resolve_topics(["nope"])
