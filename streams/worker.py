"""Entry point of ``synopse streams worker``: creates the topics, opens the pool, runs faust in-process.

:func:`run_worker` blocks until SIGTERM or SIGINT, then stops cleanly: the agents stop, acked offsets
are committed, the consumer leaves its group, the pool closes. ``python -m streams.worker`` runs it
with settings read from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any

import faust
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from mode import Service

from streams.agents import BatchIngestor
from streams.app import create_app, tune_garbage_collector
from streams.health import PipelineHealth
from streams.metrics import StreamMetrics
from synopse.config import Settings, load_settings
from synopse.db.connection import open_async_pool
from synopse.db.ingest import probe_store_options
from synopse.domain.topics import DAILY_COUNT_TOPICS, INPUT_TOPICS, RAW_TOPICS, RawTopicSpec, TopicSpec
from synopse.errors import ServiceUnavailableError
from synopse.logging import configure_logging

logger = logging.getLogger(__name__)

# Kafka error codes in a CreateTopics answer that mean "the topic is there": none, and already exists
# (another worker created it first).
_TOPIC_OK_CODES = frozenset({0, 36})
# How long to keep trying to reach the broker at start: `synopse up` starts the broker first, but a
# remote cluster may take a while to accept connections after a restart.
BROKER_CONNECT_TIMEOUT_S = 30.0
# Between attempts to reach the broker at start.
_BROKER_RETRY_S = 1.0
#: Exit code of a worker that had to give up on a clean stop (see ``streams.stop_timeout_s``).
STOP_TIMEOUT_EXIT_CODE = 3


def topic_names(settings: Settings) -> list[str]:
    """Full names of every topic the worker reads or writes: each input topic and its dead-letter topic."""
    specs: list[TopicSpec | RawTopicSpec] = [*INPUT_TOPICS, *DAILY_COUNT_TOPICS, *RAW_TOPICS]
    return [settings.kafka.topic(name) for spec in specs for name in (spec.name, spec.dead_letter)]


async def ensure_topics(settings: Settings, *, timeout_s: float = BROKER_CONNECT_TIMEOUT_S) -> list[str]:
    """Create the input and dead-letter topics that do not exist yet; returns the names created.

    Uses aiokafka's admin client (kafka-python's cannot list topics on the embedded broker). Topics are
    created before anything subscribes or produces: some brokers auto-create a topic on first use,
    with their default partition count instead of ``settings.kafka.partitions``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers, client_id=settings.kafka.client_id + "-admin"
        )
        try:
            await admin.start()
            break
        except Exception as exc:  # aiokafka raises KafkaConnectionError and friends
            with contextlib.suppress(Exception):
                await admin.close()
            if time.monotonic() >= deadline:
                raise ServiceUnavailableError(
                    f"cannot reach Kafka at {settings.bootstrap_servers} within {timeout_s:.0f} s: {exc}"
                ) from exc
            await asyncio.sleep(_BROKER_RETRY_S)
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topic_names(settings) if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(name, settings.kafka.partitions, settings.kafka.replication_factor) for name in missing]
        )
        failed = [(name, code) for name, code, *_ in response.topic_errors if code not in _TOPIC_OK_CODES]
        if failed:
            raise ServiceUnavailableError(f"cannot create topics (name, Kafka error code): {failed}")
        logger.info("topics created", extra={"topics": missing, "partitions": settings.kafka.partitions})
        return missing
    finally:
        await admin.close()


