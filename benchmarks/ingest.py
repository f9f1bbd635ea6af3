"""Benchmark of the ingestion path: producer -> broker -> stream worker -> PostgreSQL rows.

Produces environment observations and admissions in batch envelopes (synopse.producer) to a fresh topic
prefix, runs the stream worker (``python -m streams.worker``) and measures:

- throughput: events per second from the first produce to the last row being queryable;
- latency: produce -> row stored (``ingested_at`` minus the time the event was handed to the producer)
  for a sample, in the bulk run (backlog included) and in a paced run at a steady rate.

Starts its own embedded broker unless ``SYNOPSE_BENCH_KAFKA`` gives one; uses the PostgreSQL server
of ``SYNOPSE_BENCH_PG_DSN`` (a superuser DSN), else 127.0.0.1:5432, in a scratch database dropped at
the end. Usage::

    .venv/bin/python benchmarks/ingest.py --observations 200000 --admissions 50000 --record
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.domain.codes import INDICATOR_RANGES, INDICATOR_UNITS, AgeBand, ReasonCategory
from synopse.domain.events import Admission, EnvironmentObservation, Event
from synopse.domain.territory import FACILITIES, STATIONS
from synopse.producer import DEFAULT_CHUNK_EVENTS, EventProducer
from synopse.runtime.broker import EmbeddedBroker
from synopse.runtime.ports import find_free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
# Events handed to the producer per call: each call's time stamps its events for the latency sample,
# so a call must be short (a few milliseconds) compared with the latencies measured.
SEND_SLICE = 5000
# One event in 50 is sampled for latency: thousands of samples, one cheap query.
SAMPLE_EVERY = 50
# Generous: at the slowest rate seen on a 2-core machine the default run takes well under a minute.
DRAIN_TIMEOUT_S = 600.0
BASE = datetime(2024, 1, 1, tzinfo=UTC)


def make_observations(n: int, offset_s: int = 0) -> list[EnvironmentObservation]:
    """n observations with distinct natural keys, spread over the stations and their indicators."""
    series = [(s.station_id, ind) for s in STATIONS for ind in s.indicators]
    events = []
    for i in range(n):
        station, indicator = series[i % len(series)]
        unit = INDICATOR_UNITS[indicator]
        low, high = INDICATOR_RANGES[unit]
        events.append(EnvironmentObservation(
            event_id=uuid.uuid4(), station_id=station, indicator=indicator, unit=unit,
            value=low + (high - low) * ((i * 7919) % 1000) / 1000, observed_at=BASE + timedelta(seconds=offset_s + i),
        ))
    return events


def make_admissions(n: int, offset_s: int = 0) -> list[Admission]:
    """n admissions spread over the facilities and their care units."""
    units = [(f.facility_id, unit) for f in FACILITIES for unit in f.beds]
    bands, reasons = list(AgeBand), list(ReasonCategory)
    return [
        Admission(
            event_id=uuid.uuid4(), facility_id=units[i % len(units)][0], care_unit=units[i % len(units)][1],
            admitted_at=BASE + timedelta(seconds=offset_s + i), age_band=bands[i % len(bands)],
            reason=reasons[i % len(reasons)], patient_key=hashlib.sha256(str(i).encode()).hexdigest(),
            commune_code="44109",
        )
        for i in range(n)
    ]


@contextmanager
def broker() -> Iterator[str]:
    given = os.environ.get("SYNOPSE_BENCH_KAFKA")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(find_free_port(), log_path=Path(tmp) / "tansu.log") as b:
        yield b.bootstrap_servers


@contextmanager
def scratch_database() -> Iterator[str]:
    admin = os.environ.get("SYNOPSE_BENCH_PG_DSN", DEFAULT_PG)
    name = f"synopse_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # generated name, not input
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
        with psycopg.connect(dsn) as conn:
            seed_territory(conn)
        yield dsn
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def worker(bootstrap: str, dsn: str, prefix: str, args: argparse.Namespace) -> Iterator[int]:
    """The stream worker as a child process; yields its web port once it has joined its group."""
    port = find_free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNOPSE_")}
    env.update(
        SYNOPSE_KAFKA__BOOTSTRAP_SERVERS=bootstrap, SYNOPSE_DB__DSN=dsn, SYNOPSE_KAFKA__TOPIC_PREFIX=prefix,
        SYNOPSE_STREAMS__APP_ID=f"bench-{prefix}", SYNOPSE_STREAMS__WEB_PORT=str(port),
        SYNOPSE_STREAMS__BATCH_SIZE=str(args.batch_size), SYNOPSE_STREAMS__BATCH_WITHIN_S=str(args.batch_within),
        SYNOPSE_RUNTIME__HOME=tempfile.mkdtemp(prefix="synopse-bench-"), SYNOPSE_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen([sys.executable, "-m", "streams.worker"], cwd=REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while assigned_partitions(port) == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stream worker did not start")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def assigned_partitions(port: int) -> float:
    with suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("synopse_stream_assigned_partitions "):
                return float(line.split()[1])
    return 0.0


def row_count(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM environment_observations) + (SELECT count(*) FROM admissions)"
        ).fetchone()
    return int(row[0]) if row else 0


def produce(producer: EventProducer, events: Sequence[Event], rate: float | None) -> dict[uuid.UUID, datetime]:
    """Send events in slices (paced at ``rate`` events/s if given); returns the send time of a sample."""
    sent_at: dict[uuid.UUID, datetime] = {}
    started = time.monotonic()
    slice_size = SEND_SLICE if rate is None else max(1, int(rate / 10))  # paced: ten sends a second
    for start in range(0, len(events), slice_size):
        if rate is not None:
            pause = started + start / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        chunk = events[start : start + slice_size]
        now = datetime.now(UTC)
        producer.send(chunk)
        for event in chunk[::SAMPLE_EVERY]:
            sent_at[event.event_id] = now
    producer.flush()
    return sent_at


def wait_rows(dsn: str, expected: int) -> float:
    """Poll until ``expected`` rows are queryable; returns the monotonic time they were."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while row_count(dsn) < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {row_count(dsn)} of {expected} rows after {DRAIN_TIMEOUT_S:.0f} s")
        time.sleep(0.05)
    return time.monotonic()


