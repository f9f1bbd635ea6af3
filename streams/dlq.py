"""Dead-letter topics for operators: list what was refused and why, and replay it once the cause is fixed.

Reads a dead-letter topic from the beginning with a fresh consumer that joins no group (listing never
moves anyone's offsets), and replays a record by sending its original bytes and key back to the topic
named in its ``synopse.dlq.topic`` header. Every replayed record is written to the
``dead_letter_replays`` ledger (``synopse.db.dead_letters``), so a second replay skips it unless forced;
a crash between the send and the ledger write can only resend, which the idempotent store absorbs.

Nothing here logs payloads: a preview names the shape and field names of a record, never its values.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kafka import KafkaConsumer, TopicPartition

from synopse.config import Settings
from synopse.domain.codec import BATCH_FIELD
from synopse.domain.topics import (
    DAILY_COUNT_TOPICS,
    DLQ_HEADER_ERROR,
    DLQ_HEADER_INDEX,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_TIMESTAMP,
    DLQ_HEADER_TOPIC,
    INPUT_TOPICS,
    RAW_TOPICS,
    RawTopicSpec,
    TopicSpec,
)
from synopse.errors import ConfigurationError, ServiceUnavailableError

logger = logging.getLogger(__name__)

# Header added to a replayed message: where it was replayed from (dead-letter topic/partition/offset).
REPLAY_HEADER = "synopse.dlq.replay_of"
# A preview names at most this many fields: enough to recognise a contract, short enough for one line.
_PREVIEW_FIELDS = 8
# How long to wait for the broker's answer to each poll while reading a topic to its end.
_POLL_MS = 500
# Reading stops when nothing new arrives for this long, even if the end offset was not reached (a
# transactional marker or a compacted gap can leave the last offsets unreadable).
_IDLE_LIMIT_S = 10.0


@dataclass(frozen=True)
class DeadLetterRecord:
    """One record of a dead-letter topic, with its headers decoded."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime | None  # when the broker stored it
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        return self.headers.get(DLQ_HEADER_ERROR, "")

    @property
    def source_topic(self) -> str:
        return self.headers.get(DLQ_HEADER_TOPIC, "")

    @property
    def source_partition(self) -> int | None:
        return _int(self.headers.get(DLQ_HEADER_PARTITION))

    @property
    def source_offset(self) -> int | None:
        return _int(self.headers.get(DLQ_HEADER_OFFSET))

    @property
    def index(self) -> int | None:
        """Position of the event in its envelope; None when the whole message was refused."""
        return _int(self.headers.get(DLQ_HEADER_INDEX))

    @property
    def dead_lettered_at(self) -> str:
        return self.headers.get(DLQ_HEADER_TIMESTAMP, "")

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


InputTopic = TopicSpec | RawTopicSpec


def resolve_topics(names: Sequence[str]) -> list[InputTopic]:
    """Input topics named by their full name or their short name (``admissions``, ``hl7v2``); all if none.

    Raises:
        ConfigurationError: A name matches no input topic.
    """
    every: list[InputTopic] = [*INPUT_TOPICS, *DAILY_COUNT_TOPICS, *RAW_TOPICS]
    if not names:
        return every
    by_name = {spec.name: spec for spec in every} | {spec.name.split(".")[1]: spec for spec in every}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        known = ", ".join(spec.name.split(".")[1] for spec in every)
        raise ConfigurationError(f"unknown input topic {', '.join(unknown)} (known: {known})")
    return list(dict.fromkeys(by_name[name] for name in names))


def preview(value: bytes, limit: int = _PREVIEW_FIELDS) -> str:
    """A safe one-line description of a payload: its shape, size and field names, never a value."""
    size = f"{len(value)} bytes"
    if not value:
        return f"empty ({size})"
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return f"not JSON ({size})"
    if isinstance(document, dict):
        items = document.get(BATCH_FIELD)
        if len(document) == 1 and isinstance(items, list):
            return f"envelope of {len(items)} events ({size})"
        names = [str(name) for name in document][:limit]
        more = ", …" if len(document) > limit else ""
        return f"JSON object {{{', '.join(names)}{more}}} ({size})"
    return f"JSON {type(document).__name__} ({size})"


def read_dead_letters(settings: Settings, spec: InputTopic, *, timeout_s: float = 30.0) -> list[DeadLetterRecord]:
    """Every record of the dead-letter topic of ``spec``, from the beginning to the current end.

    Raises:
        ServiceUnavailableError: The broker cannot be reached.
    """
    topic = settings.kafka.topic(spec.dead_letter)
    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers.split(","), client_id=settings.kafka.client_id + "-dlq",
            group_id=None, enable_auto_commit=False, request_timeout_ms=int(timeout_s * 1000) + 1000,
        )
    except Exception as exc:  # kafka-python raises NoBrokersAvailable and friends
        raise ServiceUnavailableError(f"cannot connect to Kafka at {settings.bootstrap_servers}: {exc}") from exc
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            return []
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(assigned)
        records: list[DeadLetterRecord] = []
        idle_since: float | None = None
        while any(consumer.position(tp) < ends[tp] for tp in assigned):
            polled = consumer.poll(timeout_ms=_POLL_MS)
            if not polled:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > min(timeout_s, _IDLE_LIMIT_S):
                    break
                continue
            idle_since = None
            for batch in polled.values():
                records.extend(_record(message) for message in batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def _record(message: object) -> DeadLetterRecord:
    headers = {key: (value or b"").decode(errors="replace") for key, value in getattr(message, "headers", [])}
    stamp = getattr(message, "timestamp", None)
    return DeadLetterRecord(
        topic=getattr(message, "topic"),  # noqa: B009 (kafka-python's ConsumerRecord is untyped)
        partition=getattr(message, "partition"),  # noqa: B009
        offset=getattr(message, "offset"),  # noqa: B009
        timestamp=datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int) and stamp >= 0 else None,
        key=getattr(message, "key", None),
        value=getattr(message, "value", None) or b"",
        headers=headers,
    )


@dataclass(frozen=True)
class RecordFilter:
    """Which dead letters an operator means: by reason (substring), partition and offset range."""

    reason: str | None = None
    partition: int | None = None
    from_offset: int | None = None
    to_offset: int | None = None  # inclusive

    def __call__(self, record: DeadLetterRecord) -> bool:
        if self.reason and self.reason.lower() not in record.reason.lower():
            return False
        if self.partition is not None and record.partition != self.partition:
            return False
        if self.from_offset is not None and record.offset < self.from_offset:
            return False
        return self.to_offset is None or record.offset <= self.to_offset


@dataclass
class ReplaySummary:
    """What a replay did."""

    selected: int = 0
    replayed: int = 0
    already_replayed: int = 0
    without_source: int = 0


Sender = Callable[[str, bytes, bytes | None, list[tuple[str, bytes]]], None]


def plan_replay(
    records: Iterable[DeadLetterRecord], already: set[tuple[str, int, int]], *, force: bool = False
) -> tuple[list[DeadLetterRecord], ReplaySummary]:
    """The records to send back (pure): not replayed before (unless forced), with a source topic."""
    summary = ReplaySummary()
    chosen = []
    for record in records:
        summary.selected += 1
        if not record.source_topic:
            summary.without_source += 1
        elif record.position in already and not force:
            summary.already_replayed += 1
        else:
            chosen.append(record)
    return chosen, summary


def replay_headers(record: DeadLetterRecord) -> list[tuple[str, bytes]]:
    """Headers of the replayed message: where it comes from, for whoever traces it."""
    return [(REPLAY_HEADER, f"{record.topic}/{record.partition}/{record.offset}".encode())]
