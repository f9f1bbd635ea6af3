"""Live path: a bed snapshot crossing a threshold enters Kafka; the webhook receiver gets the alert, then its end."""

from __future__ import annotations

import json
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from synopse.db import alert_delivery as outbox
from synopse.db.connection import connect
from synopse.domain.codes import CareUnit
from synopse.domain.events import BedSnapshot
from synopse.producer import EventProducer
from synopse.runtime.ports import find_free_port
from tests.integration.alerts.alerts_support import Receiver, make_service, wait_for
from tests.integration.streams.streams_support import WorkerProcess

pytestmark = pytest.mark.integration

RULES = """
version: 1
rules:
  - id: icu
    name: Réanimation pleine
    kind: threshold
    indicator: occupancy_rate
    scope: {level: facility}
    filters: {care_unit: icu}
    levels: [{severity: critical, enter: 0.95, exit: 0.90}]
    keep_firing_for: 0s
"""


def snapshot(occupied: int) -> BedSnapshot:
    return BedSnapshot(event_id=uuid.uuid4(), facility_id="hp-confluent", care_unit=CareUnit.ICU,
                       observed_at=datetime.now(UTC), beds_total=16, beds_occupied=occupied)


def test_an_event_crossing_a_threshold_reaches_the_webhook(
    pg_dsn: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    worker = WorkerProcess.configure(bootstrap=kafka_bootstrap, dsn=pg_dsn, prefix=topic_prefix,
                                     app_id=f"g-{topic_prefix}", web_port=find_free_port(), home=tmp_path)
    service = make_service(pg_dsn, kafka_bootstrap, topic_prefix, tmp_path, RULES)
    with Receiver() as receiver, connect(pg_dsn) as conn, EventProducer(kafka_bootstrap, topic_prefix) as producer:
        outbox.upsert_subscriber(conn, "hook", name="hook", kind="webhook", target=receiver.url)
        conn.commit()
        worker.start()
        service.start()
        try:
            producer.send([snapshot(16)])
            producer.flush()
            wait_for(lambda: receiver.requests, 60, "the firing notice")
            producer.send([snapshot(9)])
            producer.flush()
            wait_for(lambda: len(receiver.requests) >= 2, 60, "the resolved notice")
        finally:
            service.kill(signal.SIGTERM)
            worker.stop()
    firing, resolved = (json.loads(r.body) for r in receiver.requests[:2])
    assert (firing["status"], resolved["status"]) == ("firing", "resolved")
    assert firing["alerts"][0]["labels"]["scope_id"] == "hp-confluent"
    assert firing["alerts"][0]["annotations"]["beds_occupied"] == "16"
