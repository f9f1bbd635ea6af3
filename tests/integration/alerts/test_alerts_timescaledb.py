"""On TimescaleDB (hypertables, continuous aggregates) the alert migrations apply and a cycle reads the aggregates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from alerts.engine import Evaluator, load_rules
from alerts.rulefile import sync_rules
from synopse.config import TimescaleMode
from synopse.db import alert_delivery as outbox
from synopse.db import alerts as db
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.domain.alerts import parse_rule_set
from tests.services.timescaledb import TimescaleServer

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")

RULES = """
version: 1
rules:
  - {id: gastro, name: Gastro, kind: aberration, algorithm: ears_c1, scope: {level: metropolis},
     filters: {reason: gastroenteritis}}
  - {id: ed, name: ED, kind: threshold, indicator: ed_visits_hourly, scope: {level: facility},
     levels: [{severity: warning, enter: 5}]}
"""


def test_a_cycle_on_timescaledb(timescaledb_server: TimescaleServer, schema: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with timescaledb_server.connect(schema) as conn:
        report = migrate(conn, timescale=TimescaleMode.REQUIRE)
        assert report.timescaledb and "0024_alert_live_data.sql" in report.applied
        conn.autocommit = False
        seed_territory(conn)
        sync_rules(conn, parse_rule_set(yaml.safe_load(RULES)), actor="test")
        outbox.upsert_subscriber(conn, "crisis", name="crisis", kind="webhook", target="http://x")
        # Noon of each civil day in Paris (the rule counts Paris days: at 23:30 UTC, Paris is already tomorrow).
        today = now.astimezone(PARIS).replace(hour=12, minute=0, second=0)
        for back in range(1, 9):
            count = 30 if back == 1 else 4 + back % 2
            for i in range(count):
                conn.execute("INSERT INTO emergency_visits (event_id, arrived_at, facility_id, age_band, reason)"
                             " VALUES (%s, %s, 'hp-confluent', '15-74', 'gastroenteritis')",
                             (uuid.uuid4(), today - timedelta(days=back, minutes=i)))
        hour = now.replace(minute=0, second=0)  # six visits in the current hour, whatever the minute
        for i in range(6):
            conn.execute("INSERT INTO emergency_visits (event_id, arrived_at, facility_id, age_band, reason)"
                         " VALUES (%s, %s, 'hp-confluent', '15-74', 'trauma')",
                         (uuid.uuid4(), hour + timedelta(seconds=i)))
        conn.execute("INSERT INTO source_freshness VALUES ('synopse.emergency_visits.v1', 'hp-confluent', %s, %s, 1)",
                     (now, now))
        conn.commit()
        Evaluator(external_url="http://synopse").evaluate(conn, load_rules(conn), now=now)
        conn.commit()
        firing = {(a.rule_id, a.scope_key, a.status) for a in db.open_alerts(conn)}
        queued = len(outbox.ledger(conn))
    assert firing == {("gastro", "metropolis:nantes-metropole", "firing"), ("ed", "facility:hp-confluent", "firing")}
    assert queued == 2
