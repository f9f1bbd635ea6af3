"""The evaluator against a real PostgreSQL: lifecycle, durability across restarts, scope, privacy, audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from alerts.engine import Evaluator, load_rules
from alerts.rulefile import default_rules_path, read_rule_file, sync_rules
from synopse.db import access
from synopse.db import alert_delivery as outbox
from synopse.db import alerts as db
from synopse.domain.access import ShareKind
from tests.integration.alerts.alerts_support import load_rules_text, set_beds

pytestmark = pytest.mark.integration

HMAC_KEY = "test-hmac-key"  # a webhook's per-subscriber key

T0 = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)

OCCUPANCY = """
version: 1
rules:
  - id: occ
    name: Occupation
    kind: threshold
    indicator: occupancy_rate
    scope: {level: facility}
    levels:
      - {severity: warning, enter: 0.85, exit: 0.82}
      - {severity: critical, enter: 0.95, exit: 0.92}
    for: 2m
    keep_firing_for: 10m
"""


@pytest.fixture
def conn(pg_dsn: str) -> Any:
    with psycopg.connect(pg_dsn) as connection:
        outbox.upsert_subscriber(connection, "crisis", name="Cellule de crise", kind="webhook",
                                 target="http://127.0.0.1:9/x", secret=HMAC_KEY)
        connection.commit()
        yield connection


def cycle(conn: psycopg.Connection[Any], evaluator: Evaluator, at: datetime) -> Any:
    report = evaluator.evaluate(conn, load_rules(conn), now=at)
    conn.commit()
    return report


def events(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT a.scope_key, e.kind FROM alert_events e JOIN alerts a USING (alert_id) ORDER BY e.event_id")]


def test_a_value_hovering_at_the_line_for_an_hour_gives_one_alert(conn: psycopg.Connection[Any]) -> None:
    load_rules_text(conn, OCCUPANCY)
    evaluator = Evaluator(external_url="http://synopse")
    for minute in range(61):
        occupied = 86 if minute % 2 == 0 else 84  # 0.86 / 0.84 around the 0.85 line, every minute
        set_beds(conn, "hp-confluent", "medicine", occupied, 100, T0 + timedelta(minutes=minute))
        cycle(conn, evaluator, T0 + timedelta(minutes=minute))
    assert events(conn) == [("facility:hp-confluent", "firing")]
    notifications = outbox.ledger(conn)
    assert [(n.subscriber_id, n.event_kind) for n in notifications] == [("crisis", "firing")]
    assert notifications[0].payload["alerts"][0]["labels"]["severity"] == "warning"


def test_firing_survives_a_restart_and_its_resolved_notice_is_queued(conn: psycopg.Connection[Any]) -> None:
    load_rules_text(conn, OCCUPANCY)
    set_beds(conn, "hp-confluent", "medicine", 97, 100, T0)
    first = Evaluator(external_url="http://synopse")
    cycle(conn, first, T0)
    cycle(conn, first, T0 + timedelta(minutes=2))
    assert [a.status for a in db.open_alerts(conn)] == ["firing"]
    # A restart: a new evaluator with no memory, only the database.
    second = Evaluator(external_url="http://synopse")
    set_beds(conn, "hp-confluent", "medicine", 50, 100, T0 + timedelta(minutes=3))
    cycle(conn, second, T0 + timedelta(minutes=3))
    assert [a.status for a in db.open_alerts(conn)] == ["firing"]  # keep_firing_for 10 min
    cycle(conn, second, T0 + timedelta(minutes=14))
    assert db.open_alerts(conn) == []
    assert [k for _, k in events(conn)] == ["firing", "resolved"]
    ledger = outbox.ledger(conn)
    resolved = next(n for n in ledger if n.event_kind == "resolved")
    firing = next(n for n in ledger if n.event_kind == "firing")
    assert resolved.payload["status"] == "resolved" and resolved.alert_id == firing.alert_id
    assert resolved.payload["alerts"][0]["fingerprint"] == firing.payload["alerts"][0]["fingerprint"]


def test_escalation_silence_and_acknowledgement(conn: psycopg.Connection[Any]) -> None:
    load_rules_text(conn, OCCUPANCY.replace("for: 2m", "for: 0s"))
    evaluator = Evaluator(external_url="http://synopse")
    db.add_silence(conn, str(uuid.uuid4()), scope_key="facility:sante-atlantique", ends_at=T0 + timedelta(minutes=30),
                   starts_at=T0 - timedelta(hours=1), created_by="test", comment="works")
    set_beds(conn, "hp-confluent", "medicine", 90, 100, T0)
    set_beds(conn, "sante-atlantique", "medicine", 90, 100, T0)
    cycle(conn, evaluator, T0)
    set_beds(conn, "hp-confluent", "medicine", 99, 100, T0 + timedelta(minutes=1))
    cycle(conn, evaluator, T0 + timedelta(minutes=1))
    kinds = [(n.payload["alerts"][0]["labels"]["scope_id"], n.event_kind) for n in reversed(outbox.ledger(conn))]
    assert kinds == [("hp-confluent", "firing"), ("hp-confluent", "changed")]  # the silenced one is muted
    cycle(conn, evaluator, T0 + timedelta(minutes=31))  # the silence is over: the still-firing alert is announced
    assert ("sante-atlantique", "firing") in [
        (n.payload["alerts"][0]["labels"]["scope_id"], n.event_kind) for n in outbox.ledger(conn)]
    alert_id = next(a.alert_id for a in db.open_alerts(conn) if a.scope_key == "facility:hp-confluent")
    assert db.acknowledge(conn, str(alert_id), by="dr.martin", comment="renfort demandé") is not None
    listing = next(a for a in db.list_alerts(conn, ["firing"]) if a.alert_id == alert_id)
    assert listing.acked_by == "dr.martin" and listing.ack_comment == "renfort demandé"


ABERRATION = """
version: 1
rules:
  - id: gastro
    name: Gastro
    kind: aberration
    algorithm: ears_c1
    scope: {level: commune}
    filters: {reason: gastroenteritis}
    severity: warning
