"""PostgreSQL stopped for 30 s while events flow: the worker pauses, retries, never exits, and loses nothing.

The server is an embedded PostgreSQL of this test's own, on a free port (never the machine's), stopped
and started again on the same data directory, as a restart or a failover would.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.domain.events import Admission
from synopse.producer import EventProducer
from synopse.runtime.ports import find_free_port
from synopse.runtime.postgres import EmbeddedPostgres
from tests.integration.streams.streams_support import WorkerProcess, admissions, metric, wait_until

pytestmark = pytest.mark.integration

OUTAGE_S = 30.0
# Events sent every tenth of a second from before the outage to after it: a steady live feed.
EVENTS_PER_SEND = 20
SEND_EVERY_S = 0.1
# After the restart the backlog of the outage (about 6,000 events) drains in seconds; 120 s is for CI.
RECOVERY_TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("outage") / "pgdata", find_free_port())
    server.start()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            migrate(conn)
        with psycopg.connect(server.dsn()) as conn:
            seed_territory(conn)
        yield server
    finally:
        server.stop()


class Feed(threading.Thread):
    """Sends admissions at a steady pace until stopped; remembers every event sent."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.producer = EventProducer(bootstrap, prefix)
        self.sent: list[Admission] = []
        self.halt = threading.Event()
        self.start_at = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)

    def run(self) -> None:
        while not self.halt.is_set():
            batch = admissions(EVENTS_PER_SEND, start=self.start_at + len(self.sent) * timedelta(milliseconds=100),
                               step=timedelta(milliseconds=5))
            self.producer.send(batch)
            self.sent.extend(batch)
            time.sleep(SEND_EVERY_S)
        self.producer.flush()
        self.producer.close()


def stored(dsn: str, ids: list[uuid.UUID]) -> int:
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            row = conn.execute("SELECT count(*) FROM admissions WHERE event_id = ANY(%s)", (ids,)).fetchone()
    except psycopg.OperationalError:
        return -1
    return int(row[0]) if row else 0


def test_postgres_down_for_30_s_while_events_flow(
    own_postgres: EmbeddedPostgres, kafka_bootstrap: str, worker_home: Path
) -> None:
    prefix = f"o{uuid.uuid4().hex[:10]}."
    dsn = own_postgres.dsn()
    worker = WorkerProcess.configure(bootstrap=kafka_bootstrap, dsn=dsn, prefix=prefix, app_id=f"g-{prefix}",
                                     web_port=find_free_port(), home=worker_home)
    feed = Feed(kafka_bootstrap, prefix)
    try:
        worker.start()
        pid = worker.process.pid if worker.process else None
        feed.start()
        wait_until(lambda: stored(dsn, [e.event_id for e in list(feed.sent)[:50]]) == 50, what="the first events")

        own_postgres.stop()
        down_since = time.monotonic()
        paused = False
        while time.monotonic() - down_since < OUTAGE_S:
            assert worker.running(), f"the worker exited during the outage:\n{worker.log_tail()}"
            paused = paused or metric(worker.metrics(), 'synopse_stream_paused{topic="synopse.admissions.v1"}') == 1
            time.sleep(1)
        assert paused, "the worker never reported a paused consumption"
        assert worker.counter("synopse_stream_store_retries", "synopse.admissions.v1") > 0
        own_postgres.start()

        time.sleep(2)  # a little more of the live feed after the restart
        feed.halt.set()
        feed.join(30)
        ids = [e.event_id for e in feed.sent]
        wait_until(lambda: stored(dsn, ids) == len(ids), timeout_s=RECOVERY_TIMEOUT_S,
                   what=f"all {len(ids)} events sent before, during and after the outage")
        wait_until(lambda: metric(worker.metrics(), 'synopse_stream_paused{topic="synopse.admissions.v1"}') == 0,
                   what="the worker to report consumption resumed")
        assert worker.running() and worker.process is not None and worker.process.pid == pid  # never restarted
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM admissions").fetchone()
        assert row == (len(ids), len(ids))
    finally:
        feed.halt.set()
        if own_postgres.poll() is not None or own_postgres.pid is None:
            own_postgres.start()
        code = worker.stop() if worker.running() else 0
    assert code == 0, worker.log_tail()
