"""A Kafka client nobody here wrote (Debian's kcat) produces to Synopse's topics; the domain decodes it.

Contract topics carry JSON events or envelopes; the raw HL7 topic carries ER7 text, one message per
Kafka message (kcat sends one per line; HL7 segments are separated by CR, so a line is one message).
kcat reaches an embedded broker of its own through :mod:`kcat_shim` (see there why), and so does every
other client of these tests.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from streams.formats.hl7v2 import decode_hl7v2
from streams.replay import ensure_topics
from synopse.domain.codec import decode_message, encode_batch, encode_event
from synopse.domain.topics import ADMISSIONS, ENVIRONMENT, HL7V2_ADT
from synopse.producer import EventProducer
from synopse.runtime.broker import tansu_binary
from synopse.runtime.ports import find_free_port
from tests.integration.streams.streams_support import admissions, observations, read_topic
from tests.integration.streams_inputs.kcat_shim import KcatRelay

pytestmark = pytest.mark.integration

FEED = Path(__file__).resolve().parents[2] / "fixtures" / "streams_inputs" / "hl7" / "adt_feed_one_stay.hl7"
KEY = b"integration-test-key-0123456789abcdef"
# kcat exits once everything is delivered; 60 s is for a loaded CI machine.
KCAT_TIMEOUT_S = 60
# The broker answers metadata within milliseconds of starting; 30 s is for a loaded CI machine.
BROKER_START_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def kcat_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An embedded broker advertised at a relay that kcat's librdkafka can talk to: the relay's address."""
    port, relay_port = find_free_port(), find_free_port()
    log = (tmp_path_factory.mktemp("kcat") / "tansu.log").open("wb")
    broker = subprocess.Popen(
        [str(tansu_binary()), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{relay_port}"], stdout=log, stderr=log)
    try:
        with KcatRelay(relay_port, ("127.0.0.1", port)) as relay:
            deadline = time.monotonic() + BROKER_START_TIMEOUT_S
            while True:
                try:
                    KafkaConsumer(bootstrap_servers=relay.bootstrap, request_timeout_ms=2000).close()
                    break
                except Exception:
                    if broker.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield relay.bootstrap
    finally:
        broker.terminate()
        broker.wait(10)
        log.close()


def kcat_produce(kcat: str, bootstrap: str, topic: str, lines: list[bytes], *, keyed: bool) -> None:
    command = [kcat, "-P", "-b", bootstrap, "-t", topic, "-X", "acks=all"] + (["-K", "\t"] if keyed else [])
    result = subprocess.run(command, input=b"\n".join(lines) + b"\n", capture_output=True, timeout=KCAT_TIMEOUT_S)
    assert result.returncode == 0, result.stderr.decode(errors="replace")


def test_kcat_produces_events_and_envelopes_that_decode(kcat: str, kcat_bootstrap: str, topic_prefix: str) -> None:
    ensure_topics(kcat_bootstrap, [topic_prefix + ENVIRONMENT.name, topic_prefix + ADMISSIONS.name],
                  partitions=3, replication_factor=1)
    readings = observations(5, station="FR23107")
    admitted = admissions(4)
    env_lines = [b"FR23107\t" + encode_event(r) for r in readings[:3]] + [b"FR23107\t" + encode_batch(readings[3:])]
    adm_lines = [e.facility_id.encode() + b"\t" + encode_event(e) for e in admitted]
    kcat_produce(kcat, kcat_bootstrap, topic_prefix + ENVIRONMENT.name, env_lines, keyed=True)
    kcat_produce(kcat, kcat_bootstrap, topic_prefix + ADMISSIONS.name, adm_lines, keyed=True)

    records = read_topic(kcat_bootstrap, topic_prefix + ENVIRONMENT.name, expected=4)
    decoded = [e for r in sorted(records, key=lambda r: r.offset) for e in decode_message(ENVIRONMENT, r.value).events]
    assert decoded == readings
    assert {r.key for r in records} == {b"FR23107"}
    records = read_topic(kcat_bootstrap, topic_prefix + ADMISSIONS.name, expected=4)
    stored = [e for r in records for e in decode_message(ADMISSIONS, r.value).events]
    assert sorted(stored, key=lambda e: e.admitted_at) == sorted(admitted, key=lambda e: e.admitted_at)


def test_kcat_produces_hl7_messages_that_map_to_admissions(kcat: str, kcat_bootstrap: str, topic_prefix: str) -> None:
    topic = topic_prefix + HL7V2_ADT.name
    lines = [line for line in FEED.read_bytes().split(b"\n") if line]  # one message per line; CR inside
    kcat_produce(kcat, kcat_bootstrap, topic, [b"chu-nantes-hotel-dieu\t" + line for line in lines], keyed=True)
    records = sorted(read_topic(kcat_bootstrap, topic, expected=len(lines)), key=lambda r: r.offset)
    assert len(records) == len(lines) == 6
    events = [e for r in records for e in decode_hl7v2(r.value, KEY).events]
    assert len(events) == 6 and len({e.event_id for e in events}) == 1  # one stay, updated six times
    assert events[-1].discharged_at is not None


def test_kcat_consumes_what_synopse_produces(kcat: str, kcat_bootstrap: str, topic_prefix: str) -> None:
    topic = topic_prefix + ENVIRONMENT.name
    ensure_topics(kcat_bootstrap, [topic], partitions=1, replication_factor=1)
    readings = observations(7, station=f"kc{uuid.uuid4().hex[:6]}")
    with EventProducer(kcat_bootstrap, topic_prefix, chunk_events=3) as producer:
        producer.send(readings)
        producer.flush()
    result = subprocess.run([kcat, "-C", "-b", kcat_bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                             "-f", "%k\t%s\n"], capture_output=True, timeout=KCAT_TIMEOUT_S)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    lines = [line for line in result.stdout.splitlines() if line]
    assert len(lines) == 3  # envelopes of 3, 3 and 1
    events = []
    for line in lines:
        key, value = line.split(b"\t", 1)
        assert key.decode() == readings[0].station_id
        assert "events" in json.loads(value)
        events.extend(decode_message(ENVIRONMENT, value).events)
    assert events == readings
