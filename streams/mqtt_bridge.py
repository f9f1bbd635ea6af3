"""Bridge from an MQTT broker (air-quality and weather stations) into the environment topic.

Subscribes with QoS 1 to ``settings.mqtt.topic_filter`` under a persistent session, validates each
payload (``streams.formats.sensors``: an observation, a list, a batch envelope or a compact reading),
sends the valid observations as batch envelopes with the shared EventProducer and the invalid ones to
the environment dead-letter topic with the reason in headers, and acknowledges the MQTT messages only
once Kafka has confirmed both. Nothing is lost: a message not yet acknowledged when the bridge stops,
crashes or loses Kafka is redelivered by the MQTT broker (same client id, session kept
``session_expiry_s``). Re-sends are harmless: compact readings get ids from station, indicator and time.

Messages arrive on paho's network thread and wait in a queue; the bridge's own thread takes them in
batches (up to ``batch_max_messages`` or ``batch_within_s``), so one Kafka round trip serves many MQTT
messages. The MQTT broker caps the messages in flight per client (Mosquitto: ``max_inflight_messages``,
20 by default), which bounds a batch: raise it on the broker for high-rate fleets.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from kafka import KafkaProducer
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from streams.deadletter import DeadLetter, SourcePosition, build_dead_letter
from streams.formats.sensors import decode_sensor_payload
from synopse.config import MqttSettings
from synopse.domain.topics import ENVIRONMENT
from synopse.errors import ServiceUnavailableError
from synopse.producer import EventProducer

logger = logging.getLogger(__name__)

QOS_AT_LEAST_ONCE = 1
# Mosquitto lets 20 QoS 1 messages be in flight per client by default, so a batch rarely holds more;
# 500 is the ceiling for brokers configured higher (each message may itself carry many observations).
DEFAULT_BATCH_MAX_MESSAGES = 500
# Wait at most 0.2 s to fill a batch: a sensor reading reaches Kafka well within a second.
DEFAULT_BATCH_WITHIN_S = 0.2
# Seconds between MQTT keepalive pings: a dead connection is noticed within about 1.5 times this.
KEEPALIVE_S = 30
# Reconnection backoff of paho, from 1 s doubling to 30 s: a restarted broker is found again quickly,
# an absent one is not hammered.
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
# Kafka unreachable: retry the same batch after 1 s, doubling up to 30 s; its MQTT messages stay unacked.
SEND_RETRY_MIN_S, SEND_RETRY_MAX_S = 1.0, 30.0
# How long one flush waits for the broker before the batch is retried.
DEFAULT_FLUSH_TIMEOUT_S = 30.0
# Dead-letter records carry no Kafka position: partition and offset -1 say "came from MQTT", and the
# topic header names the MQTT broker and topic.
_NO_POSITION = -1


@dataclass(frozen=True)
class MqttMessage:
    """One received message, with the connection it came on (acks only make sense on that one)."""

    connection: int
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass
class BridgeStats:
    """Counts since start."""

    messages: int = 0
    observations: int = 0
    dead_lettered: int = 0
    acked: int = 0
    send_retries: int = 0
    last_batch_at: datetime | None = None
    errors: list[str] = field(default_factory=list)


class MqttBridge:
    """MQTT -> Kafka for environmental observations; :meth:`run` blocks until :meth:`stop`."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        bootstrap_servers: str,
        topic_prefix: str = "",
        batch_max_messages: int = DEFAULT_BATCH_MAX_MESSAGES,
        batch_within_s: float = DEFAULT_BATCH_WITHIN_S,
        flush_timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S,
        producer_options: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.stats = BridgeStats()
        self._bootstrap_servers = bootstrap_servers
        self._topic_prefix = topic_prefix
        self._batch_max = batch_max_messages
        self._within_s = batch_within_s
        self._flush_timeout_s = flush_timeout_s
        self._producer_options = producer_options or {}
        self._incoming: queue.Queue[MqttMessage] = queue.Queue()
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._connection = 0  # incremented on each (re)connection, under the GIL from paho's thread
        self._client = self._make_client()

    @property
    def subscribed(self) -> threading.Event:
        """Set once the subscription is acknowledged (tests wait on it)."""
        return self._subscribed

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self.settings.username is not None:
            password = self.settings.password.get_secret_value() if self.settings.password is not None else None
            client.username_pw_set(self.settings.username, password)
        if self.settings.tls:
            client.tls_set()
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    # paho's network thread ----------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            logger.error("MQTT connection refused", extra={"reason": str(reason), "host": self.settings.host})
            return
        self._connection += 1
        logger.info(
            "MQTT connected",
            extra={"host": self.settings.host, "port": self.settings.port, "session_present": flags.session_present},
        )
        # Subscribing again on every connection: harmless with a kept session, needed without one.
        client.subscribe(self.settings.topic_filter, qos=QOS_AT_LEAST_ONCE)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        logger.warning(
            "cannot reach the MQTT broker; retrying", extra={"host": self.settings.host, "port": self.settings.port}
        )

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        if any(code.is_failure for code in reasons):
            logger.error("MQTT subscription refused", extra={"topic_filter": self.settings.topic_filter})
            return
        self._subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not self._stopping.is_set():
            logger.warning("MQTT connection lost; reconnecting", extra={"reason": str(reason)})

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        self._incoming.put(MqttMessage(self._connection, message.mid, message.qos, message.topic, payload))

    # the bridge's thread ------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to return (from a signal handler or another thread)."""
        self._stopping.set()

    def run(self) -> BridgeStats:
        """Connect, then forward batches until :meth:`stop`; unacked messages are left to the MQTT broker.

        Raises:
            ServiceUnavailableError: Kafka cannot be reached at start.
        """
        producer = EventProducer(
            self._bootstrap_servers, self._topic_prefix, client_id="synopse-mqtt-bridge", **self._producer_options
        )
        dead_letters = self._dead_letter_producer()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.settings.session_expiry_s
        self._client.connect_async(
            self.settings.host, self.settings.port, keepalive=KEEPALIVE_S, clean_start=False, properties=properties
        )
        self._client.loop_start()
        logger.info("MQTT bridge started", extra={"topic_filter": self.settings.topic_filter})
        try:
            while not self._stopping.is_set():
                batch = self._take_batch()
                if batch:
                    self._forward(batch, producer, dead_letters)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
            # Bounded: with Kafka away, what is still queued is dropped; its MQTT messages were not acked.
            for close in (lambda: producer.close(self._flush_timeout_s),
                          lambda: dead_letters.close(timeout=self._flush_timeout_s)):
                try:
                    close()
                except Exception as exc:  # KafkaTimeoutError: Kafka is away; nothing acked depends on it
                    logger.warning("Kafka producer closed with messages unsent", extra={"error": str(exc)})
            logger.info("MQTT bridge stopped", extra={"messages": self.stats.messages, "acked": self.stats.acked})
        return self.stats

    def _dead_letter_producer(self) -> KafkaProducer:
        # EventProducer sends envelopes; dead letters need headers, so they get a plain producer of their own.
        try:
            return KafkaProducer(
                bootstrap_servers=self._bootstrap_servers.split(","), client_id="synopse-mqtt-bridge-dlq", acks="all",
                **self._producer_options,
            )
        except Exception as exc:  # NoBrokersAvailable and friends
            raise ServiceUnavailableError(f"cannot connect to Kafka at {self._bootstrap_servers}: {exc}") from exc

    def _take_batch(self) -> list[MqttMessage]:
        try:
            first = self._incoming.get(timeout=self._within_s)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self._within_s
        while len(batch) < self._batch_max:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._incoming.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _forward(self, batch: Sequence[MqttMessage], producer: EventProducer, dead_letters: KafkaProducer) -> None:
        events = []
        letters: list[DeadLetter] = []
        now = datetime.now(UTC)
        dlq_topic = self._topic_prefix + ENVIRONMENT.dead_letter
        for message in batch:
            decoded = decode_sensor_payload(message.payload)
            events.extend(decoded.events)
            source = SourcePosition(self._source_name(message.topic), _NO_POSITION, _NO_POSITION, None)
            letters.extend(
                build_dead_letter(rejected, source=source, dead_letter_topic=dlq_topic, now=now)
                for rejected in decoded.rejected
            )
        attempt = 0
        while True:
            try:
                self._send(events, letters, producer, dead_letters)
                break
            except ServiceUnavailableError as exc:
                attempt += 1
                self.stats.send_retries += 1
                delay = min(SEND_RETRY_MAX_S, SEND_RETRY_MIN_S * 2 ** (attempt - 1))
                logger.warning(
                    "Kafka did not confirm a batch; its MQTT messages stay unacknowledged, retrying",
                    extra={"messages": len(batch), "attempt": attempt, "retry_in_s": delay, "error": str(exc)},
                )
                if self._stopping.wait(delay):
                    return  # stopping: the MQTT broker redelivers the batch to the next bridge
        for message in batch:
            # An ack on a later connection would name another message: the broker redelivers this one there.
            current = message.connection == self._connection and message.qos > 0
            if current and self._client.ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS:
                self.stats.acked += 1
        self.stats.messages += len(batch)
        self.stats.observations += len(events)
        self.stats.dead_lettered += len(letters)
        self.stats.last_batch_at = now
        if letters:
            logger.warning(
                "dead-lettered %d invalid sensor payloads or observations",
                len(letters),
                extra={"dead_letter_topic": dlq_topic, "reason": letters[0].header("synopse.dlq.error")},
            )

    def _send(
        self, events: list[Any], letters: list[DeadLetter], producer: EventProducer, dead_letters: KafkaProducer
    ) -> None:
        """Send events and dead letters; returns once Kafka has confirmed all of them."""
        futures = [
            dead_letters.send(letter.topic, key=letter.key, value=letter.value, headers=list(letter.headers))
            for letter in letters
        ]
        if events:
            try:
                producer.send(events)
            except Exception as exc:  # KafkaTimeoutError while the broker's metadata cannot be fetched
                raise ServiceUnavailableError(f"observations not sent: {exc}") from exc
        producer.flush(self._flush_timeout_s)
        try:
            dead_letters.flush(timeout=self._flush_timeout_s)
        except Exception as exc:  # KafkaTimeoutError
            raise ServiceUnavailableError(f"dead letters not confirmed: {exc}") from exc
        failed = [future for future in futures if not future.succeeded()]
        if failed:
            raise ServiceUnavailableError(f"{len(failed)} dead letters not acknowledged: {failed[0].exception!r}")

    def _source_name(self, topic: str) -> str:
        return f"mqtt://{self.settings.host}:{self.settings.port}/{topic}"


def run_bridge(settings: MqttSettings, *, bootstrap_servers: str, topic_prefix: str) -> BridgeStats:
    """Run the bridge in this process until SIGTERM or SIGINT (then it stops after its current batch)."""
    import signal

    bridge = MqttBridge(settings, bootstrap_servers=bootstrap_servers, topic_prefix=topic_prefix)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: bridge.stop())
    try:
        return bridge.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
