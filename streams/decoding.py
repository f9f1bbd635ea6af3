"""Fast decoding of input messages: pydantic's JSON parser on the whole message, the codec when it fails.

The domain codec (``synopse.domain.codec.decode_message``) is the reference: it parses with ``json``,
then validates event by event so that one bad event costs only itself. That costs about 7 µs an event.
A valid message, by far the common case, is parsed and validated in one call of pydantic's Rust JSON
parser instead (``validate_json`` on an envelope model or on the event model, about 3-4 µs an event).
Only when that fails does the codec run, and its answer (the valid events and, for each invalid one,
the bytes and a reason) is the one returned: both paths agree on every valid message, and every
invalid message gets exactly the codec's treatment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from operator import attrgetter
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from synopse.domain.codec import BATCH_FIELD, MAX_BATCH_EVENTS, Decoded, Rejected, decode_message
from synopse.domain.events import Event
from synopse.domain.topics import TopicSpec

# How an envelope starts when a producer writes it compactly (synopse.domain.codec.encode_batch does):
# cheap to test, and a message that starts otherwise simply takes the single-event path or the codec.
_ENVELOPE_START = b'{"' + BATCH_FIELD.encode() + b'"'

Decoder = Callable[[bytes | None], Decoded]


class _JsonValidator(Protocol):
    def validate_json(self, input: bytes, /) -> Any: ...


@cache
def _validators(model: type[Event]) -> tuple[_JsonValidator, _JsonValidator]:
    """pydantic-core's validators of an envelope of ``model`` and of one ``model``.

    Called directly rather than through ``TypeAdapter.validate_json``, whose Python wrapper costs a few
    microseconds a call: as much as validating a whole event, on a topic of single-event messages.
    """
    envelope: type[BaseModel] = create_model(
        f"{model.__name__}Envelope",
        __config__=ConfigDict(extra="forbid"),
        **{BATCH_FIELD: (list[model], ...)},  # type: ignore[call-overload, valid-type]
    )
    return envelope.__pydantic_validator__, model.__pydantic_validator__


def decode_fast(spec: TopicSpec, raw: bytes | None) -> Decoded:
    """The events of one message, as :func:`synopse.domain.codec.decode_message` would return them."""
    if raw:
        envelope, single = _validators(spec.model)
        try:
            if raw.startswith(_ENVELOPE_START):
                events: list[Event] = getattr(envelope.validate_json(raw), BATCH_FIELD)
                if len(events) <= MAX_BATCH_EVENTS:
                    return Decoded(events=events)
            else:
                return Decoded(events=[single.validate_json(raw)])
        except ValidationError:
            pass
    return decode_message(spec, raw)


class KnownIds:
    """Ids of one kind of source in the reference data (facilities or stations), refreshed by the worker.

    A collection that contains every id while it is empty: before the reference data is read, or when
    it was never loaded (``synopse db seed``), nothing is refused for being unknown.
    """

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids = frozenset(ids)

    def replace(self, ids: Iterable[str]) -> None:
        self._ids = frozenset(ids)

    def __contains__(self, item: object) -> bool:
        return not self._ids or item in self._ids

    def covers(self, ids: Iterable[object]) -> bool:
        """True when every one of ``ids`` is known (one set operation: the per-batch fast path)."""
        return not self._ids or self._ids.issuperset(ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class ReferenceIds:
    """The sources events may come from: facilities and stations of the reference data."""

    def __init__(self) -> None:
        self.facilities = KnownIds()
        self.stations = KnownIds()

    def _known(self, key_field: str) -> tuple[str, KnownIds | None]:
        if key_field == "facility_id":
            return "facility", self.facilities
        if key_field == "station_id":
            return "station", self.stations
        return "", None

    def all_known(self, events: Sequence[Event]) -> bool:
        """True when every event comes from a known source (the common case, checked per message at once)."""
        if not events:
            return True
        key_field = events[0].key_field
        known = self._known(key_field)[1]
        return known is None or known.covers(map(attrgetter(key_field), events))

    def unknown(self, event: Event) -> str | None:
        """Why the event's source is refused (a reason a person understands), or None when it is known."""
        kind, known = self._known(event.key_field)
        if known is None or event.key in known:
            return None
        return f"unknown {kind} {event.key!r} (not in the reference data)"


def drop_unknown(raw: bytes | None, decoded: Decoded, reference: ReferenceIds) -> Decoded:
    """Move the events of sources missing from the reference data to the rejected, with a reason.

    An event of an envelope is dead-lettered alone, as its original JSON with its position, like an
    invalid one; a single-event message keeps its original bytes. Once the source is added to the
    reference data, replaying the dead letters stores them.
    """
    if reference.all_known(decoded.events):
        return decoded
    reasons = [reference.unknown(event) for event in decoded.events]
    items: list[object] | None = None
    positions: list[int | None] = [None] * len(decoded.events)
    if raw:
        document = json.loads(raw)
        if isinstance(document, dict) and isinstance(document.get(BATCH_FIELD), list):
            items = document[BATCH_FIELD]
            refused = {r.index for r in decoded.rejected}
            valid: list[int | None] = [i for i in range(len(items)) if i not in refused]
            if len(valid) == len(decoded.events):
                positions = valid
    kept = Decoded(rejected=list(decoded.rejected))
    for event, reason, position in zip(decoded.events, reasons, positions, strict=True):
        if reason is None:
            kept.events.append(event)
        elif items is not None and position is not None:
            kept.rejected.append(Rejected(json.dumps(items[position], ensure_ascii=False).encode(), reason, position))
        else:
            kept.rejected.append(Rejected(raw or b"", reason))
    return kept


def decoder_for(spec: TopicSpec, reference: ReferenceIds | None = None) -> Decoder:
    """A decoder of the JSON input topic ``spec``; with ``reference``, unknown sources are refused too."""
    _validators(spec.model)  # built once, before the first message

    def decode(raw: bytes | None) -> Decoded:
        decoded = decode_fast(spec, raw)
        return decoded if reference is None or not decoded.events else drop_unknown(raw, decoded, reference)

    return decode