"""


def insert_visits(conn: psycopg.Connection[Any], commune: str, day: datetime, count: int) -> None:
    for i in range(count):
        conn.execute(
            "INSERT INTO emergency_visits (event_id, arrived_at, facility_id, age_band, reason, commune_code)"
            " VALUES (%s, %s, 'chu-nantes-hotel-dieu', '15-74', 'gastroenteritis', %s)",
            (uuid.uuid4(), day + timedelta(hours=10, minutes=i), commune),
        )


def test_partners_receive_only_what_is_shared_with_small_counts_suppressed(conn: psycopg.Connection[Any]) -> None:
    load_rules_text(conn, ABERRATION)
    ars = access.add_organisation(conn, "ars-pdl", "ARS Pays de la Loire").organisation_id
    reze = access.add_organisation(conn, "ville-de-reze", "Ville de Rezé").organisation_id
    access.grant_shares(conn, ars, ShareKind.COMMUNE, ["44109"], "test")
    access.grant_shares(conn, reze, ShareKind.COMMUNE, ["44143"], "test")
    access.grant_shares(conn, reze, ShareKind.INDICATOR, ["beds"], "test")
    outbox.upsert_subscriber(conn, "ars-hook", name="ARS", kind="webhook", target="http://x", organisation_id=ars)
    outbox.upsert_subscriber(conn, "reze-hook", name="Rezé", kind="webhook", target="http://x", organisation_id=reze)
    today = datetime(2026, 1, 15, tzinfo=UTC)
    for back, count in zip(range(8, 1, -1), [3, 2, 3, 2, 3, 2, 3], strict=True):
        insert_visits(conn, "44109", today - timedelta(days=back), count)
    insert_visits(conn, "44109", today - timedelta(days=1), 9)  # yesterday: 9 vs about 2.6 expected
    cycle(conn, Evaluator(external_url="http://synopse"), today + timedelta(hours=12))
    by_subscriber = {n.subscriber_id: n.payload for n in outbox.ledger(conn)}
    assert set(by_subscriber) == {"crisis", "ars-hook"}  # Rezé sees nothing of Nantes
    internal, partner = by_subscriber["crisis"], by_subscriber["ars-hook"]
    assert internal["synopse"]["details"]["observed"] == 9
    assert internal["synopse"]["details"]["algorithm"] == "ears_c1"
    assert internal["synopse"]["details"]["baseline_offsets"] == [-7, -1]
    assert partner["synopse"]["details"]["observed"] is None and partner["synopse"]["suppressed"] == [
        "expected", "observed", "upper_bound"]
    assert "9 ED visits" not in partner["alerts"][0]["annotations"]["summary"]


def test_forecast_rule_reads_the_capacity_interface(conn: psycopg.Connection[Any]) -> None:
    rules = read_rule_file(default_rules_path())
    sync_rules(conn, rules, actor="test")
    # A finished forecasting run with its capacity projection (the tables of migration 0010, read by the
    # alert rules through the capacity_forecast_daily view).
    today = T0.date()
    run_id = uuid.uuid4()
    conn.execute(
        """INSERT INTO forecast_runs (run_id, started_at, as_of, origin_date, trigger, status, model, model_version,
                                      horizon_days, quantile_levels)
           VALUES (%s, %s, %s, %s, 'manual', 'succeeded', 'test', '1', 28, '{0.5}')""",
        (run_id, T0 - timedelta(hours=1), T0 - timedelta(hours=1), today),
    )
    for ahead, p in enumerate([0.2, 0.6, 0.85, 0.9]):
        conn.execute(
            """INSERT INTO capacity_projections (run_id, scope, scope_id, target_date, horizon, capacity_beds,
                                                 occupancy_median, p_exceed_capacity)
               VALUES (%s, 'facility', 'hp-confluent', %s, %s, 386, 380, %s)""",
            (run_id, today + timedelta(days=ahead), ahead, p),
        )
    conn.execute(
        """INSERT INTO capacity_outlooks (run_id, scope, scope_id, capacity_beds, capacity_source, max_p_exceed,
                                          saturation_date)
           VALUES (%s, 'facility', 'hp-confluent', 386, 'snapshots', 0.9, %s)""",
        (run_id, today + timedelta(days=2)),
    )
    report = cycle(conn, Evaluator(external_url="http://synopse"), T0)
    assert report.events["firing"] == 2
    by_rule = {a.rule_id: a for a in db.open_alerts(conn)}
    assert by_rule["forecast-capacity-exceedance"].severity == "severe"  # 0.9 >= 0.8
    assert by_rule["forecast-saturation-date"].severity == "severe"  # in 2 days: <= 3, > 1
    assert by_rule["forecast-saturation-date"].details["saturation_date"] == str(today + timedelta(days=2))


def test_a_late_feed_is_feed_late_not_a_zero(conn: psycopg.Connection[Any]) -> None:
    load_rules_text(conn, """
