"""The MQTT bridge between a real Mosquitto and a real Kafka-compatible broker: forward, dead-letter, lose nothing."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from streams.mqtt_bridge import MqttBridge
from streams.replay import ensure_topics
from synopse.config import MqttSettings
from synopse.domain.codec import decode_message, encode_batch, encode_event
from synopse.domain.codes import Indicator
from synopse.domain.topics import DLQ_HEADER_ERROR, DLQ_HEADER_TOPIC, ENVIRONMENT
from synopse.runtime.broker import EmbeddedBroker
from synopse.runtime.ports import find_free_port
from tests.integration.streams.streams_support import observations, read_topic, wait_until
from tests.integration.streams_inputs.conftest import MqttBroker

pytestmark = pytest.mark.integration

# Enough for a subscription or a forwarded batch on a loaded machine; the bridge batches within 0.1 s.
WAIT_S = 30.0
# Short Kafka timeouts, so that the "Kafka is down" test retries within seconds.
FAST_KAFKA = {"request_timeout_ms": 3000, "max_block_ms": 3000}


def mqtt_settings(broker: MqttBroker, base: str, client_id: str) -> MqttSettings:
    # One minute of session: enough for the redelivery test, then the broker forgets it.
    return MqttSettings(host=broker.host, port=broker.port, topic_filter=f"{base}/#", client_id=client_id,
                        session_expiry_s=60)


@contextmanager
def running(bridge: MqttBridge) -> Iterator[MqttBridge]:
    thread = threading.Thread(target=bridge.run, daemon=True)
    thread.start()
    try:
        assert bridge.subscribed.wait(WAIT_S), "the bridge did not subscribe"
        yield bridge
    finally:
        bridge.stop()
        thread.join(WAIT_S)
        assert not thread.is_alive(), "the bridge did not stop"


def publish(broker: MqttBroker, topic: str, payloads: list[bytes]) -> None:
    """Publish with QoS 1 and wait for the broker's acknowledgements."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(WAIT_S)
    finally:
        client.disconnect()
        client.loop_stop()


def environment_events(bootstrap: str, topic: str, expected: int) -> list:  # type: ignore[type-arg]
    events: list = []  # type: ignore[type-arg]

    def enough() -> bool:
        events.clear()
        try:
            records = read_topic(bootstrap, topic, expected=expected, timeout_s=2)
        except AssertionError:  # the topic does not exist yet: the bridge's first send creates it
            return False
        for record in records:
            events.extend(decode_message(ENVIRONMENT, record.value).events)
        return len(events) >= expected

    wait_until(enough, timeout_s=WAIT_S, what=f"{expected} observations on {topic}")
    return events


