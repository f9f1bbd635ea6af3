"""Replays of open-data CSV files into the contract topics: read, map row by row, send as envelopes, summarise.

The mapping of a row is pure (``streams.formats.opendata``); this module does the I/O around it: the
file (comma or semicolon separated, UTF-8 with or without BOM), row filters (``sexe=0``, a department),
sending through the shared :class:`synopse.producer.EventProducer` (which the stream worker then stores
like any producer's events), a progress callback and a summary. A row that does not map is counted with
its line number and reason, and the replay goes on; events already sent stay sent (sending the file
again is harmless: every event id derives from its natural key).
"""

from __future__ import annotations

import contextlib
import csv
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from synopse.domain.events import Event
from synopse.errors import ContractError, DataUnavailableError, ServiceUnavailableError

logger = logging.getLogger(__name__)

RowMapper = Callable[[Mapping[str, str | None]], Sequence[Event]]
# Events handed to the producer at once: 5000 make ten envelopes of the producer's 500, a few MB of
# memory, and a progress bar that moves smoothly on files of a few thousand rows.
SEND_CHUNK_EVENTS = 5000
# Reasons kept for the summary; the count of refused rows is always exact.
MAX_REASONS_KEPT = 20
# A semicolon-separated header (SpF's original files) has more ';' than ','.
_DELIMITERS = (",", ";")


class EventSink(Protocol):
    """Where replayed events go: :class:`synopse.producer.EventProducer`."""

    def send(self, events: Iterable[Event]) -> int: ...

    def flush(self, timeout_s: float = ...) -> None: ...


@dataclass
class ReplaySummary:
    """What a replay did."""

    rows: int = 0
    events: int = 0
    messages: int = 0
    filtered: int = 0
    refused: int = 0
    reasons: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason), the first ones
    first: datetime | None = None
    last: datetime | None = None

    def describe(self) -> str:
        """A few lines for a person."""
        span = f", {self.first.date()} to {self.last.date()}" if self.first and self.last else ""
        lines = [
            f"{self.rows} rows read, {self.events} events sent in {self.messages} messages{span}",
            f"{self.filtered} rows left out by the filters, {self.refused} rows refused",
        ]
        lines += [f"  line {line}: {reason}" for line, reason in self.reasons]
        if self.refused > len(self.reasons):
            lines.append(f"  ... and {self.refused - len(self.reasons)} more")
        return "\n".join(lines)


def _header(line: str, path: Path) -> tuple[str, list[str]]:
    if not line.strip():
        raise DataUnavailableError(f"{path} is empty (a header row is expected)")
    delimiter = max(_DELIMITERS, key=line.count)
    return delimiter, [name.strip() for name in next(csv.reader([line], delimiter=delimiter))]


def read_header(path: Path) -> list[str]:
    """The column names of a CSV file.

    Raises:
        DataUnavailableError: The file cannot be read or has no header.
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            line = handle.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataUnavailableError(f"cannot read {path}: {exc}") from exc
    return _header(line, path)[1]


def iter_rows(path: Path) -> Iterator[tuple[int, dict[str, str | None]]]:
    """The rows of a CSV file as ``{column: text}``, with their line numbers (blank lines skipped)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            delimiter, header = _header(handle.readline(), path)
            reader = csv.reader(handle, delimiter=delimiter)
            for values in reader:
                if any(value.strip() for value in values):
                    yield reader.line_num + 1, dict(zip(header, values, strict=False))  # + 1: the header line
    except (OSError, UnicodeDecodeError) as exc:
        raise DataUnavailableError(f"cannot read {path}: {exc}") from exc


def count_rows(path: Path) -> int:
    """Data rows in a file (lines after the header), for a progress bar's length."""
    try:
        with path.open("rb") as handle:
            return max(0, sum(1 for line in handle if line.strip()) - 1)
    except OSError as exc:
        raise DataUnavailableError(f"cannot read {path}: {exc}") from exc


def check_columns(header: Sequence[str], required: Iterable[str], path: Path) -> None:
    """Fail before sending anything when a column the mapping needs is not in the file."""
    missing = [column for column in required if column not in header]
    if missing:
        raise ContractError(
            f"{path.name}: column(s) {', '.join(missing)} not in the header ({', '.join(header)}); "
            "name the file's columns with the command's options"
        )


def replay_csv(
    path: Path,
    mapper: RowMapper,
    sink: EventSink,
    *,
    required: Iterable[str] = (),
    where: Mapping[str, frozenset[str]] | None = None,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Send the events of every row of ``path`` that passes the filters; returns what was done.

    Args:
        path: The CSV file.
        mapper: Row to events (``streams.formats.opendata``); raises ContractError for a bad row.
        sink: The producer; flushed at the end so the summary counts only confirmed events.
        required: Columns the mapping needs (checked against the header first).
        where: Keep only rows whose column has one of the values (``{"sexe": {"0"}}``).
        limit: Stop after this many rows read.
        progress: Called with the number of rows read since the last call.

    Raises:
        DataUnavailableError: The file cannot be read.
        ContractError: A required column is missing.
        ServiceUnavailableError: The broker did not confirm the events.
    """
    check_columns(read_header(path), [*required, *(where or {})], path)
    summary = ReplaySummary()
    pending: list[Event] = []
    for line, row in iter_rows(path):
        if limit is not None and summary.rows >= limit:
            break
        summary.rows += 1
        if progress is not None:
            progress(1)
        if where and any((row.get(column) or "").strip() not in values for column, values in where.items()):
            summary.filtered += 1
            continue
        try:
            events = mapper(row)
        except ContractError as exc:
            summary.refused += 1
            if len(summary.reasons) < MAX_REASONS_KEPT:
                summary.reasons.append((line, str(exc)))
            continue
        for event in events:
            summary.first = min(summary.first or event.occurred_at, event.occurred_at)
            summary.last = max(summary.last or event.occurred_at, event.occurred_at)
        pending.extend(events)
        if len(pending) >= SEND_CHUNK_EVENTS:
            summary.messages += sink.send(pending)
            summary.events += len(pending)
            pending = []
    if pending:
        summary.messages += sink.send(pending)
        summary.events += len(pending)
    sink.flush()
    logger.info(
        "replay done",
        extra={"file": path.name, "rows": summary.rows, "events": summary.events, "refused": summary.refused},
    )
    return summary


def ensure_topics(bootstrap_servers: str, names: Iterable[str], *, partitions: int, replication_factor: int) -> None:
    """Create the topics that do not exist yet (a broker may not auto-create them, or with other partitions).

    Raises:
        ServiceUnavailableError: The broker cannot be reached or refuses.
    """
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers.split(","), client_id="synopse-replay-admin")
    except Exception as exc:  # kafka-python raises NoBrokersAvailable and friends
        raise ServiceUnavailableError(f"cannot connect to Kafka at {bootstrap_servers}: {exc}") from exc
    try:
        for name in names:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, partitions, replication_factor)])
    except Exception as exc:
        raise ServiceUnavailableError(f"cannot create topics on {bootstrap_servers}: {exc}") from exc
    finally:
        admin.close()