version: 1
rules:
  - {id: ed, name: ED, kind: threshold, indicator: ed_visits_hourly, scope: {level: facility},
     levels: [{severity: warning, enter: 5}], keep_firing_for: 0s}
  - {id: late, name: Late, kind: freshness, topic: synopse.emergency_visits.v1, scope: {level: facility},
     max_silence: 2h, keep_firing_for: 0s}
""")
    evaluator = Evaluator(external_url="http://synopse")
    for i in range(6):
        conn.execute("INSERT INTO emergency_visits (event_id, arrived_at, facility_id, age_band, reason)"
                     " VALUES (%s, %s, 'hp-confluent', '15-74', 'trauma')", (uuid.uuid4(), T0 + timedelta(minutes=i)))
    conn.execute("INSERT INTO source_freshness VALUES ('synopse.emergency_visits.v1', 'hp-confluent', %s, %s, 6)",
                 (T0 + timedelta(minutes=5), T0 + timedelta(minutes=6)))
    cycle(conn, evaluator, T0 + timedelta(minutes=10))
    assert {(a.rule_id, a.status) for a in db.open_alerts(conn)} == {("ed", "firing")}
    # Three hours of silence: the ED rule sees no data (not zero visits), so its alert is not resolved;
    # the freshness rule says "feed late".
    cycle(conn, evaluator, T0 + timedelta(hours=3))
    assert {(a.rule_id, a.status) for a in db.open_alerts(conn)} == {("ed", "firing"), ("late", "firing")}
    late = next(a for a in db.open_alerts(conn) if a.rule_id == "late")
    assert late.details["feed_late"] is True and late.value == pytest.approx(3 * 3600 - 360)


def test_pipeline_health_through_the_same_engine(conn: psycopg.Connection[Any]) -> None:
    sync_rules(conn, read_rule_file(default_rules_path()), actor="test")
    conn.execute("""INSERT INTO pipeline_health (consumer_group, topic, partition, lag, lag_at, dead_lettered)
                    VALUES ('synopse-streams', 'synopse.admissions.v1', 0, 1500, %s, 0)""", (T0,))
    evaluator = Evaluator(external_url="http://synopse")
    cycle(conn, evaluator, T0)
    cycle(conn, evaluator, T0 + timedelta(minutes=2))
    lag = [a for a in db.open_alerts(conn) if a.rule_id == "pipeline-consumer-lag"]
    assert [(a.scope_key, a.status, a.value) for a in lag] == [("platform:synopse-streams", "firing", 1500.0)]
    subscribers = {n.subscriber_id for n in outbox.ledger(conn)}
    assert subscribers == {"crisis"}


def test_rule_changes_are_recorded_and_platform_edits_survive_a_restart(conn: psycopg.Connection[Any]) -> None:
    rule_set = read_rule_file(default_rules_path())
    report = sync_rules(conn, rule_set, actor="file:rules.yaml")
    assert len(report.created) == len(rule_set.rules)
    edited = dict(next(r.definition for r in db.load_rules(conn) if r.rule_id == "heat-wave"))
    edited["ibmx_enter"] = 33
    assert db.upsert_rule(conn, rule_id="heat-wave", kind="heat_wave", definition=edited, enabled=True,
                          source="platform", actor="dr.martin", comment="seuil local") == "update"
    again = sync_rules(conn, rule_set, actor="file:rules.yaml")
    assert again.kept_platform_edits == ["heat-wave"] and again.updated == []
    history = db.rule_changes(conn, "heat-wave")
    assert [(c.action, c.changed_by) for c in history] == [("update", "dr.martin"), ("create", "file:rules.yaml")]
    assert history[0].before is not None and history[0].before["ibmx_enter"] == 34
    assert history[0].after is not None and history[0].after["ibmx_enter"] == 33
    smaller = rule_set.model_copy(update={"rules": rule_set.rules[1:]})
    assert sync_rules(conn, smaller, actor="file:rules.yaml").deleted == [rule_set.rules[0].id]
