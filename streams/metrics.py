"""Prometheus metrics of the stream worker, served at ``/metrics`` by faust's own web server.

One registry per app (not the process-global one), so that several apps in one process (tests) never
collide. Serving through faust's web server means one port, opened and closed with the worker.
"""

from __future__ import annotations

import time

import faust
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from synopse.db.health import PartitionLag, PartitionProgress
from synopse.db.ingest import WriteCounts

METRICS_PATH = "/metrics"
# From a few milliseconds (a handful of events) to tens of seconds (a large batch waiting on a slow
# database): the range in which a batch's store time tells something.
_BATCH_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class StreamMetrics:
    """Counters per input topic (the contract name, without the environment prefix)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._newest_event: dict[str, float] = {}
        self.messages_in = Counter(
            "synopse_stream_messages_in", "Kafka messages read.", ["topic"], registry=self.registry
        )
        self.events_in = Counter(
            "synopse_stream_events_in",
            "Events read (valid and invalid; an envelope counts its events).",
            ["topic"],
            registry=self.registry,
        )
        self.events_stored = Counter(
            "synopse_stream_events_stored", "Events that inserted or updated a row.", ["topic"], registry=self.registry
        )
        self.events_unchanged = Counter(
            "synopse_stream_events_unchanged",
            "Events already stored as is (re-deliveries).",
            ["topic"],
            registry=self.registry,
        )
        self.events_dead_lettered = Counter(
            "synopse_stream_events_dead_lettered",
            "Messages or events sent to the dead-letter topic.",
            ["topic"],
            registry=self.registry,
        )
        self.store_retries = Counter(
            "synopse_stream_store_retries",
            "Batches retried after a database error.",
            ["topic"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "synopse_stream_batch_seconds",
            "Time to store a batch and dead-letter its rejects, retries included.",
            ["topic"],
            buckets=_BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.paused = Gauge(
            "synopse_stream_paused",
            "1 while the agent of a topic holds a batch it cannot store (database away): consumption paused.",
            ["topic"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "synopse_stream_consumer_lag",
            "Messages not yet committed by the group, per partition this worker holds (end - committed offset).",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.last_event_time = Gauge(
            "synopse_stream_last_event_timestamp_seconds",
            "Newest event time stored per topic (Unix seconds): a feed's freshness.",
            ["topic"],
            registry=self.registry,
        )
        self.last_batch_time = Gauge(
            "synopse_stream_last_batch_timestamp_seconds",
            "When this worker last stored a batch per topic (Unix seconds).",
            ["topic"],
            registry=self.registry,
        )
        self.assigned_partitions = Gauge(
            "synopse_stream_assigned_partitions",
            "Partitions currently assigned to this worker (0 until it has joined its group).",
            registry=self.registry,
        )

    def record_batch(
        self, topic: str, *, messages: int, events_in: int, counts: WriteCounts, dead_lettered: int
    ) -> None:
        """Count one processed batch."""
        self.messages_in.labels(topic).inc(messages)
        self.events_in.labels(topic).inc(events_in)
        self.events_stored.labels(topic).inc(counts.inserted + counts.updated)
        self.events_unchanged.labels(topic).inc(counts.unchanged)
        self.events_dead_lettered.labels(topic).inc(dead_lettered)

    def record_progress(self, rows: list[PartitionProgress]) -> None:
        """Note the newest event time and the batch time of each topic."""
        now = time.time()
        newest: dict[str, float] = {}
        for row in rows:
            when = row.last_event_at.timestamp() if row.last_event_at is not None else 0.0
            newest[row.topic] = max(newest.get(row.topic, 0.0), when)
        for topic, when in newest.items():
            self.last_batch_time.labels(topic).set(now)
            if when:
                self._newest_event[topic] = max(self._newest_event.get(topic, 0.0), when)
                self.last_event_time.labels(topic).set(self._newest_event[topic])

    def record_lag(self, lags: list[PartitionLag]) -> None:
        """Set the lag of the partitions this worker holds; partitions it no longer holds are dropped."""
        self.consumer_lag.clear()
        for lag in lags:
            self.consumer_lag.labels(lag.topic, str(lag.partition)).set(lag.lag)

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


def add_metrics_page(app: faust.App, metrics: StreamMetrics) -> None:
    """Serve ``metrics`` at ``/metrics`` on the app's web server."""

    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            # Read at scrape time: always current, and no rebalance callback to keep in step.
            metrics.assigned_partitions.set(len(app.consumer.assignment()))
            # The content type is passed as a header: aiohttp refuses a charset inside `content_type`.
            return self.bytes(metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.page(METRICS_PATH, name="metrics")(MetricsView)

