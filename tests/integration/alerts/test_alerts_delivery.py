"""Delivery against real receivers: retries with one idempotency key, dead letters, isolation, SMTP, replay."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from psycopg_pool import ConnectionPool

from alerts.delivery import Notifier, body_bytes
from alerts.payloads import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign
from synopse.config import AlertSettings
from synopse.db import alert_delivery as outbox
from synopse.db.connection import open_pool
from synopse.runtime.ports import find_free_port
from tests.integration.alerts.alerts_support import Receiver

pytestmark = pytest.mark.integration

HMAC_KEY = "test-hmac-key"  # a webhook's per-subscriber key

FAST = {"backoff_initial_s": 0.1, "backoff_max_s": 0.4, "http_timeout_s": 0.5, "max_attempts": 4,
        "breaker_threshold": 100}


@pytest.fixture
def pool(pg_dsn: str) -> Iterator[ConnectionPool]:
    pool = open_pool(pg_dsn, min_size=1, max_size=4)
    yield pool
    pool.close()


def queue(conn: psycopg.Connection[Any], subscriber: str, payload: dict[str, Any], kind: str = "firing") -> str:
    """An alert, its event and one notification, as the evaluator writes them."""
    alert_id, notification_id = str(uuid.uuid4()), str(uuid.uuid4())
    conn.execute("""INSERT INTO alerts (alert_id, rule_id, scope_key, indicator, status, severity, pending_since)
                    VALUES (%s, 'r', %s, 'occupancy_rate', 'firing', 'warning', now())""",
                 (alert_id, f"facility:{alert_id}"))
    event_id = conn.execute("INSERT INTO alert_events (alert_id, kind, at, severity) VALUES (%s, %s, now(), 'warning')"
                            " RETURNING event_id", (alert_id, kind)).fetchone()[0]  # type: ignore[index]
    outbox.enqueue(conn, notification_id=notification_id, subscriber_id=subscriber, alert_id=alert_id,
                   event_id=event_id, event_kind=kind, payload=payload)
    conn.commit()
    return notification_id


def deliver_until(pool: ConnectionPool, settings: AlertSettings, done: Any, timeout_s: float = 20.0) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        notifier = Notifier(settings, pool)
        task = asyncio.create_task(notifier.run(stop))
        deadline = time.monotonic() + timeout_s
        while not await asyncio.to_thread(done):
            if time.monotonic() > deadline:
                stop.set()
                await task
                raise AssertionError("delivery did not finish in time")
            await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(main())


def status(pool: ConnectionPool, notification_id: str) -> tuple[str, int]:
    with pool.connection() as conn:
        row = conn.execute("SELECT status, attempts FROM alert_notifications WHERE notification_id = %s",
                           (notification_id,)).fetchone()
    assert row is not None
    return row[0], row[1]


def test_three_500s_then_200_is_delivered_once_with_one_idempotency_key(pool: ConnectionPool) -> None:
    settings = AlertSettings(**FAST)
    with Receiver(statuses=[500, 500, 500]) as receiver, pool.connection() as conn:
        outbox.upsert_subscriber(conn, "hook", name="hook", kind="webhook", target=receiver.url, secret=HMAC_KEY)
        payload = {"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "r"}}]}
        notification_id = queue(conn, "hook", payload)
        deliver_until(pool, settings, lambda: status(pool, notification_id)[0] == "delivered")
        time.sleep(0.5)  # nothing more arrives after delivery
        requests = list(receiver.requests)
    assert status(pool, notification_id) == ("delivered", 4)
    assert len(requests) == 4
    assert {r.headers[IDEMPOTENCY_HEADER] for r in requests} == {notification_id}
    assert {r.body for r in requests} == {body_bytes(payload)}
    assert all(r.headers[SIGNATURE_HEADER] == sign(HMAC_KEY, r.body) for r in requests)
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert all(gap >= 0.05 for gap in gaps)  # backoff between attempts (jittered, at least half of 0.1 s)
    with pool.connection() as conn:
        attempts = conn.execute("SELECT attempt, outcome FROM alert_delivery_attempts WHERE notification_id = %s"
                                " ORDER BY attempt", (notification_id,)).fetchall()
    assert attempts == [(1, "failed"), (2, "failed"), (3, "failed"), (4, "delivered")]


def test_a_receiver_that_never_answers_ends_dead_without_delaying_others(pool: ConnectionPool) -> None:
    settings = AlertSettings(**{**FAST, "max_attempts": 3})
    with Receiver(hang=True) as silent, Receiver() as healthy, pool.connection() as conn:
        outbox.upsert_subscriber(conn, "silent", name="silent", kind="webhook", target=silent.url)
        outbox.upsert_subscriber(conn, "healthy", name="healthy", kind="webhook", target=healthy.url)
        stuck = [queue(conn, "silent", {"n": i}) for i in range(6)]
        started = time.monotonic()
        fine = queue(conn, "healthy", {"n": "ok"})
        delivered_in: list[float] = []

        def done() -> bool:
            if not delivered_in and status(pool, fine)[0] == "delivered":
                delivered_in.append(time.monotonic() - started)
            return all(status(pool, n)[0] == "dead" for n in stuck) and bool(delivered_in)

        deliver_until(pool, settings, done, timeout_s=30)
    assert delivered_in[0] < 1.0, delivered_in  # the healthy subscriber did not wait behind the silent one
    assert all(status(pool, n) == ("dead", 3) for n in stuck)
    with pool.connection() as conn:
        errors = {r[0] for r in conn.execute(
            "SELECT last_error FROM alert_notifications WHERE subscriber_id = 'silent'")}
    assert all("Timeout" in (e or "") for e in errors), errors


def test_dead_notifications_are_replayed_with_the_same_key(pool: ConnectionPool) -> None:
    settings = AlertSettings(**{**FAST, "max_attempts": 2})
    with Receiver(then=503) as receiver, pool.connection() as conn:
        outbox.upsert_subscriber(conn, "flaky", name="flaky", kind="webhook", target=receiver.url)
        notification_id = queue(conn, "flaky", {"n": 1})
        deliver_until(pool, settings, lambda: status(pool, notification_id)[0] == "dead")
        receiver.then = 200
        assert outbox.replay_dead(conn, subscriber_id="flaky") == 1
        conn.commit()
        deliver_until(pool, settings, lambda: status(pool, notification_id)[0] == "delivered")
        keys = [r.headers[IDEMPOTENCY_HEADER] for r in receiver.requests]
    assert keys == [notification_id] * 3
    assert status(pool, notification_id) == ("delivered", 3)


def test_circuit_breaker_stops_attempts_to_a_failing_subscriber(pool: ConnectionPool) -> None:
    settings = AlertSettings(**{**FAST, "breaker_threshold": 2, "breaker_cooldown_s": 60, "max_attempts": 10})
    with Receiver(then=500) as receiver, pool.connection() as conn:
        outbox.upsert_subscriber(conn, "down", name="down", kind="webhook", target=receiver.url)
        ids = [queue(conn, "down", {"n": i}) for i in range(3)]

        def breaker_open() -> bool:
            with pool.connection() as c:
                row = c.execute(
                    "SELECT breaker_open_until FROM alert_subscribers WHERE subscriber_id = 'down'").fetchone()
            return row is not None and row[0] is not None

        deliver_until(pool, settings, breaker_open)
        seen = len(receiver.requests)
        deliver_until(pool, settings, lambda: time.sleep(1.0) or True)  # a second of notifier time
        assert len(receiver.requests) == seen  # no attempt while the circuit is open
    assert all(status(pool, n)[0] in ("failed", "queued") for n in ids)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def test_email_is_delivered_over_smtp(pool: ConnectionPool) -> None:
    inbox = _Inbox()
    port = find_free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = AlertSettings(**FAST, smtp_port=port, smtp_from="alertes@synopse.test")
        with pool.connection() as conn:
            outbox.upsert_subscriber(conn, "mail", name="astreinte", kind="email", target="astreinte@chu.test")
            payload = {"subject": "[Synopse] ALERTE Crise : lits", "body": "Occupation 97 %",
                       "message_id": "<n@synopse>"}
            notification_id = queue(conn, "mail", payload)
        deliver_until(pool, settings, lambda: status(pool, notification_id)[0] == "delivered")
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    envelope = inbox.messages[0]
    assert envelope.rcpt_tos == ["astreinte@chu.test"] and envelope.mail_from == "alertes@synopse.test"
    text = envelope.content.decode()
    assert "Subject: [Synopse] ALERTE Crise : lits" in text and "Occupation 97 %" in text
    assert f"Idempotency-Key: {notification_id}" in text
    json.dumps(payload)
