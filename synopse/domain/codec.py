"""Wire format of the input topics: one event, or a batch envelope ``{"events": [...]}``, as UTF-8 JSON.

Decoding never raises on bad input: it returns what is valid and, for each thing that is not, the bytes
to dead-letter and the reason, so one bad event never costs its neighbours in a batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from synopse.domain.events import Event
from synopse.domain.topics import TopicSpec

BATCH_FIELD = "events"
# A batch larger than this is a producer bug or an attack on memory; refused whole.
MAX_BATCH_EVENTS = 100_000


@dataclass(frozen=True)
class Rejected:
    """Something that failed its contract: the bytes to dead-letter and why."""

    raw: bytes
    reason: str
    index: int | None = None  # position in the batch envelope; None when the whole message is bad


@dataclass
class Decoded:
    """The outcome of decoding one Kafka message."""

    events: list[Event] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def encode_event(event: Event) -> bytes:
    """Serialise one event as a message value."""
    return event.model_dump_json().encode()


def encode_batch(events: Iterable[Event]) -> bytes:
    """Serialise many events as one batch envelope (the cheap way to carry a high-rate source)."""
    body = ",".join(event.model_dump_json() for event in events)
    return ('{"' + BATCH_FIELD + '":[' + body + "]}").encode()


def decode_message(spec: TopicSpec, raw: bytes | None) -> Decoded:
    """Validate a message value into events of the topic's contract."""
    if raw is None:
        return Decoded(rejected=[Rejected(b"", "empty message value (tombstone)")])
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Decoded(rejected=[Rejected(raw, f"not UTF-8 JSON: {exc}")])
    if not isinstance(document, dict):
        return Decoded(rejected=[Rejected(raw, f"expected a JSON object, got {type(document).__name__}")])
    if BATCH_FIELD not in document:
        return _decode_items(spec, [document], single_raw=raw)
    items = document[BATCH_FIELD]
    if len(document) != 1 or not isinstance(items, list):
        return Decoded(rejected=[Rejected(raw, f'a batch envelope is {{"{BATCH_FIELD}": [...]}} and nothing else')])
    if len(items) > MAX_BATCH_EVENTS:
        return Decoded(rejected=[Rejected(raw, f"batch of {len(items)} events exceeds {MAX_BATCH_EVENTS}")])
    return _decode_items(spec, items, single_raw=None)


def _decode_items(spec: TopicSpec, items: list[object], single_raw: bytes | None) -> Decoded:
    decoded = Decoded()
    for index, item in enumerate(items):
        try:
            decoded.events.append(spec.model.model_validate(item))
        except ValidationError as exc:
            raw = single_raw if single_raw is not None else json.dumps(item, ensure_ascii=False).encode()
            decoded.rejected.append(
                Rejected(raw, describe_validation_error(exc), None if single_raw is not None else index)
            )
    return decoded


def describe_validation_error(exc: ValidationError) -> str:
    """A one-line reason naming each bad field, without echoing values (they may be personal data)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "event"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
