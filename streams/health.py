"""Periodic pipeline-health duties of a worker: consumer lag, late-event refreshes, live-table upkeep.

Every ``SYNOPSE_STREAMS__HEALTH_INTERVAL_S`` seconds the worker computes the lag of the partitions it
holds (the broker's end offset minus the group's committed offset), exposes it at ``/metrics`` and
writes it to ``pipeline_health``; on TimescaleDB it re-materialises the continuous aggregates over the
ranges of late events (on plain PostgreSQL it recounts the daily rollups' late and ended days); it
deletes hourly live counts past their retention; it re-reads the reference data's facilities and stations
(a source added there is accepted from the next round). A failure here is logged and tried again at the
next round: health reporting never stops ingestion.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from datetime import timedelta
from typing import Any

import faust
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from mode import Service

from streams.agents import BatchIngestor
from synopse.config import Settings
from synopse.db.health import PartitionLag, prune_live_activity, record_lag, refresh_requested_aggregates
from synopse.db.rollups import refresh_daily_rollups
from synopse.domain.topics import DAILY_COUNT_TOPICS, INPUT_TOPICS, RAW_TOPICS

logger = logging.getLogger(__name__)

# Hourly live counts are kept four weeks beyond the 7-day window the live view reads: enough for
# week-on-week comparisons, and the table stays a few hundred thousand rows.
LIVE_ACTIVITY_KEEP = timedelta(days=35)
# Health rounds never queue behind the batches for a connection: skipped after 2 s, tried next round.
_CONNECTION_WAIT_S = 2.0


class PipelineHealth(Service):
    """Lag, refreshes and upkeep, every ``interval_s`` seconds while the worker runs."""

    def __init__(self, app: faust.App, settings: Settings, ingestor: BatchIngestor, **kwargs: Any) -> None:
        self.app = app
        self.settings = settings
        self.ingestor = ingestor
        self.interval_s = settings.streams.health_interval_s
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        # Full topic name -> input topic name (metrics and health rows carry names without the prefix).
        names = [spec.name for spec in (*INPUT_TOPICS, *DAILY_COUNT_TOPICS)] + [spec.name for spec in RAW_TOPICS]
        self._names = {settings.kafka.topic(name): name for name in names}
        self._offsets: AIOKafkaConsumer | None = None
        super().__init__(**kwargs)

    async def on_stop(self) -> None:
        offsets, self._offsets = self._offsets, None
        if offsets is not None:
            with contextlib.suppress(Exception):
                await offsets.stop()

    @Service.task
    async def _rounds(self) -> None:
        while not self.should_stop:
            await self.sleep(self.interval_s)
            if self.should_stop:
                break
            await self.run_once()

    async def run_once(self) -> None:
        """One round of every duty; each failure is logged and left for the next round."""
        for duty in (self._reload_reference, self._report_lag, self._refresh_aggregates, self._prune):
            try:
                await duty()
            except Exception as exc:
                logger.warning(
                    "pipeline health round incomplete: %s failed (%s)", duty.__name__.lstrip("_"), type(exc).__name__,
                    extra={"duty": duty.__name__, "error": str(exc)},
                )

    async def lags(self) -> list[PartitionLag]:
        """The lag of each input partition this worker holds."""
        held = [tp for tp in self.app.consumer.assignment() if tp.topic in self._names]
        if not held:
            return []
        if self._offsets is None:
            # A consumer of the worker's group that never subscribes: it reads the group's committed
            # offsets and the end offsets without joining the group (so it triggers no rebalance).
            # aiokafka's admin client cannot decode the embedded broker's offset answers; this works on both.
            offsets = AIOKafkaConsumer(
                bootstrap_servers=self.settings.bootstrap_servers, group_id=self.settings.streams.app_id,
                client_id=self.settings.kafka.client_id + "-health", enable_auto_commit=False,
            )
            await offsets.start()
            self._offsets = offsets
        partitions = [TopicPartition(tp.topic, tp.partition) for tp in sorted(held)]
        ends = await self._offsets.end_offsets(partitions)
        lags = []
        for tp in partitions:
            committed = await self._offsets.committed(tp)
            lags.append(PartitionLag(
                topic=self._names[tp.topic],
                partition=tp.partition,
                end_offset=int(ends.get(tp) or 0),
                committed_offset=committed if committed is not None and committed >= 0 else None,
            ))
        return lags

    async def _report_lag(self) -> None:
        lags = await self.lags()
        self.ingestor.metrics.record_lag(lags)
        if lags and self.ingestor.pool is not None:
            async with self.ingestor.pool.connection(timeout=_CONNECTION_WAIT_S) as conn:
                await record_lag(conn, self.settings.streams.app_id, self.worker_id, lags)

    async def _refresh_aggregates(self) -> None:
        # Its own autocommit connection: TimescaleDB refuses a refresh inside a transaction block, the daily
        # rollups of plain PostgreSQL commit a chunk of days at a time, and a pooled connection must come back
        # in the state the ingest path expects.
        async with await psycopg.AsyncConnection.connect(
            self.settings.dsn, autocommit=True, connect_timeout=max(1, round(self.settings.db.connect_timeout_s))
        ) as conn:
            if self.ingestor.options.continuous_aggregates:
                await refresh_requested_aggregates(conn)
            else:
                await refresh_daily_rollups(conn)

    async def _reload_reference(self) -> None:
        if self.ingestor.pool is not None:
            await self.ingestor.load_reference()

    async def _prune(self) -> None:
        if self.ingestor.pool is not None:
            async with self.ingestor.pool.connection(timeout=_CONNECTION_WAIT_S) as conn:
                await prune_live_activity(conn, LIVE_ACTIVITY_KEEP)
