"""``synopse alerts run``: the evaluator, the notifier and the CAP feed in one asyncio process.

Boundary: wires the pieces; the lifecycle is pure (``synopse.domain.alerts``), SQL is in ``synopse.db``.
Live evaluation: the store announces each committed batch of new data (LISTEN/NOTIFY, migration 0024) and
the rules reading that table are evaluated at once (at most every ``live_debounce_s``); every rule is also
evaluated every ``evaluation_interval_s`` (freshness, forecasts and pipeline health are driven by the clock).
Notifications are queued in the same transaction as the state change; the notifier is woken directly, and
by the database when another replica queued them. SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from psycopg_pool import ConnectionPool

from alerts.delivery import Notifier, body_bytes
from alerts.engine import CycleReport, Evaluator, load_rules
from alerts.feed import FeedReader, build_app
from alerts.rulefile import default_rules_path, read_rule_file, sync_rules
from synopse.config import Settings
from synopse.db import alert_delivery as outbox
from synopse.db import alerts as db
from synopse.db.connection import open_pool
from synopse.domain.alert_records import Notification, Subscriber
from synopse.domain.alerts import Rule
from synopse.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

KAFKA_SUBSCRIBER_ID = "kafka-alerts-topic"
# How long to keep trying to reach the broker at start (the embedded one may still be starting).
BROKER_CONNECT_TIMEOUT_S = 30.0
# A lost LISTEN connection is re-opened after this pause; a full evaluation follows (notifications missed).
RELISTEN_PAUSE_S = 1.0


class AlertService:
    """The running service; :meth:`run` returns when ``stop`` is set."""

    def __init__(self, settings: Settings, *, rules_path: Path | None = None) -> None:
        self.settings = settings
        self.rules_path = rules_path or settings.alerts.rules_path or default_rules_path()
        a = settings.alerts
        self.base_url = (a.public_url or f"http://{a.host}:{a.port}").rstrip("/")
        self.evaluator = Evaluator(
            external_url=self.base_url, small_count_threshold=settings.privacy.small_count_threshold
        )
        self.health: dict[str, Any] = {"status": "starting"}
        self._tables: set[str] = set()
        self._data = asyncio.Event()
        self._full_now = True
        self._rules: list[Rule] = []
        self._rules_version: tuple[Any, ...] | None = None
        self.pool: ConnectionPool | None = None
        self.notifier: Notifier | None = None
        self._producer: AIOKafkaProducer | None = None

    # ------------------------------------------------------------------------------------------- set-up

    def _prepare(self) -> None:
        rule_set = read_rule_file(self.rules_path)
        assert self.pool is not None  # noqa: S101 - opened by run()
        with self.pool.connection() as conn:
            report = sync_rules(conn, rule_set, actor=f"file:{self.rules_path.name}")
            outbox.upsert_subscriber(conn, KAFKA_SUBSCRIBER_ID, name="Kafka alerts topic", kind="kafka",
                                     target=self.settings.alerts.topic)
        logger.info("rules loaded", extra={"path": str(self.rules_path), "rules_created": len(report.created),
                                           "rules_updated": len(report.updated), "rules_deleted": len(report.deleted),
                                           "rules_kept_platform_edits": len(report.kept_platform_edits)})

    async def _start_kafka(self) -> None:
        topic = self.settings.kafka.topic(self.settings.alerts.topic)
        deadline = time.monotonic() + BROKER_CONNECT_TIMEOUT_S
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers,
                                        client_id=self.settings.kafka.client_id + "-alerts-admin")
            try:
                await admin.start()
                if topic not in set(await admin.list_topics()):
                    await admin.create_topics([NewTopic(topic, self.settings.kafka.partitions,
                                                        self.settings.kafka.replication_factor)])
                break
            except Exception as exc:  # aiokafka raises KafkaConnectionError and friends
                if time.monotonic() > deadline:
                    raise ServiceUnavailableError(f"cannot reach Kafka at {self.settings.bootstrap_servers}: "
                                                  f"{exc}") from exc
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await admin.close()
        # acks=all: a state change on the topic is a state change kept.
        self._producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap_servers, acks="all",
                                          client_id=self.settings.kafka.client_id + "-alerts")
        await self._producer.start()

    async def _kafka_send(self, subscriber: Subscriber, notification: Notification) -> str:
        assert self._producer is not None  # noqa: S101 - started before the notifier
        payload = notification.payload
        metadata = await self._producer.send_and_wait(
            self.settings.kafka.topic(subscriber.target), value=body_bytes(payload),
            key=str(payload.get("scope_key", "")).encode(),
            headers=[("Idempotency-Key", str(notification.notification_id).encode())],
        )
        return f"partition {metadata.partition} offset {metadata.offset}"

    # ------------------------------------------------------------------------------------------- loops

    def _evaluate(self, tables: set[str] | None) -> CycleReport | None:
        assert self.pool is not None  # noqa: S101 - opened by run()
        with self.pool.connection() as conn, conn.transaction():
            if not db.try_evaluation_lock(conn):
                return None  # another replica is evaluating
            version = db.rules_version(conn)
            if version != self._rules_version:
                self._rules = load_rules(conn)
                self._rules_version = version
            return self.evaluator.evaluate(conn, self._rules, tables=tables)

    async def _evaluation_loop(self, stop: asyncio.Event) -> None:
        a = self.settings.alerts
        next_full = 0.0
        while not stop.is_set():
            timeout = max(0.0, next_full - time.monotonic())
            if not self._full_now and timeout > 0 and not self._data.is_set():
                waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._data.wait())}
                _, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for waiter in pending:
                    waiter.cancel()
                if stop.is_set():
                    break
            full = self._full_now or time.monotonic() >= next_full
            tables: set[str] | None = None if full else set(self._tables)
            self._tables.clear()
            self._data.clear()
            self._full_now = False
            started = time.perf_counter()
            try:
                report = await asyncio.to_thread(self._evaluate, tables)
            except psycopg.Error as exc:
                logger.warning("evaluation failed; retrying", extra={"error": f"{type(exc).__name__}: {exc}"})
                await asyncio.sleep(1)
                self._full_now = True
                continue
            if full:
                next_full = time.monotonic() + a.evaluation_interval_s
            if report is not None:
                self.health.update(status="running", last_evaluation=datetime.now(UTC).isoformat(),
                                   last_evaluation_ms=round((time.perf_counter() - started) * 1000, 1),
                                   rules=len(self._rules))
                if report.notifications and self.notifier is not None:
                    self.notifier.wake()
            if a.live_debounce_s:
                await asyncio.sleep(a.live_debounce_s)

    async def _listen_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(self.settings.dsn, autocommit=True) as conn:
                    await db.listen(conn, [db.DATA_CHANNEL, db.OUTBOX_CHANNEL])
                    self._full_now = True  # what happened while not listening is caught up
                    self._data.set()
                    async for notify in conn.notifies():
                        if notify.channel == db.DATA_CHANNEL:
                            self._tables.add(notify.payload)
                            self._data.set()
                        elif self.notifier is not None:
                            self.notifier.wake()
            except psycopg.OperationalError as exc:
                logger.warning("listen connection lost", extra={"error": str(exc)})
                await asyncio.sleep(RELISTEN_PAUSE_S)

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        self.pool = await asyncio.to_thread(open_pool, s.dsn, min_size=2, max_size=max(4, s.db.pool_max_size),
                                            timeout_s=s.db.connect_timeout_s)
        runner: web.AppRunner | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            await asyncio.to_thread(self._prepare)
            await self._start_kafka()
            self.notifier = Notifier(s.alerts, self.pool, kafka_send=self._kafka_send)
            feed = FeedReader(s.alerts, self.pool, self.base_url, small_count_threshold=s.privacy.small_count_threshold)
            runner = web.AppRunner(build_app(feed, self.health))
            await runner.setup()
            await web.TCPSite(runner, s.alerts.host, s.alerts.port).start()
            tasks = [asyncio.create_task(self._listen_loop(stop)), asyncio.create_task(self._evaluation_loop(stop)),
                     asyncio.create_task(self.notifier.run(stop))]
            logger.info("alerts service ready", extra={"url": self.base_url, "rules_path": str(self.rules_path)})
            done, _ = await asyncio.wait([*tasks, asyncio.ensure_future(stop.wait())],
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task in tasks and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stop.set()
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if runner is not None:
                await runner.cleanup()
            if self._producer is not None:
                await self._producer.stop()
            self.pool.close()


def run_service(settings: Settings, *, rules_path: Path | None = None) -> None:
    """Run the alerts service in this process until SIGTERM or SIGINT."""
    service = AlertService(settings, rules_path=rules_path)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await service.run(stop)

    asyncio.run(main())
    logger.info("alerts service stopped")
