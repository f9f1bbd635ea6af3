"""The faust app of the stream worker, built from Settings: its topics, agents and /metrics page.

Topics carry raw bytes (``value_serializer="raw"``): validation is the domain codec's job, so the shared
schema never depends on the stream framework. Building the app opens nothing; the worker starts it.
"""

from __future__ import annotations

import faust
from faust.types import TopicT

from streams.agents import BatchIngestor, register_agents
from streams.metrics import StreamMetrics, add_metrics_page
from synopse.config import Settings
from synopse.domain.topics import INPUT_TOPICS, TopicSpec

# Consumer-group timeouts, far below faust's 60 s defaults (faust settings broker_session_timeout,
# broker_heartbeat_interval, broker_rebalance_timeout, in seconds). Some brokers complete a group join
# only once known members have joined or missed their session timeout: on the embedded tansu the first
# message arrives ~33 s after start with the defaults, ~4.5 s with these. A dead worker's partitions
# move after 6 s instead of a minute. 6 s is also the lowest session timeout Apache Kafka accepts by
# default (group.min.session.timeout.ms), and it stays far above the longest loop stall we allow
# (agents yield to the loop between messages), so a busy worker is not evicted.
SESSION_TIMEOUT_S = 6.0
# Kafka wants heartbeats well inside the session timeout; 1 s allows several misses before eviction.
HEARTBEAT_INTERVAL_S = 1.0
REBALANCE_TIMEOUT_S = 6.0
# Commit acked offsets at least every second: after a crash at most a second of already stored
# batches is redelivered (and rewritten idempotently).
COMMIT_INTERVAL_S = 1.0


def _broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{server.strip()}" for server in bootstrap_servers.split(",")]


def create_app(settings: Settings, ingestor: BatchIngestor | None = None) -> faust.App:
    """The stream worker's faust app, with one ingestion agent per input topic and ``/metrics``.

    Args:
        settings: The process settings.
        ingestor: Stores the batches; the worker passes its own to give it the database pool when it
            starts. A new one (without a pool) is made when omitted.
    """
    ingestor = ingestor or BatchIngestor(StreamMetrics())
    app = faust.App(
        settings.streams.app_id,
        broker=_broker_urls(settings.bootstrap_servers),
        broker_client_id=settings.kafka.client_id,
        value_serializer="raw",
        key_serializer="raw",
        autodiscover=False,
        # No tables: nothing to keep on disk; the data directory is where faust would put it.
        store="memory://",
        datadir=str(settings.runtime.home / "streams" / settings.streams.app_id),
        # The leader topic only serves faust's @app.timer(on_leader=True), which Synopse does not use;
        # not declaring it keeps the broker free of an internal topic per environment.
        topic_disable_leader=True,
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=settings.kafka.replication_factor,
        # A new consumer group starts from the oldest retained message: nothing sent before the first
        # worker started is skipped.
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_heartbeat_interval=HEARTBEAT_INTERVAL_S,
        broker_rebalance_timeout=REBALANCE_TIMEOUT_S,
        broker_commit_interval=COMMIT_INTERVAL_S,
        # Do not wait for in-flight batches before a rebalance or a stop: a batch retrying against a
        # database that is down would block the stop forever. Nothing unstored is ever acked, and the
        # writes are idempotent, so an interrupted batch is simply redelivered (faust's documented case).
        stream_wait_empty=False,
        web_enabled=True,
        web_port=settings.streams.web_port,
    )
    add_metrics_page(app, ingestor.metrics)
    register_agents(
        app,
        input_topics(app, settings),
        ingestor,
        batch_size=settings.streams.batch_size,
        batch_within_s=settings.streams.batch_within_s,
    )
    return app


def input_topics(app: faust.App, settings: Settings) -> dict[TopicSpec, tuple[TopicT, str]]:
    """Each input topic as a bytes-valued faust topic, with the full name of its dead-letter topic."""
    return {
        spec: (
            app.topic(
                settings.kafka.topic(spec.name),
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=settings.kafka.partitions,
            ),
            settings.kafka.topic(spec.dead_letter),
        )
        for spec in INPUT_TOPICS
    }

