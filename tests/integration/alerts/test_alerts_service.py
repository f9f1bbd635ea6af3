"""The alerts service as a process: crash between queueing and delivery, restart between firing and resolution."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cap_tools.models import Alert as CapAlert
from kafka import KafkaConsumer
from xsdata.formats.dataclass.parsers import XmlParser

from synopse.db import alert_delivery as outbox
from tests.integration.alerts.alerts_support import Receiver, Service, make_service, set_beds, wait_for

pytestmark = pytest.mark.integration

HMAC_KEY = "test-hmac-key"  # a webhook's per-subscriber key

RULES = """
version: 1
rules:
  - id: occ
    name: Occupation des lits
    kind: threshold
    indicator: occupancy_rate
    scope: {level: facility}
    levels: [{severity: critical, enter: 0.95, exit: 0.90}]
    keep_firing_for: 0s
"""


@pytest.fixture
def service(pg_dsn: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Iterator[Service]:
    svc = make_service(pg_dsn, kafka_bootstrap, topic_prefix, tmp_path, RULES)
    yield svc
    if svc.process is not None and svc.process.poll() is None:
        svc.kill(signal.SIGTERM)


def webhook_rows(conn: psycopg.Connection[Any]) -> list[tuple[str, str, int]]:
    return [(str(r[0]), r[1], r[2]) for r in conn.execute(
        "SELECT notification_id, status, attempts FROM alert_notifications WHERE subscriber_id = 'hook'"
        " ORDER BY created_at")]


def test_kill_9_between_queueing_and_delivery_loses_nothing(service: Service, pg_dsn: str,
                                                            kafka_bootstrap: str, topic_prefix: str) -> None:
    with Receiver(hang=True) as receiver, psycopg.connect(pg_dsn, autocommit=True) as conn:
        outbox.upsert_subscriber(conn, "hook", name="hook", kind="webhook", target=receiver.url, secret=HMAC_KEY)
        service.start()
        now = datetime.now(UTC)
        for facility in ("hp-confluent", "sante-atlantique", "clinique-jules-verne"):
            set_beds(conn, facility, "medicine", 99, 100, now)
        # Queued, and the first attempts in flight to a receiver that does not answer yet.
        wait_for(lambda: len(webhook_rows(conn)) == 3 and all(a >= 1 for _, _, a in webhook_rows(conn)), 30,
                 "three notifications queued and attempted")
        service.kill()  # kill -9: no chance to clean up
        assert all(status != "delivered" for _, status, _ in webhook_rows(conn))
        receiver.hang = False
        service.start()
        wait_for(lambda: all(status == "delivered" for _, status, _ in webhook_rows(conn)), 60,
                 "every queued notification delivered after the restart")
        ids = {n for n, _, _ in webhook_rows(conn)}
        answered = {r.headers["Idempotency-Key"] for r in receiver.requests}
    assert len(ids) == 3 and ids <= answered
    consumer = KafkaConsumer(topic_prefix + "synopse.alerts.v1", bootstrap_servers=kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000, group_id=None)
    try:
        kafka_events = []
        for message in consumer:
            kafka_events.append(json.loads(message.value))
            if len(kafka_events) == 3:
                break
    finally:
        consumer.close()
    assert sorted(e["scope_key"] for e in kafka_events) == [
        "facility:clinique-jules-verne", "facility:hp-confluent", "facility:sante-atlantique"]
    assert {e["event"] for e in kafka_events} == {"firing"}


def test_firing_then_restart_then_resolve_sends_the_resolved_notice(service: Service, pg_dsn: str) -> None:
    with Receiver() as receiver, psycopg.connect(pg_dsn, autocommit=True) as conn:
        outbox.upsert_subscriber(conn, "hook", name="hook", kind="webhook", target=receiver.url, secret=HMAC_KEY)
        service.start()
        set_beds(conn, "hp-confluent", "icu", 16, 16, datetime.now(UTC))
        wait_for(lambda: receiver.requests, 30, "the firing notice")
        firing = json.loads(receiver.requests[0].body)
        # The CAP feed lists it, and its CAP document parses with a third-party CAP library.
        feed = service.get("/cap/feed.atom").decode()
        assert "application/cap+xml" in feed
        cap = XmlParser().from_bytes(service.get(f"/cap/alerts/{firing['synopse']['alert_id']}.xml"), CapAlert)
        assert cap.infos[0].areas[0].area_desc == "Hôpital Privé du Confluent"
        service.kill(signal.SIGTERM)
        set_beds(conn, "hp-confluent", "icu", 8, 16, datetime.now(UTC))  # back to normal while it is down
        service.start()
        wait_for(lambda: len(receiver.requests) >= 2, 30, "the resolved notice after the restart")
        time.sleep(0.5)
        resolved = json.loads(receiver.requests[1].body)
    assert firing["status"] == "firing" and resolved["status"] == "resolved"
    assert resolved["synopse"]["alert_id"] == firing["synopse"]["alert_id"]
    assert resolved["alerts"][0]["fingerprint"] == firing["alerts"][0]["fingerprint"]
    assert len(receiver.requests) == 2