class WorkerResources(Service):
    """What the agents need before they consume, started before the app and stopped after it."""

    def __init__(self, settings: Settings, ingestor: BatchIngestor, **kwargs: Any) -> None:
        self.settings = settings
        self.ingestor = ingestor
        #: Why the start failed, kept so that run_worker can raise it instead of faust's bare exit code.
        self.start_error: ServiceUnavailableError | None = None
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        db = self.settings.db
        try:
            await ensure_topics(self.settings)
            pool = await open_async_pool(
                self.settings.dsn, min_size=db.pool_min_size, max_size=db.pool_max_size, timeout_s=db.connect_timeout_s
            )
            async with pool.connection() as conn:
                self.ingestor.options = await probe_store_options(conn)
            self.ingestor.pool = pool
            await self.ingestor.load_reference()
        except ServiceUnavailableError as exc:
            self.start_error = exc
            raise
        logger.info(
            "database pool open",
            extra={
                "pool_max_size": db.pool_max_size,
                "copy": self.ingestor.options.copy,
                "continuous_aggregates": self.ingestor.options.continuous_aggregates,
            },
        )

    async def on_stop(self) -> None:
        pool, self.ingestor.pool = self.ingestor.pool, None
        if pool is not None:
            await pool.close()
            logger.info("database pool closed")


class _Worker(faust.Worker):
    """faust's worker, announcing readiness in the log instead of on stdout, and stopping in bounded time."""

    #: Seconds a stop may take before the process exits anyway (set by :func:`run_worker`).
    stop_timeout_s: float = 30.0

    def _schedule_shutdown(self, signal: signal.Signals) -> None:
        if not self._signal_stop_time:
            # A thread, not a task: the event loop may be the thing that is stuck.
            watchdog = threading.Timer(self.stop_timeout_s, _exit_after_stop_timeout, (self.stop_timeout_s,))
            watchdog.daemon = True
            watchdog.start()
        super()._schedule_shutdown(signal)

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        logger.info(
            "stream worker ready",
            extra={"app_id": self.app.conf.id, "web_port": self.app.conf.web_port, "topics": len(INPUT_TOPICS)},
        )


def _exit_after_stop_timeout(timeout_s: float) -> None:
    logger.error(
        "the stream worker did not stop in time (broker or database unreachable?); exiting now: batches not"
        " stored are not acknowledged, and Kafka redelivers them to the next worker",
        extra={"stop_timeout_s": timeout_s},
    )
    logging.shutdown()
    os._exit(STOP_TIMEOUT_EXIT_CODE)


def run_worker(settings: Settings) -> None:
    """Run the stream worker in this process until SIGTERM or SIGINT.

    Logging is the caller's (the CLI's ``configure_logging``); faust does not reconfigure it.

    Raises:
        ServiceUnavailableError: The broker or the database cannot be reached at start.
        SystemExit: With a non-zero code when the worker crashed later (the reason is logged).
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ingestor = BatchIngestor(StreamMetrics(), consumer_group=settings.streams.app_id)
    app = create_app(settings, ingestor)
    # faust creates its data directory at start but not the parents.
    app.conf.datadir.parent.mkdir(parents=True, exist_ok=True)
    resources = WorkerResources(settings, ingestor, loop=loop)
    health = PipelineHealth(app, settings, ingestor, loop=loop)
    worker = _Worker(
        app,
        resources,
        health,
        loop=loop,
        loglevel=settings.log_level,
        override_logging=False,
        quiet=True,
        redirect_stdouts=False,
    )
    # The progress spinner writes terminal escapes to stdout, which a supervisor's log would keep.
    worker.spinner = None
    worker.stop_timeout_s = settings.streams.stop_timeout_s
    tune_garbage_collector()
    logger.info(
        "stream worker starting",
        extra={
            "app_id": settings.streams.app_id,
            "bootstrap_servers": settings.bootstrap_servers,
            "topic_prefix": settings.kafka.topic_prefix,
        },
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        if resources.start_error is not None:
            raise resources.start_error from None
        if exc.code not in (0, None):
            raise
    finally:
        asyncio.set_event_loop(None)
    logger.info("stream worker stopped")


def main() -> None:
    """``python -m streams.worker``: settings from the environment, logging configured here."""
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    run_worker(settings)


if __name__ == "__main__":
    # Run through the importable module, so that log records name `streams.worker`, not `__main__`.
    from streams.worker import main as _main

    _main()
