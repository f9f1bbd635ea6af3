"""Publishing events to the input topics: groups them by topic and key into batch envelopes.

The one producer the simulator, the replay tools and the benchmarks share (components never import
each other, so it lives in the kernel). It sends; the stream worker validates and stores. Events of one
key (a facility, a station) stay on one partition in the order given, which keeps per-source order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from synopse.domain.codec import encode_batch
from synopse.domain.events import Event
from synopse.domain.topics import topic_for
from synopse.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

# 500 events per envelope: an admission is about 400 bytes of JSON, so an envelope stays near 200 kB,
# well under Kafka's default 1 MB message limit, while one message still carries enough events for the
# worker to store thousands of rows per database round trip.
DEFAULT_CHUNK_EVENTS = 500
# Room for the largest envelope allowed above with margin; brokers default to about 1 MB per message.
_MAX_REQUEST_BYTES = 1_000_000
# Wait up to 5 ms to fill a request: negligible latency for a crisis dashboard, fewer round trips.
_LINGER_MS = 5
# How long flush() waits for the broker before it reports the events as not sent.
DEFAULT_FLUSH_TIMEOUT_S = 60.0
# A long-running sender (the simulator) may never call flush(): past this many tracked sends, those
# already acknowledged are forgotten so the list stays small; failures are kept for flush() to report.
_PRUNE_AT = 10_000


def group_into_envelopes(
    events: Iterable[Event], chunk_events: int = DEFAULT_CHUNK_EVENTS
) -> Iterator[tuple[str, str, list[Event]]]:
    """Group events by input topic and key, in chunks of at most ``chunk_events``, keeping their order.

    Yields:
        ``(topic name without prefix, key, events)`` for each envelope to send.
    """
    if chunk_events < 1:
        raise ValueError(f"chunk_events must be at least 1, got {chunk_events}")
    groups: dict[tuple[str, str], list[Event]] = {}
    for event in events:
        groups.setdefault((topic_for(type(event)).name, event.key), []).append(event)
    for (topic, key), grouped in groups.items():
        for start in range(0, len(grouped), chunk_events):
            yield topic, key, grouped[start : start + chunk_events]


class EventProducer:
    """Send events to the input topics as batch envelopes; ``flush()`` confirms delivery.

    Example::

        with EventProducer(settings.bootstrap_servers, settings.kafka.topic_prefix) as producer:
            producer.send(events)
            producer.flush()
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic_prefix: str = "",
        *,
        chunk_events: int = DEFAULT_CHUNK_EVENTS,
        client_id: str = "synopse-producer",
        **producer_options: Any,
    ) -> None:
        """Connect to the broker.

        Args:
            bootstrap_servers: ``host:port[,host:port]``.
            topic_prefix: Prepended to every topic name (``settings.kafka.topic_prefix``).
            chunk_events: Most events carried by one message.
            client_id: Name of this client in the broker's logs.
            producer_options: Passed to ``kafka.KafkaProducer`` (overrides the defaults here).
        """
        self._prefix = topic_prefix
        self._chunk_events = chunk_events
        self._pending: list[Any] = []
        options: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers.split(","),
            "client_id": client_id,
            # Wait for the write to be acknowledged by all in-sync replicas: an event sent is an event kept.
            "acks": "all",
            "linger_ms": _LINGER_MS,
            "max_request_size": _MAX_REQUEST_BYTES,
        }
        options.update(producer_options)
        try:
            self._producer = KafkaProducer(**options)
        except Exception as exc:  # kafka-python raises NoBrokersAvailable and friends
            raise ServiceUnavailableError(f"cannot connect to Kafka at {bootstrap_servers}: {exc}") from exc

    def send(self, events: Iterable[Event]) -> int:
        """Queue events for sending, grouped into envelopes; returns the number of messages queued."""
        messages = 0
        for topic, key, chunk in group_into_envelopes(events, self._chunk_events):
            self._pending.append(
                self._producer.send(self._prefix + topic, key=key.encode(), value=encode_batch(chunk))
            )
            messages += 1
        self._prune()
        return messages

    def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        """Queue one message as given (a replay from a dead-letter topic, a test of the contracts).

        Args:
            topic: Topic name without the prefix.
            value: The message bytes, sent untouched.
            key: The message key.
            headers: Kafka headers, (name, bytes) each.
        """
        self._pending.append(self._producer.send(self._prefix + topic, key=key, value=value, headers=headers))
        self._prune()

    def _prune(self) -> None:
        if len(self._pending) >= _PRUNE_AT:
            self._pending = [future for future in self._pending if not future.succeeded()]

    def flush(self, timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S) -> None:
        """Wait until every queued message is acknowledged by the broker.

        Raises:
            ServiceUnavailableError: Some messages were not acknowledged; they may or may not be stored,
                and sending them again is safe (writes downstream are idempotent).
        """
        pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=timeout_s)
        except Exception as exc:  # KafkaTimeoutError
            raise ServiceUnavailableError(f"{len(pending)} messages not confirmed within {timeout_s:.0f} s") from exc
        failed = [future for future in pending if not future.succeeded()]
        if failed:
            logger.warning("messages not acknowledged by the broker", extra={"failed": len(failed)})
            raise ServiceUnavailableError(
                f"{len(failed)} of {len(pending)} messages not acknowledged: {failed[0].exception!r}"
            )

    def close(self, timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S) -> None:
        """Send what is queued, then disconnect.

        Raises:
            ServiceUnavailableError: Kafka did not confirm the queued messages in time (it is away); they
                may or may not be stored, and sending them again is safe.
        """
        try:
            self._producer.close(timeout=timeout_s)
        except KafkaTimeoutError as exc:
            raise ServiceUnavailableError(
                f"Kafka did not confirm the queued messages within {timeout_s:.0f} s while closing: they may not "
                "be stored; send them again once Kafka is back (writes downstream are idempotent)"
            ) from exc

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
