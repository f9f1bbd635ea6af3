"""Benchmark: from an event crossing a threshold entering Kafka to the webhook receiver holding the notification.

Runs what `synopse up` runs, as separate processes: the embedded tansu broker, the stream worker
(`python -m streams.worker`, default settings: 0.5 s batch window) and the alerts service
(`python -m alerts run`, default settings), with PostgreSQL from SYNOPSE_BENCH_PG_DSN or 127.0.0.1:5432 in a
scratch database. A real HTTP receiver in this process stands for a subscriber. Each trial sends one bed
snapshot that takes an ICU over 95 % (firing), waits for the webhook, then one that brings it back under 90 %
(resolved), waits again: two latencies per trial, measured from the producer's send to the receiver's
arrival (one clock, this process)::

    .venv/bin/python -m benchmarks.alerts_latency --trials 30 --record
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from aiohttp import web

from benchmarks.alerts_results import machine_line, record, scratch_database
from synopse.db import alert_delivery as outbox
from synopse.domain.codes import CareUnit
from synopse.domain.events import BedSnapshot
from synopse.producer import EventProducer
from synopse.runtime.broker import EmbeddedBroker
from synopse.runtime.ports import find_free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
RULES = """
version: 1
rules:
  - id: icu
    name: ICU full
    kind: threshold
    indicator: occupancy_rate
    scope: {level: facility}
    filters: {care_unit: icu}
    levels: [{severity: critical, enter: 0.95, exit: 0.90}]
    keep_firing_for: 0s
"""


class Receiver:
    def __init__(self) -> None:
        self.port = find_free_port()
        self.arrivals: list[tuple[float, bytes]] = []
        self.arrived = threading.Condition()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._serve, daemon=True).start()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self.arrived:
            self.arrivals.append((time.perf_counter(), body))
            self.arrived.notify_all()
        return web.Response(text="ok")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._loop.run_forever()

    def wait(self, count: int, timeout_s: float = 30.0) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.arrivals) >= count, timeout_s):
                raise SystemExit(f"no notification {count} within {timeout_s} s")
            return self.arrivals[count - 1][0]


def wait_http(url: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout_s} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    broker = EmbeddedBroker(port=find_free_port(), log_path=home / "broker.log")
    broker.start()
    receiver = Receiver()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with scratch_database() as dsn:
            machine = machine_line(dsn)
            with psycopg.connect(dsn) as conn:
                outbox.upsert_subscriber(conn, "bench", name="bench", kind="webhook",
                                         target=f"http://127.0.0.1:{receiver.port}/hook")
            (home / "rules.yaml").write_text(RULES, encoding="utf-8")
            web_port, alerts_port = find_free_port(), find_free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("SYNOPSE_")}
            env.update(SYNOPSE_KAFKA__BOOTSTRAP_SERVERS=broker.bootstrap_servers, SYNOPSE_DB__DSN=dsn,
                       SYNOPSE_RUNTIME__HOME=str(home), SYNOPSE_STREAMS__WEB_PORT=str(web_port),
                       SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY=secrets.token_hex(32),
                       SYNOPSE_ALERTS__RULES_PATH=str(home / "rules.yaml"), SYNOPSE_ALERTS__PORT=str(alerts_port),
                       SYNOPSE_LOG_LEVEL="WARNING")
            for module, log in (("streams.worker", "worker.log"), ("alerts", "alerts.log")):
                argv = [sys.executable, "-m", module] + (["run"] if module == "alerts" else [])
                with (home / log).open("ab") as handle:
                    processes.append(subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=handle, stderr=handle))
            wait_http(f"http://127.0.0.1:{web_port}/metrics")
            wait_http(f"http://127.0.0.1:{alerts_port}/health")
            latencies: list[float] = []
            sent_wall: list[float] = []  # wall clock of each counted send, to split the path with the DB's times
            with EventProducer(broker.bootstrap_servers) as producer:
                # Warm-up: the worker's first batch waits for its group join; not counted.
                expected = 0
                for trial in range(args.trials + 1):
                    for occupied in (16, 9):
                        event = BedSnapshot(event_id=uuid.uuid4(), facility_id="hp-confluent", care_unit=CareUnit.ICU,
                                            observed_at=datetime.now(UTC), beds_total=16, beds_occupied=occupied)
                        sent, wall = time.perf_counter(), time.time()
                        producer.send([event])
                        producer.flush()
                        expected += 1
                        arrived = receiver.wait(expected, 60)
                        if trial > 0:
                            latencies.append(arrived - sent)
                            sent_wall.append(wall)
                    time.sleep(0.2)
            with psycopg.connect(dsn) as conn:
                rows = conn.execute(
                    "SELECT extract(epoch FROM created_at), extract(epoch FROM delivered_at - created_at)"
                    " FROM alert_notifications WHERE subscriber_id = 'bench' ORDER BY created_at").fetchall()
            queued = [float(r[0]) - s for r, s in zip(rows[2:], sent_wall, strict=False)]
            delivered = [float(r[1]) for r in rows[2:]]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        broker.stop()
    ms = [value * 1000 for value in latencies]
    lines = [
        machine,
        "",
        "- path: producer -> embedded tansu broker -> stream worker (batch window 0.5 s) -> PostgreSQL -> NOTIFY "
        "-> alerts evaluator -> outbox -> notifier -> HTTP receiver; default settings",
        f"- {len(ms)} notifications ({args.trials} firing + {args.trials} resolved): "
        f"p50 {statistics.median(ms):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, max {max(ms):.0f} ms "
        "(target p95 < 2000 ms)",
        f"- split: send -> notification queued (broker, worker batch, store, NOTIFY, evaluation) p50 "
        f"{statistics.median(queued) * 1000:.0f} ms, p95 {percentile(queued, 0.95) * 1000:.0f} ms; queued -> "
        f"delivered (notifier wake-up, HTTP round trip, ledger) p50 {statistics.median(delivered) * 1000:.0f} ms, "
        f"p95 {percentile(delivered, 0.95) * 1000:.0f} ms",
    ]
    print("\n".join(lines))
    if args.record:
        record("alerts_latency.py", lines)


if __name__ == "__main__":
    main()
