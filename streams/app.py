"""The faust app of the stream worker, built from Settings: its topics, agents and /metrics page.

Topics carry raw bytes (``value_serializer="raw"``): validation is the domain codec's job, so the shared
schema never depends on the stream framework. Building the app opens nothing; the worker starts it.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

import faust
from faust.types import TopicT

from streams.agents import BatchIngestor, register_agents
from streams.batches import Feed
from streams.decoding import ReferenceIds
from streams.metrics import StreamMetrics, add_metrics_page
from synopse.config import Settings, pseudonymisation_key
from synopse.domain.topics import DAILY_COUNT_TOPICS, INPUT_TOPICS, RAW_TOPICS
from synopse.errors import ConfigurationError

logger = logging.getLogger(__name__)

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


# faust creates its Kafka consumer with a fixed fetch_max_wait_ms of 1500. Apache Kafka answers a fetch
# as soon as records arrive, but some brokers (the embedded tansu) hold it much longer, which was most of
# the produce-to-row latency. 100 ms bounds that hold; when idle it costs ten small fetches a second.
FETCH_MAX_WAIT_MS = 100


def shorten_fetch_wait() -> None:
    """Make faust's consumers use FETCH_MAX_WAIT_MS (faust offers no setting for it; idempotent)."""
    from faust.transport.drivers import aiokafka as driver

    create = driver.AIOKafkaConsumerThread._create_worker_consumer
    if getattr(create, "synopse_fetch_wait", False):
        return

    def create_with_shorter_wait(self: Any, transport: Any) -> Any:
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by AIOKafkaConsumer.start() to build its fetcher
        return consumer

    create_with_shorter_wait.synopse_fetch_wait = True  # type: ignore[attr-defined]
    driver.AIOKafkaConsumerThread._create_worker_consumer = create_with_shorter_wait  # type: ignore[method-assign]


# The worker allocates millions of short-lived objects (validated events) beside ~80,000 long-lived ones
# (faust, aiokafka, pydantic schemas). With CPython's default thresholds a young collection runs every 700
# allocations and the older generations are rescanned often: the collector took ~40% of the decoding time
# (benchmarks/RESULTS.md). The objects built at start are frozen out of the scans, and a young collection
# runs every 50,000 allocations. Reference counting still frees each event when its batch is stored; only
# reference cycles (rare here) wait a little longer.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_garbage_collector() -> None:
    """Freeze what start-up allocated and space out collections (call once the app is built)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def app_options(settings: Settings) -> dict[str, Any]:
    """The faust settings of a Synopse stream app (shared with the benchmarks' no-op app)."""
    return dict(
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


def create_app(settings: Settings, ingestor: BatchIngestor | None = None) -> faust.App:
    """The stream worker's faust app, with one ingestion agent per input topic and ``/metrics``.

    Args:
        settings: The process settings.
        ingestor: Stores the batches; the worker passes its own to give it the database pool when it
            starts. A new one (without a pool) is made when omitted.
    """
    ingestor = ingestor or BatchIngestor(StreamMetrics(), consumer_group=settings.streams.app_id)
    shorten_fetch_wait()
    app = faust.App(settings.streams.app_id, **app_options(settings))
    add_metrics_page(app, ingestor.metrics)
    register_agents(
        app,
        input_feeds(app, settings, ingestor.reference),
        ingestor,
        batch_size=settings.streams.batch_size,
        batch_within_s=settings.streams.batch_within_s,
    )
    return app


def input_feeds(
    app: faust.App, settings: Settings, reference: ReferenceIds | None = None
) -> list[tuple[Feed, TopicT]]:
    """Each input topic as a bytes-valued faust topic, with how to decode it and its dead-letter topic.

    The JSON contract topics always; the raw clinical topics (HL7 v2 ADT, FHIR Encounter, decoded by
    ``streams.formats``) when a pseudonymisation key is available: without one a patient identifier
    could not be pseudonymised, so those topics are left unread (and said so in the log) rather than
    refused message by message.
    """
    feeds = [
        (Feed.json(spec, settings.kafka.topic(spec.dead_letter), reference), _bytes_topic(app, settings, spec.name))
        for spec in (*INPUT_TOPICS, *DAILY_COUNT_TOPICS)
    ]
    try:
        key = pseudonymisation_key(settings)
    except ConfigurationError as exc:
        logger.warning("raw clinical topics not consumed", extra={"reason": str(exc)})
        return feeds
    from streams.formats import raw_decoder

    for raw in RAW_TOPICS:
        decode = raw_decoder(raw, key, facilities=reference.facilities if reference else None)
        feed = Feed(raw.name, raw.target, settings.kafka.topic(raw.dead_letter), decode)
        feeds.append((feed, _bytes_topic(app, settings, raw.name)))
    return feeds


def _bytes_topic(app: faust.App, settings: Settings, name: str) -> TopicT:
    return app.topic(
        settings.kafka.topic(name),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.kafka.partitions,
    )
