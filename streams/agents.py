"""The ingestion agents: one per input topic, each batch decoded, stored in one transaction, then acked.

Per batch of Kafka messages: decode (``streams.decoding``), upsert the valid events and the partitions'
progress counters in ONE database transaction, send what failed its contract to the dead-letter topic,
and only then ack the messages so that faust may commit their offsets. Nothing is acked before it is
stored: a crash or a stop in the middle means Kafka redelivers the batch, and the idempotent upserts
make that harmless.

The agent overlaps two batches: it decodes batch N+1 (Python, this process's core) while batch N is
being written (PostgreSQL, another process). Writes stay in order, one at a time per agent.

A transient database error (connection lost, pool exhausted, deadlock) retries the same batch with
capped exponential backoff, so the worker neither loses it nor dies in a crash loop; meanwhile the
agent takes no new batch, so consumption pauses (faust stops fetching once its buffers are full). A
data or integrity error (a contract the codec let through but the database refuses) isolates the
offending messages: each is retried in its own transaction and those still refused are dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import faust
import psycopg
from faust.types import EventT, StreamT, TopicT
from mode import CrashingSupervisor
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from streams.batches import BatchOutcome, Feed, Incoming, MessagePlan, PreparedBatch, plan_message, progress_of
from streams.deadletter import DeadLetter, build_dead_letter, log_dead_letters
from streams.decoding import ReferenceIds
from streams.metrics import StreamMetrics
from synopse.db.health import record_progress
from synopse.db.ingest import StoreOptions, WriteCounts, known_source_ids, store_events
from synopse.domain.codec import Rejected
from synopse.domain.events import Event
from synopse.domain.topics import (
    TopicSpec,
)
from synopse.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

# Events per INSERT statement inside a batch's transaction: an envelope may carry hundreds of events and
# a batch a thousand envelopes; 5000 rows keep each COPY to a few megabytes and a statement's locks
# short, while the round trips stay few.
STORE_CHUNK_EVENTS = 5000
# How long a batch waits for a database connection before counting as a failed attempt (and retrying
# with backoff): a pool emptied by an outage then shows as retries within seconds, not after the pool's
# default 30 s.
CONNECTION_WAIT_S = 5.0
# Decoding a large batch is CPU work: give the loop a turn at least this often (seconds), so that the
# consumer's heartbeats and the web server keep running, without paying a loop turn per message.
_YIELD_EVERY_S = 0.005

DeadLetterSender = Callable[[Sequence[DeadLetter]], Awaitable[None]]

# Crash requests in flight (asyncio keeps only weak references to tasks).
_crashing: set[asyncio.Future[Any]] = set()


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
    """Stores the batches of every agent; given its database pool and options when the worker starts."""

    def __init__(self, metrics: StreamMetrics, *, backoff: Backoff | None = None, consumer_group: str = "") -> None:
        self.metrics = metrics
        self.backoff = backoff or Backoff()
        self.consumer_group = consumer_group
        self.pool: AsyncConnectionPool | None = None
        self.options = StoreOptions()
        #: Facilities and stations of the reference data, read when the pool opens and at each health round.
        self.reference = ReferenceIds()

    def _require_pool(self) -> AsyncConnectionPool:
        if self.pool is None:
            raise ServiceUnavailableError("the database pool is not open (the worker has not started)")
        return self.pool

    async def prepare(
        self, feed: Feed, batch: Sequence[Incoming], *, max_events: int | None = None
    ) -> PreparedBatch:
        """Decode the messages of a batch (CPU only; yields to the loop every few milliseconds).

        With ``max_events``, stops after the message that reaches that many events: the caller stores
        that slice and prepares the rest next (``len(prepared.plans)`` messages were consumed).
        """
        started = time.perf_counter()
        now = datetime.now(UTC)
        plans = []
        turn = started
        events = 0
        for incoming in batch:
            plan = plan_message(
                feed.spec, incoming, dead_letter_topic=feed.dead_letter_topic, now=now, decode=feed.decode
            )
            plans.append(plan)
            events += plan.events_in
            if max_events is not None and events >= max_events:
                break
            if time.perf_counter() - turn > _YIELD_EVERY_S:
                await asyncio.sleep(0)
                turn = time.perf_counter()
        return PreparedBatch(feed, plans, now, started)

    async def process(
        self, spec: TopicSpec | Feed, batch: Sequence[Incoming], *, dead_letter_topic: str = "",
        send: DeadLetterSender,
    ) -> BatchOutcome:
        """Decode and store a batch, then send its dead letters (what the agent does, in one call)."""
        feed = spec if isinstance(spec, Feed) else Feed.json(spec, dead_letter_topic)
        return await self.commit(await self.prepare(feed, batch), send=send)

    async def commit(self, prepared: PreparedBatch, *, send: DeadLetterSender) -> BatchOutcome:
        """Store a decoded batch (retrying while the database is away), then send its dead letters.

        Returns only once both are done; the caller acks the messages after that.
        """
        feed = prepared.feed
        store = self._store_batch
        attempt = 0
        while True:
            try:
                outcome = await store(prepared)
                break
            except Exception as exc:
                if is_refused_data(exc) and store == self._store_batch:
                    logger.warning(
                        "batch refused by the database; storing its messages one by one",
                        extra=_batch_fields(feed, prepared.plans)
                        | {"error": type(exc).__name__, "sqlstate": _sqlstate(exc)},
                    )
                    store = self._store_one_by_one
                    continue
                if not is_transient(exc):
                    raise
                attempt += 1
                delay = self.backoff.delay(attempt)
                self.metrics.store_retries.labels(feed.name).inc()
                self.metrics.paused.labels(feed.name).set(1)
                logger.warning(
                    "database unavailable; consumption paused, retrying the batch",
                    extra=_batch_fields(feed, prepared.plans)
                    | {"attempt": attempt, "retry_in_s": delay, "error": type(exc).__name__, "detail": str(exc)},
                )
                await asyncio.sleep(delay)
        if attempt:
            self.metrics.paused.labels(feed.name).set(0)
            logger.info("database back; consumption resumed", extra=_batch_fields(feed, prepared.plans))
        if outcome.dead_letters:
            await send(outcome.dead_letters)
            log_dead_letters(feed.name, outcome.dead_letters)
        self.metrics.record_batch(
            feed.name,
            messages=outcome.messages,
            events_in=outcome.events_in,
            counts=outcome.counts,
            dead_lettered=len(outcome.dead_letters),
        )
        self.metrics.record_progress(prepared.progress)
        self.metrics.batch_seconds.labels(feed.name).observe(time.perf_counter() - prepared.started)
        logger.debug(
            "batch stored",
            extra=_batch_fields(feed, prepared.plans)
            | {
                "events": outcome.events_in,
                "inserted": outcome.counts.inserted,
                "updated": outcome.counts.updated,
                "unchanged": outcome.counts.unchanged,
                "dead_lettered": len(outcome.dead_letters),
            },
        )
        return outcome

    async def _store_batch(self, prepared: PreparedBatch) -> BatchOutcome:
        """Upsert the whole batch and its progress counters in one transaction (committed when the block exits)."""
        outcome = BatchOutcome()
        for plan in prepared.plans:
            outcome.add(plan)
        async with self._require_pool().connection(timeout=CONNECTION_WAIT_S) as conn:
            outcome.counts = await self._store(conn, prepared.feed, prepared.events)
            await record_progress(conn, self.consumer_group, prepared.progress, prepared.progress_detail)
        return outcome

    async def _store_one_by_one(self, prepared: PreparedBatch) -> BatchOutcome:
        """Each message in its own transaction; a message the database still refuses is dead-lettered whole.

        Transient errors here propagate: the caller retries the batch, and the messages already stored
        are rewritten idempotently (their progress counters were added with them and are added again:
        a rare double count in a health figure, never in the data).
        """
        outcome = BatchOutcome()
        feed = prepared.feed
        pool = self._require_pool()
        for plan in prepared.plans:
            try:
                async with pool.connection(timeout=CONNECTION_WAIT_S) as conn:
                    counts = await self._store(conn, feed, plan.events)
                    await record_progress(conn, self.consumer_group, progress_of(feed.name, [plan]))
            except (psycopg.DataError, psycopg.IntegrityError) as exc:
                incoming = plan.incoming
                reason = f"refused by the database: {type(exc).__name__} (SQLSTATE {_sqlstate(exc)})"
                letter = build_dead_letter(
                    Rejected(incoming.value or b"", reason), source=incoming.position,
                    dead_letter_topic=feed.dead_letter_topic, now=prepared.now,
                )
                plan = MessagePlan(incoming, [], [letter])
                async with pool.connection(timeout=CONNECTION_WAIT_S) as conn:
                    await record_progress(conn, self.consumer_group, progress_of(feed.name, [plan]))
                counts = WriteCounts()
            outcome.add(plan)
            outcome.counts += counts
        return outcome

    async def load_reference(self) -> None:
        """Read the facility and station ids of the reference data (unknown sources are dead-lettered)."""
        async with self._require_pool().connection(timeout=CONNECTION_WAIT_S) as conn:
            facilities, stations = await known_source_ids(conn)
        self.reference.facilities.replace(facilities)
        self.reference.stations.replace(stations)

    async def _store(self, conn: AsyncConnection[Any], feed: Feed, events: list[Event]) -> WriteCounts:
        counts = WriteCounts()
        for start in range(0, len(events), STORE_CHUNK_EVENTS):
            # The contract name (not the environment's prefixed topic) is what source_freshness records.
            counts += await store_events(
                conn, feed.spec.name, events[start : start + STORE_CHUNK_EVENTS], self.options
            )
        return counts


def _sqlstate(exc: BaseException) -> str | None:
    return exc.sqlstate if isinstance(exc, psycopg.Error) else None


def _batch_fields(feed: Feed, plans: Sequence[MessagePlan]) -> dict[str, object]:
    """Log fields locating a batch: its topic, and partition and offset of its first message."""
    first = plans[0].incoming.position if plans else None
    return {
        "topic": first.topic if first else feed.name,
        "partition": first.partition if first else None,
        "offset": first.offset if first else None,
        "messages": len(plans),
    }


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
    feeds: Sequence[tuple[Feed, TopicT]],
    ingestor: BatchIngestor,
    *,
    batch_size: int,
    batch_within_s: float,
) -> None:
    """Declare one ingestion agent per input topic.

    Args:
        app: The faust app.
        feeds: Each input topic: what it is, and its faust topic.
        ingestor: Stores the batches (its pool is set when the worker starts).
        batch_size: Most messages per batch.
        batch_within_s: Longest wait to fill a batch.
    """
    send = producer_sender(app)
    for feed, topic in feeds:
        _register_agent(app, feed, topic, ingestor, send, batch_size, batch_within_s)


def _register_agent(
    app: faust.App,
    feed: Feed,
    topic: TopicT,
    ingestor: BatchIngestor,
    send: DeadLetterSender,
    batch_size: int,
    batch_within_s: float,
) -> None:
    async def ingest(agent_stream: StreamT[Any]) -> None:
        stream = cast(faust.Stream[Any], agent_stream)
        # Decoded slices wait here for the writer. One waiting slice is enough to keep the database busy
        # while the next is decoded, and it bounds the memory held to about three slices.
        ready: asyncio.Queue[tuple[PreparedBatch, Sequence[EventT[Any]]]] = asyncio.Queue(maxsize=1)

        async def write() -> None:
            while True:
                prepared, events = await ready.get()
                await ingestor.commit(prepared, send=send)
                for event in events:
                    await stream.ack(event)

        writer = asyncio.create_task(write(), name=f"write.{feed.name}")
        writer.add_done_callback(_crash_on_error(app, feed))
        try:
            # noack_take: faust's take() acks a batch as soon as the next one is requested, even when
            # processing raised; here the events are acked by hand, only after the batch is stored.
            async for buffered in stream.noack_take(batch_size, within=batch_within_s):
                events = cast(Sequence[EventT[Any]], buffered)
                incoming = [Incoming.from_event(event) for event in events]
                # A batch of envelopes may carry hundreds of thousands of events: it is stored in slices
                # of about STORE_CHUNK_EVENTS, which bounds a transaction's length and the memory held.
                done = 0
                while done < len(events):
                    prepared = await ingestor.prepare(feed, incoming[done:], max_events=STORE_CHUNK_EVENTS)
                    taken = events[done : done + len(prepared.plans)]
                    done += len(prepared.plans)
                    await ready.put((prepared, taken))
                if writer.done():
                    writer.result()  # the writer failed: raise its error here too
        finally:
            # Stopping (or a rebalance): a write still retrying against a database that is down, and
            # slices not yet written, are abandoned unacked; Kafka redelivers their messages to
            # whoever holds the partitions next.
            writer.cancel()

    # An unexpected error (a bug, not the database being away) crashes the worker instead of faust's
    # default of restarting the agent alone: a restarted agent would skip the unacked batch, and its
    # partitions' offsets could then never be committed past it. After a process restart, Kafka
    # redelivers the batch.
    app.agent(topic, name=f"ingest.{feed.name}", supervisor_strategy=CrashingSupervisor)(ingest)


def _crash_on_error(app: faust.App, feed: Feed) -> Callable[[asyncio.Task[None]], None]:
    """A write that failed for good crashes the worker even when no later batch comes to notice it."""

    def check(task: asyncio.Task[None]) -> None:
        exc = None if task.cancelled() else task.exception()
        if exc is None:
            return
        logger.error("batch write failed; stopping the worker", extra={"topic": feed.name}, exc_info=exc)
        crash = asyncio.ensure_future(app.crash(exc))
        _crashing.add(crash)
        crash.add_done_callback(_crashing.discard)

    return check
