"""Dead-letter records: what failed its contract, as bytes that can be inspected and replayed.

A record keeps the original bytes as its value and the original key, so sending it back to the input
topic replays it unchanged; the headers say why it was refused and where it came from. Building a
record is pure; sending it is the agent's job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from synopse.domain.codec import Rejected
from synopse.domain.topics import (
    DLQ_HEADER_ERROR,
    DLQ_HEADER_INDEX,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_TIMESTAMP,
    DLQ_HEADER_TOPIC,
)

logger = logging.getLogger(__name__)

# A reason names each bad field (see codec.describe_validation_error); 1000 characters hold dozens of
# them while keeping the headers a small fraction of a record.
MAX_REASON_CHARS = 1000


@dataclass(frozen=True)
class SourcePosition:
    """Where a message was read: its topic (full name), partition, offset and key."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass(frozen=True)
class DeadLetter:
    """One record for a dead-letter topic."""

    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        """The decoded value of a header, or None when absent."""
        for key, value in self.headers:
            if key == name:
                return value.decode()
        return None


def truncate_reason(reason: str, limit: int = MAX_REASON_CHARS) -> str:
    """The reason, cut to ``limit`` characters with a visible ellipsis when it is longer."""
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def build_dead_letter(
    rejected: Rejected, *, source: SourcePosition, dead_letter_topic: str, now: datetime | None = None
) -> DeadLetter:
    """The dead-letter record of a rejected message or of one rejected event of a batch envelope.

    Args:
        rejected: What the codec (or the database) refused: bytes, reason, index in the envelope.
        source: Where the message was read.
        dead_letter_topic: Full name of the dead-letter topic of the source topic.
        now: When it was refused (defaults to the current time, UTC).

    The index header is present only when one event of an envelope was refused; its value is then the
    event's JSON, re-serialised on its own, so that it can be replayed as a single event.
    """
    when = (now or datetime.now(UTC)).astimezone(UTC)
    headers: list[tuple[str, bytes]] = [
        (DLQ_HEADER_ERROR, truncate_reason(rejected.reason).encode()),
        (DLQ_HEADER_TOPIC, source.topic.encode()),
        (DLQ_HEADER_PARTITION, str(source.partition).encode()),
        (DLQ_HEADER_OFFSET, str(source.offset).encode()),
    ]
    if rejected.index is not None:
        headers.append((DLQ_HEADER_INDEX, str(rejected.index).encode()))
    headers.append((DLQ_HEADER_TIMESTAMP, when.isoformat(timespec="milliseconds").encode()))
    return DeadLetter(topic=dead_letter_topic, key=source.key, value=rejected.raw, headers=tuple(headers))


def log_dead_letters(topic: str, letters: Sequence[DeadLetter]) -> None:
    """One warning per batch (a flood of bad messages must not flood the log), details at DEBUG."""
    first = letters[0]
    logger.warning(
        "dead-lettered %d messages or events",
        len(letters),
        extra={
            "topic": first.header(DLQ_HEADER_TOPIC) or topic,
            "partition": first.header(DLQ_HEADER_PARTITION),
            "offset": first.header(DLQ_HEADER_OFFSET),
            "dead_letter_topic": first.topic,
            "reason": first.header(DLQ_HEADER_ERROR),
        },
    )
    for letter in letters[1:]:
        logger.debug(
            "dead-lettered",
            extra={
                "topic": letter.header(DLQ_HEADER_TOPIC),
                "partition": letter.header(DLQ_HEADER_PARTITION),
                "offset": letter.header(DLQ_HEADER_OFFSET),
                "index": letter.header(DLQ_HEADER_INDEX),
                "reason": letter.header(DLQ_HEADER_ERROR),
            },
        )