def test_payloads_are_forwarded_and_bad_ones_dead_lettered(
    mqtt_broker: MqttBroker, kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic, dlq = topic_prefix + ENVIRONMENT.name, topic_prefix + ENVIRONMENT.dead_letter
    ensure_topics(kafka_bootstrap, [topic, dlq], partitions=2, replication_factor=1)
    base = f"synopse-test/{uuid.uuid4().hex[:10]}/env"
    single, batch = observations(1, station="FR23188"), observations(3, station="FR23251")
    listed = observations(2, station="FR23107")
    reading = {"station": "FR23239", "time": "2024-01-15T09:00:00+01:00", "pm10": 31.5, "no2": 44}
    payloads = [encode_event(single[0]), encode_batch(batch), json.dumps([json.loads(encode_event(o)) for o in listed]
                                                                         ).encode(),
                json.dumps(reading).encode(), b"{not json", b'{"station": "FR23239", "time": "2024-01-15T08:00:00", '
                                                             b'"pm10": 12}']
    bridge = MqttBridge(mqtt_settings(mqtt_broker, base, f"bridge-{uuid.uuid4().hex[:8]}"),
                        bootstrap_servers=kafka_bootstrap, topic_prefix=topic_prefix, batch_within_s=0.1)
    with running(bridge):
        publish(mqtt_broker, f"{base}/FR23188", payloads)
        events = environment_events(kafka_bootstrap, topic, expected=8)
        wait_until(lambda: bridge.stats.acked == len(payloads), timeout_s=WAIT_S, what="every message acked")
    assert sorted(events, key=lambda e: (e.station_id, e.observed_at, e.indicator)) == sorted(
        [*single, *batch, *listed, *[e for e in events if e.station_id == "FR23239"]],
        key=lambda e: (e.station_id, e.observed_at, e.indicator))
    assert {(e.indicator, e.value) for e in events if e.station_id == "FR23239"} == {(Indicator.PM10, 31.5),
                                                                                     (Indicator.NO2, 44.0)}
    letters = read_topic(kafka_bootstrap, dlq, expected=2)
    assert sorted(r.value for r in letters) == sorted(payloads[4:])  # the original bytes
    reasons = {dict(r.headers)[DLQ_HEADER_ERROR].decode() for r in letters}
    assert any(reason.startswith("not UTF-8 JSON") for reason in reasons)
    assert any("reading: time: Input should have timezone info" in reason for reason in reasons)
    assert {dict(r.headers)[DLQ_HEADER_TOPIC].decode() for r in letters} == {
        f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}/{base}/FR23188"}
    assert bridge.stats.dead_lettered == 2 and bridge.stats.observations == 8


def test_nothing_is_lost_while_kafka_is_down(
    mqtt_broker: MqttBroker, tmp_path: Path, topic_prefix: str
) -> None:
    """Unconfirmed by Kafka means unacknowledged in MQTT: the next bridge gets the message again."""
    port = find_free_port()
    base = f"synopse-test/{uuid.uuid4().hex[:10]}/env"
    settings = mqtt_settings(mqtt_broker, base, f"bridge-{uuid.uuid4().hex[:8]}")  # one id: one kept session
    topic = topic_prefix + ENVIRONMENT.name
    first, second = observations(1, station="FR23188"), observations(1, station="FR23238")

    kafka = EmbeddedBroker(port=port, log_path=tmp_path / "tansu-1.log")
    kafka.start()
    try:
        bridge = MqttBridge(settings, bootstrap_servers=kafka.bootstrap_servers, topic_prefix=topic_prefix,
                            batch_within_s=0.1, flush_timeout_s=2, producer_options=FAST_KAFKA)
        with running(bridge):
            publish(mqtt_broker, f"{base}/a", [encode_event(first[0])])
            assert environment_events(kafka.bootstrap_servers, topic, expected=1) == first
            wait_until(lambda: bridge.stats.acked == 1, timeout_s=WAIT_S, what="the first message acked")
            kafka.stop()  # Kafka goes away (in memory: its topics with it)
            publish(mqtt_broker, f"{base}/b", [encode_event(second[0])])
            wait_until(lambda: bridge.stats.send_retries >= 1, timeout_s=WAIT_S, what="a failed send")
            assert bridge.stats.acked == 1  # the second message is held, not acknowledged
    finally:
        kafka.stop()

    kafka = EmbeddedBroker(port=port, log_path=tmp_path / "tansu-2.log")
    kafka.start()
    try:
        bridge = MqttBridge(settings, bootstrap_servers=kafka.bootstrap_servers, topic_prefix=topic_prefix,
                            batch_within_s=0.1, producer_options=FAST_KAFKA)
        with running(bridge):
            # Mosquitto redelivers the unacknowledged message to the same client id, and only that one.
            assert environment_events(kafka.bootstrap_servers, topic, expected=1) == second
            wait_until(lambda: bridge.stats.acked == 1, timeout_s=WAIT_S, what="the redelivered message acked")
            time.sleep(0.5)
            assert bridge.stats.messages == 1
    finally:
        kafka.stop()
