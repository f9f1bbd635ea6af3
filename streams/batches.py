"""Batches of input messages, as plain data: where each message came from, what it decodes to, what to send.

Pure (no I/O): decoding a batch into events to store, dead letters to send and per-partition progress
counters. The agents (``streams.agents``) store what this prepares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from faust.types import EventT

from streams.deadletter import DeadLetter, SourcePosition, build_dead_letter
from streams.decoding import Decoder, ReferenceIds, decoder_for
from synopse.db.health import PartitionProgress
from synopse.db.ingest import WriteCounts
from synopse.domain.events import Event
from synopse.domain.topics import TopicSpec


@dataclass(frozen=True)
class Feed:
    """One input topic as the worker consumes it: where from, what it decodes to, where bad input goes.

    ``name`` labels metrics and health rows (the topic's name without the environment prefix); ``spec``
    is the contract its events are stored as. A JSON input topic decodes to its own contract; a raw
    topic (HL7 v2, FHIR) has its own name and decoder and stores events of an existing contract.
    """

    name: str
    spec: TopicSpec
    dead_letter_topic: str
    decode: Decoder

    @classmethod
    def json(cls, spec: TopicSpec, dead_letter_topic: str, reference: ReferenceIds | None = None) -> Feed:
        """A JSON input topic of the contract ``spec``; with ``reference``, unknown sources are refused."""
        return cls(spec.name, spec, dead_letter_topic, decoder_for(spec, reference))


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


def plan_message(
    spec: TopicSpec, incoming: Incoming, *, dead_letter_topic: str, now: datetime, decode: Decoder | None = None
) -> MessagePlan:
    """Decode one message into events to store and dead letters to send (pure)."""
    decoded = (decode or decoder_for(spec))(incoming.value)
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


@dataclass
class PreparedBatch:
    """A decoded batch, ready to store."""

    feed: Feed
    plans: list[MessagePlan]
    now: datetime
    started: float

    @property
    def events(self) -> list[Event]:
        return [event for plan in self.plans for event in plan.events]

    @cached_property
    def progress(self) -> list[PartitionProgress]:
        """The batch's counts, one row per partition (``pipeline_health`` adds them)."""
        return partition_progress(self.feed.name, self.plans)

    def progress_detail(self, partitions: set[tuple[str, int]]) -> list[PartitionProgress]:
        """Message-by-message rows of the given (topic, partition) pairs: for a batch overlapping offsets
        already counted (a redelivery), so that only the new ones are added."""
        return progress_of(self.feed.name, self.plans, partitions)


def partition_progress(feed_name: str, plans: Sequence[MessagePlan]) -> list[PartitionProgress]:
    """A batch's counts per partition: offsets from its first to its last message (read in order)."""
    totals: dict[int, list[Any]] = {}
    for plan in plans:
        position = plan.incoming.position
        newest = max(event.occurred_at for event in plan.events) if plan.events else None
        total = totals.get(position.partition)
        if total is None:
            totals[position.partition] = [position.offset, position.offset, 1, plan.events_in,
                                          len(plan.dead_letters), newest]
            continue
        total[1] = max(total[1], position.offset)
        total[2] += 1
        total[3] += plan.events_in
        total[4] += len(plan.dead_letters)
        if newest is not None and (total[5] is None or newest > total[5]):
            total[5] = newest
    return [
        PartitionProgress(topic=feed_name, partition=partition, messages=messages, events_in=events,
                          dead_lettered=dead, last_offset=last, last_event_at=newest, first_offset=first)
        for partition, (first, last, messages, events, dead, newest) in totals.items()
    ]


def progress_of(
    feed_name: str, plans: Sequence[MessagePlan], partitions: set[tuple[str, int]] | None = None
) -> list[PartitionProgress]:
    """One row per message (of the given (topic, partition) pairs, or all), for ``pipeline_health``."""
    rows = []
    for plan in plans:
        position = plan.incoming.position
        if partitions is not None and (feed_name, position.partition) not in partitions:
            continue
        rows.append(PartitionProgress(
            topic=feed_name,
            partition=position.partition,
            messages=1,
            events_in=plan.events_in,
            dead_lettered=len(plan.dead_letters),
            last_offset=position.offset,
            last_event_at=max(event.occurred_at for event in plan.events) if plan.events else None,
        ))
    return rows
