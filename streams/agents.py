"""The ingestion agents: one per input topic, each batch decoded, stored in one transaction, then acked.

Per batch of Kafka messages: decode with the domain codec, upsert the valid events in ONE database
transaction, send what failed its contract to the dead-letter topic, and only then ack the messages so
that faust may commit their offsets. Nothing is acked before it is stored: a crash or a stop in the
middle means Kafka redelivers the batch, and the idempotent upserts make that harmless.

A transient database error (connection lost, pool exhausted, deadlock) retries the same batch with
capped exponential backoff, so the worker neither loses it nor dies in a crash loop. A data or integrity
error (a contract the codec let through but the database refuses) isolates the offending messages:
each is retried in its own transaction and those still refused are dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import faust
import psycopg
from faust.types import EventT, StreamT, TopicT
from mode import CrashingSupervisor
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from streams.deadletter import DeadLetter, SourcePosition, build_dead_letter
from streams.metrics import StreamMetrics
from synopse.db.ingest import WriteCounts, store_events
from synopse.domain.codec import Rejected, decode_message
from synopse.domain.events import Event
from synopse.domain.topics import (
    DLQ_HEADER_ERROR,
    DLQ_HEADER_INDEX,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_TOPIC,
    TopicSpec,
)
from synopse.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

# Events per INSERT statement inside a batch's transaction: an envelope may carry hundreds of events and
# a batch a thousand envelopes; 5000 rows keep each statement's arrays to a few megabytes and the
# decoded models in memory bounded, while the round trips stay few.
STORE_CHUNK_EVENTS = 5000

DeadLetterSender = Callable[[Sequence[DeadLetter]], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff between retries of a batch.

    The first retry comes after 0.5 s (a database failover or a dropped connection is usually over by
    then); the wait doubles up to 30 s, so a database back after an outage is used within 30 s.
    """

    initial_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        return float(min(self.max_s, self.initial_s * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Incoming:
    """One Kafka message of a batch: where it was read, and its value."""

    position: SourcePosition
    value: bytes | None

    @classmethod
    def from_event(cls, event: EventT[Any]) -> Incoming:
        message = event.message
        key = message.key if isinstance(message.key, bytes | None) else bytes(message.key)
        value = message.value if isinstance(message.value, bytes | None) else bytes(message.value)
        return cls(SourcePosition(message.topic, message.partition, message.offset, key), value)


@dataclass
class MessagePlan:
    """What to do with one message: the events to store and the dead letters to send."""

    incoming: Incoming
    events: list[Event]
    dead_letters: list[DeadLetter]

    @property
    def events_in(self) -> int:
        """Events the message carried, valid or not (a message that is not even JSON counts as one)."""
        return len(self.events) + len(self.dead_letters)


def plan_message(spec: TopicSpec, incoming: Incoming, *, dead_letter_topic: str, now: datetime) -> MessagePlan:
    """Decode one message into events to store and dead letters to send (pure)."""
    decoded = decode_message(spec, incoming.value)
    letters = [
        build_dead_letter(rejected, source=incoming.position, dead_letter_topic=dead_letter_topic, now=now)
        for rejected in decoded.rejected
    ]
    return MessagePlan(incoming, decoded.events, letters)


@dataclass
class BatchOutcome:
    """What a batch did: counts for the metrics and the dead letters to send once it is stored."""

    messages: int = 0
    events_in: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def add(self, plan: MessagePlan) -> None:
        self.messages += 1
        self.events_in += plan.events_in
        self.dead_letters.extend(plan.dead_letters)


def is_refused_data(exc: BaseException) -> bool:
    """True for errors about the data itself (SQLSTATE classes 22 and 23): retrying them as is fails again."""
    return isinstance(exc, psycopg.DataError | psycopg.IntegrityError)


def is_transient(exc: BaseException) -> bool:
    """True for errors about the database being away, busy or not ready, from which a later retry may succeed.

    That includes a missing table (the schema not migrated yet): an operator fixes it and the batch in
    hand goes through, instead of the worker dying over and over until then.
    """
    return isinstance(exc, psycopg.Error | ServiceUnavailableError | OSError) and not is_refused_data(exc)


class BatchIngestor:
    """Stores the batches of every agent; given its database pool when the worker starts."""

    def __init__(self, metrics: StreamMetrics, *, backoff: Backoff | None = None) -> None:
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.pool: AsyncConnectionPool | None = None

    def _require_pool(self) -> AsyncConnectionPool:
        if self.pool is None:
            raise ServiceUnavailableError("the database pool is not open (the worker has not started)")
        return self.pool

    async def process(
        self, spec: TopicSpec, batch: Sequence[Incoming], *, dead_letter_topic: str, send: DeadLetterSender
    ) -> BatchOutcome:
        """Store a batch (retrying while the database is away), then send its dead letters.

        Returns only once both are done; the caller acks the messages after that.
        """
        started = time.perf_counter()
        now = datetime.now(UTC)
        store = self._store_batch
        attempt = 0
        while True:
            try:
                outcome = await store(spec, batch, dead_letter_topic, now)
                break
            except Exception as exc:
                if is_refused_data(exc) and store == self._store_batch:
                    logger.warning(
                        "batch refused by the database; storing its messages one by one",
                        extra=_batch_fields(spec, batch) | {"error": type(exc).__name__, "sqlstate": _sqlstate(exc)},
                    )
                    store = self._store_one_by_one
                    continue
                if not is_transient(exc):
                    raise
                attempt += 1
                delay = self.backoff.delay(attempt)
                self.metrics.store_retries.labels(spec.name).inc()
                logger.warning(
                    "database unavailable; retrying the batch",
                    extra=_batch_fields(spec, batch)
                    | {"attempt": attempt, "retry_in_s": delay, "error": type(exc).__name__, "detail": str(exc)},
                )
                await asyncio.sleep(delay)
        if outcome.dead_letters:
            await send(outcome.dead_letters)
            _log_dead_letters(spec, outcome.dead_letters)
        self.metrics.record_batch(
            spec.name,
            messages=outcome.messages,
            events_in=outcome.events_in,
            counts=outcome.counts,
            dead_lettered=len(outcome.dead_letters),
        )
        self.metrics.batch_seconds.labels(spec.name).observe(time.perf_counter() - started)
        logger.debug(
            "batch stored",
            extra=_batch_fields(spec, batch)
            | {
                "events": outcome.events_in,
                "inserted": outcome.counts.inserted,
                "updated": outcome.counts.updated,
                "unchanged": outcome.counts.unchanged,
                "dead_lettered": len(outcome.dead_letters),
            },
        )
        return outcome

    async def _store_batch(
        self, spec: TopicSpec, batch: Sequence[Incoming], dead_letter_topic: str, now: datetime
    ) -> BatchOutcome:
        """Decode and upsert the whole batch in one transaction (committed when the block exits)."""
        outcome = BatchOutcome()
        pending: list[Event] = []
        async with self._require_pool().connection() as conn:
            for incoming in batch:
                plan = plan_message(spec, incoming, dead_letter_topic=dead_letter_topic, now=now)
                outcome.add(plan)
                pending.extend(plan.events)
                if len(pending) >= STORE_CHUNK_EVENTS:
                    outcome.counts += await _store(conn, spec, pending)
                    pending = []
                # Decoding a large batch is CPU work: give the loop a turn per message, so that the
                # consumer's heartbeats and the web server keep running.
                await asyncio.sleep(0)
            if pending:
                outcome.counts += await _store(conn, spec, pending)
        return outcome

    async def _store_one_by_one(
        self, spec: TopicSpec, batch: Sequence[Incoming], dead_letter_topic: str, now: datetime
    ) -> BatchOutcome:
        """Each message in its own transaction; a message the database still refuses is dead-lettered whole.

        Transient errors here propagate: the caller retries the batch, and the messages already stored
        are rewritten idempotently.
        """
        outcome = BatchOutcome()
        for incoming in batch:
            plan = plan_message(spec, incoming, dead_letter_topic=dead_letter_topic, now=now)
            try:
                async with self._require_pool().connection() as conn:
                    counts = await _store(conn, spec, plan.events)
            except (psycopg.DataError, psycopg.IntegrityError) as exc:
                reason = f"refused by the database: {type(exc).__name__} (SQLSTATE {_sqlstate(exc)})"
                refused = Rejected(incoming.value or b"", reason)
                letter = build_dead_letter(
                    refused, source=incoming.position, dead_letter_topic=dead_letter_topic, now=now
                )
                plan = MessagePlan(incoming, [], [letter])
                counts = WriteCounts()
            outcome.add(plan)
            outcome.counts += counts
        return outcome


async def _store(conn: AsyncConnection[Any], spec: TopicSpec, events: list[Event]) -> WriteCounts:
    counts = WriteCounts()
    for start in range(0, len(events), STORE_CHUNK_EVENTS):
        # The contract name (not the environment's prefixed topic) is what source_freshness records.
        counts += await store_events(conn, spec.name, events[start : start + STORE_CHUNK_EVENTS])
    return counts


def _sqlstate(exc: BaseException) -> str | None:
    return exc.sqlstate if isinstance(exc, psycopg.Error) else None


def _batch_fields(spec: TopicSpec, batch: Sequence[Incoming]) -> dict[str, object]:
    """Log fields locating a batch: its topic, and partition and offset of its first message."""
    first = batch[0].position if batch else None
    return {
        "topic": first.topic if first else spec.name,
        "partition": first.partition if first else None,
        "offset": first.offset if first else None,
        "messages": len(batch),
    }


def _log_dead_letters(spec: TopicSpec, letters: Sequence[DeadLetter]) -> None:
    """One warning per batch (a flood of bad messages must not flood the log), details at DEBUG."""
    first = letters[0]
    logger.warning(
        "dead-lettered %d messages or events",
        len(letters),
        extra={
            "topic": first.header(DLQ_HEADER_TOPIC) or spec.name,
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


def producer_sender(app: faust.App) -> DeadLetterSender:
    """Send dead letters with the app's producer and wait until the broker has them all."""

    async def send(letters: Sequence[DeadLetter]) -> None:
        futures = [
            await app.producer.send(
                letter.topic, letter.key, letter.value, partition=None, timestamp=None, headers=list(letter.headers)
            )
            for letter in letters
        ]
        await asyncio.gather(*futures)

    return send


def register_agents(
    app: faust.App,
    topics: dict[TopicSpec, tuple[TopicT, str]],
    ingestor: BatchIngestor,
    *,
    batch_size: int,
    batch_within_s: float,
) -> None:
    """Declare one ingestion agent per input topic.

    Args:
        app: The faust app.
        topics: For each input topic, its faust topic and the full name of its dead-letter topic.
        ingestor: Stores the batches (its pool is set when the worker starts).
        batch_size: Most messages per batch.
        batch_within_s: Longest wait to fill a batch.
    """
    send = producer_sender(app)
    for spec, (topic, dead_letter_topic) in topics.items():
        _register_agent(app, spec, topic, dead_letter_topic, ingestor, send, batch_size, batch_within_s)


def _register_agent(
    app: faust.App,
    spec: TopicSpec,
    topic: TopicT,
    dead_letter_topic: str,
    ingestor: BatchIngestor,
    send: DeadLetterSender,
    batch_size: int,
    batch_within_s: float,
) -> None:
    async def ingest(agent_stream: StreamT[Any]) -> None:
        stream = cast(faust.Stream[Any], agent_stream)
        # noack_take: faust's take() acks a batch as soon as the next one is requested, even when
        # processing raised; here the events are acked by hand, only after the batch is stored.
        async for buffered in stream.noack_take(batch_size, within=batch_within_s):
            events = cast(Sequence[EventT[Any]], buffered)
            await ingestor.process(
                spec, [Incoming.from_event(event) for event in events], dead_letter_topic=dead_letter_topic, send=send
            )
            for event in events:
                await stream.ack(event)

    # An unexpected error (a bug, not the database being away) crashes the worker instead of faust's
    # default of restarting the agent alone: a restarted agent would skip the unacked batch, and its
    # partitions' offsets could then never be committed past it. After a process restart, Kafka
    # redelivers the batch.
    app.agent(topic, name=f"ingest.{spec.name}", supervisor_strategy=CrashingSupervisor)(ingest)
