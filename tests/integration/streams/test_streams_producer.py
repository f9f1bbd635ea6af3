"""The shared event producer against a real broker: envelopes, keys, order, a missing or vanished broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streams.worker import ensure_topics
from synopse.config import Settings
from synopse.domain.codec import decode_message
from synopse.domain.topics import ADMISSIONS, ENVIRONMENT
from synopse.errors import ServiceUnavailableError
from synopse.producer import EventProducer
from synopse.runtime.broker import EmbeddedBroker
from synopse.runtime.ports import find_free_port
from tests.integration.streams.streams_support import admissions, observations, read_topic

pytestmark = pytest.mark.integration


def test_events_travel_as_keyed_envelopes_in_order(kafka_bootstrap: str, topic_prefix: str) -> None:
    settings = Settings(kafka={"bootstrap_servers": kafka_bootstrap, "topic_prefix": topic_prefix})
    asyncio.run(ensure_topics(settings))
    station = observations(7, station="FR23188")
    other = observations(2, station="FR23251")
    admitted = admissions(3)
    with EventProducer(kafka_bootstrap, topic_prefix, chunk_events=3) as producer:
        assert producer.send([*station, *admitted, *other]) == 3 + 2 + 1
        producer.flush()

    records = read_topic(kafka_bootstrap, topic_prefix + ENVIRONMENT.name, expected=4)
    by_key: dict[bytes, list[object]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_key.setdefault(record.key, []).extend(decode_message(ENVIRONMENT, record.value).events)
    assert by_key == {b"FR23188": station, b"FR23251": other}
    assert len({r.partition for r in records if r.key == b"FR23188"}) == 1  # one key, one partition: order kept

    records = read_topic(kafka_bootstrap, topic_prefix + ADMISSIONS.name, expected=2)
    assert sorted(r.key for r in records) == [b"chu-nantes-hotel-dieu", b"hp-confluent"]


def test_no_broker_is_a_service_error() -> None:
    with pytest.raises(ServiceUnavailableError, match="cannot connect to Kafka"):
        EventProducer(f"127.0.0.1:{find_free_port()}", request_timeout_ms=2000, api_version_auto_timeout_ms=2000)


# kafka-python 2.3's close() flushes first and, when that times out, leaves the client open: its __del__
# then times out again at garbage collection, which pytest reports as an unraisable exception.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_closing_with_messages_kafka_never_confirmed_is_a_service_error(tmp_path: Path, topic_prefix: str) -> None:
    """Kafka gone before the queue is confirmed: a message that says so, not kafka-python's bare timeout."""
    broker = EmbeddedBroker(port=find_free_port(), log_path=tmp_path / "tansu.log")
    broker.start()
    try:
        settings = Settings(kafka={"bootstrap_servers": broker.bootstrap_servers, "topic_prefix": topic_prefix})
        asyncio.run(ensure_topics(settings))
        producer = EventProducer(broker.bootstrap_servers, topic_prefix)
        producer.send(observations(1, station="FR23188"))
        producer.flush()  # connected, metadata known
    finally:
        broker.stop()
    producer.send(observations(1, station="FR23238"))
    with pytest.raises(ServiceUnavailableError, match="did not confirm the queued messages within 1 s while closing"):
        producer.close(timeout_s=1)
