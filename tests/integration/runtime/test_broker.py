"""The embedded Tansu broker: starts, answers Kafka clients, keeps headers, stops without leftovers."""

import asyncio
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from synopse.runtime.broker import CLIENT_GROUP_TIMEOUTS, EmbeddedBroker
from synopse.runtime.ports import PortInUseError

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(free_port, tmp_path):
    with EmbeddedBroker(free_port, log_path=tmp_path / "broker.log") as running:
        yield running


async def _consume_one(bootstrap: str, topic: str):
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        session_timeout_ms=int(CLIENT_GROUP_TIMEOUTS.session_s * 1000),
        heartbeat_interval_ms=int(CLIENT_GROUP_TIMEOUTS.heartbeat_interval_s * 1000),
        rebalance_timeout_ms=int(CLIENT_GROUP_TIMEOUTS.rebalance_s * 1000),
    )
    await consumer.start()
    try:
        return await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()


def test_round_trip_with_explicit_partitions_and_headers(broker, wait_gone):
    topic = f"test.roundtrip.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        admin.close()
    headers = [("dlq.error", b"schema mismatch"), ("dlq.offset", b"42")]
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    try:
        producer.send(topic, key=b"facility-1", value=b"payload", headers=headers).get(timeout=10)
    finally:
        producer.close()

    started = time.monotonic()
    message = asyncio.run(_consume_one(broker.bootstrap_servers, topic))
    joined_s = time.monotonic() - started

    assert (message.key, message.value) == (b"facility-1", b"payload")
    assert list(message.headers) == headers
    assert joined_s < 15, f"group join took {joined_s:.1f} s with CLIENT_GROUP_TIMEOUTS"
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
    try:
        assert consumer.partitions_for_topic(topic) == {0, 1, 2}
        # Stop while a client is still connected: Tansu must not wait for it to leave.
        pid = broker.pid
        started = time.monotonic()
        broker.stop()
        assert time.monotonic() - started < 2
    finally:
        consumer.close()
    assert wait_gone([pid]) == []
    assert broker.pid is None


def test_topics_are_auto_created_on_first_produce(broker):
    topic = f"test.auto.{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    try:
        metadata = producer.send(topic, value=b"x").get(timeout=10)
    finally:
        producer.close()
    assert metadata.offset == 0
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
    try:
        assert topic in consumer.topics()
    finally:
        consumer.close()


def test_a_taken_port_fails_before_spawning(free_port):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port))
        sock.listen()
        broker = EmbeddedBroker(free_port)
        with pytest.raises(PortInUseError, match="SYNOPSE_RUNTIME__BROKER_PORT"):
            broker.start()
        assert broker.pid is None


def test_the_broker_dies_with_its_parent(free_port, wait_gone):
    script = textwrap.dedent(f"""
        import time
        from synopse.runtime.broker import EmbeddedBroker
        broker = EmbeddedBroker({free_port})
        broker.start()
        print(broker.pid, flush=True)
        time.sleep(120)
    """)
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        broker_pid = int(parent.stdout.readline())
    finally:
        parent.kill()  # SIGKILL: no cleanup code of the parent runs
        parent.wait()
    assert wait_gone([broker_pid]) == []