def latencies_ms(dsn: str, sent_at: dict[uuid.UUID, datetime]) -> list[float]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT event_id, ingested_at FROM environment_observations WHERE event_id = ANY(%s) "
            "UNION ALL SELECT event_id, ingested_at FROM admissions WHERE event_id = ANY(%s)",
            (list(sent_at), list(sent_at)),
        ).fetchall()
    return sorted((ingested - sent_at[event_id]).total_seconds() * 1000 for event_id, ingested in rows)


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=100)
    return f"p50 {cuts[49]:.0f} ms, p95 {cuts[94]:.0f} ms, p99 {cuts[98]:.0f} ms (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--admissions", type=int, default=50_000)
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK_EVENTS, help="events per envelope")
    parser.add_argument("--batch-size", type=int, default=1000, help="messages per worker batch")
    parser.add_argument("--batch-within", type=float, default=0.5, help="longest wait to fill a batch (s)")
    parser.add_argument("--paced-rate", type=float, default=5000.0, help="events/s of the paced latency run")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--record", action="store_true", help=f"append the figures to {RESULTS.name}")
    args = parser.parse_args()

    # Other processes on the machine skew the figures: the load before the run is recorded with them.
    load_before = os.getloadavg()[0]
    bulk: list[Event] = [*make_observations(args.observations), *make_admissions(args.admissions)]
    paced_n = int(args.paced_rate * args.paced_seconds)
    paced: list[Event] = make_observations(paced_n, offset_s=10_000_000)
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    with (
        broker() as bootstrap,
        scratch_database() as dsn,
        worker(bootstrap, dsn, prefix, args),
        EventProducer(bootstrap, prefix, chunk_events=args.chunk) as producer,
    ):
        started = time.monotonic()
        sent_at = produce(producer, bulk, rate=None)
        produced = time.monotonic()
        done = wait_rows(dsn, len(bulk))
        bulk_latency = latencies_ms(dsn, sent_at)
        sent_at = produce(producer, paced, rate=args.paced_rate)
        wait_rows(dsn, len(bulk) + paced_n)
        paced_latency = latencies_ms(dsn, sent_at)

    throughput = len(bulk) / (done - started)
    lines = [
        f"events: {args.observations} observations + {args.admissions} admissions, {args.chunk} per envelope; "
        f"worker batch {args.batch_size} messages / {args.batch_within} s",
        f"produce: {len(bulk) / (produced - started):,.0f} events/s; "
        f"end to end: {throughput:,.0f} events/s ({done - started:.1f} s to all rows queryable)",
        f"latency, bulk run (backlog included): {percentiles(bulk_latency)}",
        f"latency, paced at {args.paced_rate:,.0f} events/s for {args.paced_seconds:.0f} s: "
        f"{percentiles(paced_latency)}",
        f"1-minute load average before the run: {load_before:.2f}",
    ]
    print("\n".join(lines))
    if args.record:
        record(lines)


def record(lines: list[str]) -> None:
    with psycopg.connect(os.environ.get("SYNOPSE_BENCH_PG_DSN", DEFAULT_PG)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"
    pg_version = row[0] if row else "?"
    with RESULTS.open("a") as out:
        out.write(f"\n### ingest.py — {stamp}\n\n")
        out.write(f"Machine: {machine}; PostgreSQL {pg_version}; embedded tansu broker; all on one machine.\n\n")
        out.writelines(f"- {line}\n" for line in lines)


if __name__ == "__main__":
    main()
