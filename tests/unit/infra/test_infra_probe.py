"""synopse-probe: the worker's probes read the metrics the worker really publishes and fail when it stops consuming.

The metrics text comes from the worker's own ``StreamMetrics`` (so a renamed gauge breaks this test, not a
production probe), served by a local HTTP server as the worker's web port would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from streams.metrics import StreamMetrics
from synopse.db.health import PartitionLag, PartitionProgress
from tests.unit.infra.infra_support import probe_module

probe = probe_module()
ADMISSIONS = "synopse.admissions.v1"
BEDS = "synopse.bed_snapshots.v1"


def _metrics(*, assigned: int, lags: dict[str, int], stored: list[str], paused: list[str] = ()) -> StreamMetrics:
    metrics = StreamMetrics()
    metrics.assigned_partitions.set(assigned)
    metrics.record_lag(
        [PartitionLag(topic=t, partition=0, end_offset=100 + lag, committed_offset=100) for t, lag in lags.items()]
    )
    metrics.record_progress(
        [PartitionProgress(topic=t, partition=0, messages=1, events_in=1, dead_lettered=0, last_offset=1,
                           last_event_at=datetime.now(UTC)) for t in stored]
    )
    for topic in paused:
        metrics.paused.labels(topic).set(1)
    return metrics


def test_the_probe_reads_the_worker_gauges() -> None:
    text = _metrics(assigned=3, lags={ADMISSIONS: 5, BEDS: 0}, stored=[ADMISSIONS], paused=[BEDS]).render().decode()
    state = probe.parse_metrics(text)
    assert state.assigned_partitions == 3
    assert state.lag == {ADMISSIONS: 5.0, BEDS: 0.0}
    assert state.paused == {BEDS}
    assert set(state.last_batch) == {ADMISSIONS} and abs(state.last_batch[ADMISSIONS] - time.time()) < 60


@pytest.mark.parametrize(
    ("assigned", "lag", "stored_ago", "paused", "up_ago", "stalled"),
    [
        (6, 0, None, False, 3600, False),  # idle: nothing to read
        (0, 50, None, False, 3600, False),  # no partition held (more replicas than partitions)
        (6, 50, 5, False, 3600, False),  # consuming
        (6, 50, 600, False, 3600, True),  # lag waits, nothing stored for 10 minutes
        (6, 50, 600, True, 3600, False),  # paused on the database: it retries by itself
        (6, 50, None, False, 30, False),  # just started: the first batch is coming
        (6, 50, None, False, 600, True),  # started 10 minutes ago, never stored, lag waits
    ],
)
def test_a_stall_is_lag_without_progress(
    assigned: int, lag: int, stored_ago: float | None, paused: bool, up_ago: float, stalled: bool
) -> None:
    now = 1_800_000_000.0
    state = probe.WorkerState(
        assigned_partitions=assigned,
        lag={ADMISSIONS: float(lag)},
        paused={ADMISSIONS} if paused else set(),
        last_batch={} if stored_ago is None else {ADMISSIONS: now - stored_ago},
    )
    expected = [ADMISSIONS] if stalled else []
    assert probe.stalled_topics(state, now=now, stall_after_s=180, up_since=now - up_ago) == expected


class _Page(BaseHTTPRequestHandler):
    body: ClassVar[bytes] = b""
    status: ClassVar[int] = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def page() -> Iterator[tuple[str, type[_Page]]]:
    handler = type("Page", (_Page,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics", handler
    server.shutdown()
    server.server_close()


def test_the_worker_probes_exit_codes(page: tuple[str, type[_Page]], capsys: pytest.CaptureFixture[str]) -> None:
    url, handler = page
    handler.body = _metrics(assigned=6, lags={ADMISSIONS: 10}, stored=[ADMISSIONS]).render()
    for mode in ("started", "ready", "live"):
        assert probe.main(["worker", mode, "--url", url]) == 0, mode
    # Stalled: a minute-old batch with lag, judged with a 30 s threshold.
    stale = _metrics(assigned=6, lags={ADMISSIONS: 10}, stored=[ADMISSIONS])
    stale.last_batch_time.labels(ADMISSIONS).set(time.time() - 60)
    handler.body = stale.render()
    assert probe.main(["worker", "live", "--url", url, "--stall-after", "30"]) == 1
    assert "stopped consuming" in capsys.readouterr().out
    handler.body = _metrics(assigned=6, lags={ADMISSIONS: 10}, stored=[], paused=[ADMISSIONS]).render()
    assert probe.main(["worker", "ready", "--url", url]) == 1
    assert probe.main(["worker", "live", "--url", url, "--stall-after", "0"]) == 0  # paused is not stuck


def test_http_probe_and_an_unreachable_worker(page: tuple[str, type[_Page]]) -> None:
    url, handler = page
    handler.body = b"OK"
    assert probe.main(["http", url]) == 0
    handler.status = 503
    assert probe.main(["http", url]) == 1
    assert probe.main(["--timeout", "1", "worker", "live", "--url", "http://127.0.0.1:9/metrics"]) == 1


def test_the_container_start_time_is_in_the_past() -> None:
    started = probe.container_started_at()
    assert started is not None and started < time.time()
