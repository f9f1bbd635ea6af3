"""The notifier: takes due notifications from the outbox and delivers them, each subscriber on its own.

Boundary: the outbox and ledger SQL is ``synopse.db.alert_delivery``; this module owns the transports
(webhook over HTTP with an HMAC-SHA256 signature and an idempotency key, e-mail over SMTP, the Kafka alerts
topic), retries with exponential backoff and jitter, and the per-subscriber circuit breaker. Attempts run
concurrently with their own timeout and an in-flight limit per subscriber, so a receiver that hangs delays
only its own notifications. Database calls are short and run in worker threads on a synchronous pool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import smtplib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import aiohttp
from psycopg_pool import ConnectionPool

from alerts.payloads import EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign
from synopse.config import AlertSettings
from synopse.db import alert_delivery as outbox
from synopse.domain.alert_records import Notification, Subscriber

logger = logging.getLogger(__name__)

# How many due notifications one claim takes at most: enough for a burst, small enough to share between
# replicas of the notifier.
CLAIM_BATCH = 100
# Without a wake-up from the database, look for due retries at least this often.
IDLE_POLL_S = 1.0
# Receiver answers that retrying cannot fix (the payload or the address is wrong): dead at once.
_PERMANENT_HTTP = frozenset({400, 401, 403, 404, 405, 410, 413, 415, 422})


class DeliveryError(Exception):
    """An attempt failed; ``permanent`` when retrying the same notification cannot succeed."""

    def __init__(self, detail: str, *, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: the n-th retry waits a random time in [d/2, d], d = initial * 2^(n-1)
    capped at ``max_s`` ("equal jitter": subscribers failing together do not retry in lockstep)."""

    initial_s: float
    max_s: float

    def delay(self, retry: int, rng: random.Random) -> float:
        ceiling = min(self.max_s, self.initial_s * 2 ** max(0, retry - 1))
        return float(ceiling * (0.5 + 0.5 * rng.random()))


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for a JSON payload: the same on every attempt."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


Sender = Callable[[Subscriber, Notification], Awaitable[str]]


class Notifier:
    """Delivers the outbox until ``stop`` is set; ``wake()`` when something may have become due."""

    def __init__(self, settings: AlertSettings, pool: ConnectionPool, *, kafka_send: Sender | None = None,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.pool = pool
        self.backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s)
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.kafka_send = kafka_send
        self._wake = asyncio.Event()
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.delivered = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.http_timeout_s))
        try:
            while not stop.is_set():
                claimed = await self._claim()
                wait = 0.0 if len(claimed) == CLAIM_BATCH else await asyncio.to_thread(self._next_due)
                self._wake.clear()
                if wait > 0:
                    stopper = asyncio.ensure_future(stop.wait())
                    waker = asyncio.ensure_future(self._wake.wait())
                    await asyncio.wait({stopper, waker}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                    stopper.cancel()
                    waker.cancel()
        finally:
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.settings.http_timeout_s + 1)
            await self._session.close()

    def _next_due(self) -> float:
        with self.pool.connection() as conn:
            due = outbox.next_due_in(conn)
        return IDLE_POLL_S if due is None else min(IDLE_POLL_S, max(due, 0.05))

    async def _claim(self) -> list[Notification]:
        limit = self.settings.max_in_flight_per_subscriber
        busy = [sub for sub, count in self._in_flight.items() if count >= limit]
        lease = timedelta(seconds=self.settings.http_timeout_s * 2 + 5)

        def claim() -> tuple[list[Notification], dict[str, Subscriber]]:
            with self.pool.connection() as conn:
                notifications = outbox.claim_due(conn, limit=CLAIM_BATCH, lease=lease, busy_subscribers=busy)
                subscribers = {s.subscriber_id: s for s in outbox.list_subscribers(conn, enabled_only=False)}
            return notifications, subscribers

        notifications, subscribers = await asyncio.to_thread(claim)
        for notification in notifications:
            subscriber = subscribers[notification.subscriber_id]
            self._in_flight[subscriber.subscriber_id] += 1
            task = asyncio.create_task(self._attempt(subscriber, notification))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return notifications

    async def _attempt(self, subscriber: Subscriber, notification: Notification) -> None:
        started = time.perf_counter()
        try:
            detail = await self._send(subscriber, notification)
            outcome, next_at = "delivered", None
        except Exception as exc:  # every failure is recorded in the ledger and retried or declared dead
            detail = exc.args[0] if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
            retry = notification.attempts - notification.attempt_base
            if (isinstance(exc, DeliveryError) and exc.permanent) or retry >= self.settings.max_attempts:
                outcome, next_at = "dead", None
            else:
                outcome = "failed"
                next_at = datetime.now().astimezone() + timedelta(seconds=self.backoff.delay(retry, self.rng))
        duration_ms = (time.perf_counter() - started) * 1000
        try:
            await asyncio.to_thread(self._record, notification, outcome, str(detail), duration_ms, next_at)
        finally:
            self._in_flight[subscriber.subscriber_id] -= 1
            self.wake()
        if outcome == "delivered":
            self.delivered += 1
        log = logger.info if outcome == "delivered" else logger.warning
        log("notification %s", outcome, extra={"subscriber": subscriber.subscriber_id, "attempt": notification.attempts,
                                              "notification_id": str(notification.notification_id),
                                              "detail": str(detail)[:200]})

    def _record(self, notification: Notification, outcome: str, detail: str, duration_ms: float,
                next_at: datetime | None) -> None:
        with self.pool.connection() as conn:
            outbox.record_attempt(conn, notification, outcome=outcome, detail=detail, duration_ms=duration_ms,
                                  next_attempt_at=next_at, breaker_threshold=self.settings.breaker_threshold,
                                  breaker_cooldown=timedelta(seconds=self.settings.breaker_cooldown_s))

    async def _send(self, subscriber: Subscriber, notification: Notification) -> str:
        if subscriber.kind == "webhook":
            return await self._webhook(subscriber, notification)
        if subscriber.kind == "email":
            return await asyncio.wait_for(asyncio.to_thread(self._email, subscriber, notification),
                                          self.settings.http_timeout_s * 2)
        if self.kafka_send is None:
            raise DeliveryError("no Kafka producer in this notifier")
        return await asyncio.wait_for(self.kafka_send(subscriber, notification), self.settings.http_timeout_s * 2)

    async def _webhook(self, subscriber: Subscriber, notification: Notification) -> str:
        assert self._session is not None  # noqa: S101 - set by run() before any attempt
        body = body_bytes(notification.payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "synopse-alerts/1",
            IDEMPOTENCY_HEADER: str(notification.notification_id),
            EVENT_HEADER: notification.event_kind,
        }
        if subscriber.secret:
            headers[SIGNATURE_HEADER] = sign(subscriber.secret, body)
        try:
            async with self._session.post(subscriber.target, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    return f"HTTP {response.status}"
                raise DeliveryError(f"HTTP {response.status}", permanent=response.status in _PERMANENT_HTTP)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc

    def _email(self, subscriber: Subscriber, notification: Notification) -> str:
        s = self.settings
        payload = notification.payload
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = subscriber.target
        message["Subject"] = payload["subject"]
        message["Message-ID"] = payload["message_id"]
        message[IDEMPOTENCY_HEADER] = str(notification.notification_id)
        message.set_content(payload["body"])
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.http_timeout_s) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username and s.smtp_password:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise DeliveryError(f"recipients refused: {sorted(refused)}", permanent=True)
        return "SMTP accepted"
