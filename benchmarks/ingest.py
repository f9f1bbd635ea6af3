"""Benchmark of the ingestion path, each figure next to its ceiling measured in the same run.

Phases (each on fresh topics; the store's tables are emptied between phases):

1. ceiling A: a raw aiokafka consumer upserting envelopes into PostgreSQL (``json.loads``, text COPY into
   a staging table, the same ``INSERT ... ON CONFLICT``; no validation, no faust, no live tables);
2. the faust worker on the same backlog of envelopes: events/s, and the time to replay the backlog;
3. ceiling B: a faust agent doing nothing, on a backlog of single-event messages (two shapes of "nothing":
   ``async for`` with faust's own acks, and ``noack_take`` batches acked by hand; the faster one counts);
4. the faust worker on the same single-event backlog;
5. latency from produce to queryable row at a steady rate (a poller sees each sampled row appear);
6. optionally (``--soak-minutes``): a worker's memory over a long paced run.

Rates are measured while draining a backlog produced beforehand, from the first progress seen to the
last event stored (the same way for a ceiling and its figure), so the producer does not compete for
the CPU. Starts its own embedded broker unless ``SYNOPSE_BENCH_KAFKA`` gives one; uses the PostgreSQL of
``SYNOPSE_BENCH_PG_DSN`` (superuser), else 127.0.0.1:5432, in a scratch database dropped at the end::

    .venv/bin/python benchmarks/ingest.py --record
    .venv/bin/python benchmarks/ingest.py --only soak --soak-minutes 10 --record
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import psycopg

from benchmarks import results_file
from benchmarks.scratch import admin_dsn, scratch_database
from synopse.config import Settings, StreamsSettings
from synopse.domain.codes import INDICATOR_RANGES, INDICATOR_UNITS, AgeBand, ReasonCategory
from synopse.domain.events import Admission
from synopse.domain.territory import FACILITIES, STATIONS
from synopse.domain.topics import ENVIRONMENT
from synopse.producer import EventProducer
from synopse.runtime.broker import EmbeddedBroker
from synopse.runtime.ports import find_free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE = datetime(2024, 1, 1, tzinfo=UTC)
# Generous: the slowest phase seen on a loaded 2-core machine drains in well under two minutes.
DRAIN_TIMEOUT_S = 600.0
# Progress is polled this often (a sum over a few rows of pipeline_health: negligible load).
POLL_S = 0.02
# One paced event in 10 is sampled for latency; the poller looks for the outstanding ones every 20 ms.
SAMPLE_EVERY = 10
LATENCY_POLL_S = 0.02
# Events per envelope, as synopse.producer sends them.
ENVELOPE_EVENTS = 500
TABLES = ("environment_observations", "admissions", "live_activity_hourly", "pipeline_health", "source_freshness")


# Data --------------------------------------------------------------------------------------------------

def observation_json(n: int, offset_s: int = 0) -> Iterator[tuple[str, str]]:
    """(station, JSON) of n valid observations with distinct natural keys (built as text: fast)."""
    series = [(s.station_id, ind) for s in STATIONS for ind in s.indicators]
    for i in range(n):
        station, indicator = series[i % len(series)]
        unit = INDICATOR_UNITS[indicator]
        low, high = INDICATOR_RANGES[unit]
        value = low + (high - low) * ((i * 7919) % 1000) / 1000
        at = (BASE + timedelta(seconds=offset_s + i)).isoformat().replace("+00:00", "Z")
        yield station, json.dumps({
            "event_id": str(uuid.uuid4()), "station_id": station, "indicator": indicator.value, "value": value,
            "unit": unit, "observed_at": at,
        }, ensure_ascii=False)


def envelopes(n: int, offset_s: int = 0) -> list[tuple[bytes, bytes]]:
    """(key, value) of n observations as batch envelopes of ENVELOPE_EVENTS events per station."""
    by_station: dict[str, list[str]] = {}
    for station, doc in observation_json(n, offset_s):
        by_station.setdefault(station, []).append(doc)
    out = []
    for station, docs in by_station.items():
        for start in range(0, len(docs), ENVELOPE_EVENTS):
            out.append((station.encode(), ('{"events":[' + ",".join(docs[start : start + ENVELOPE_EVENTS]) + "]}")
                        .encode()))
    return out


def singles(n: int, offset_s: int = 0) -> list[tuple[bytes, bytes]]:
    return [(station.encode(), doc.encode()) for station, doc in observation_json(n, offset_s)]


def admissions(n: int, start: datetime) -> list[Admission]:
    units = [(f.facility_id, unit) for f in FACILITIES for unit in f.beds]
    bands, reasons = list(AgeBand), list(ReasonCategory)
    return [
        Admission(event_id=uuid.uuid4(), facility_id=units[i % len(units)][0], care_unit=units[i % len(units)][1],
                  admitted_at=start + timedelta(milliseconds=10 * i), age_band=bands[i % len(bands)],
                  reason=reasons[i % len(reasons)], patient_key=uuid.uuid4().hex * 2, commune_code="44109")
        for i in range(n)
    ]


# Services ----------------------------------------------------------------------------------------------

@contextmanager
def broker() -> Iterator[str]:
    given = os.environ.get("SYNOPSE_BENCH_KAFKA")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(find_free_port(), log_path=Path(tmp) / "tansu.log") as b:
        yield b.bootstrap_servers


def empty_tables(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(TABLES))  # constant names
        conn.execute("VACUUM ANALYZE")


def topic_names(settings: Settings) -> list[str]:
    from streams.worker import topic_names as names

    return names(settings)


def settings_for(bootstrap: str, prefix: str) -> Settings:
    return Settings(kafka={"bootstrap_servers": bootstrap, "topic_prefix": prefix})


def produce_backlog(bootstrap: str, prefix: str, messages: list[tuple[bytes, bytes]]) -> float:
    """Send the messages to the environment topic; returns messages/s."""
    from streams.worker import ensure_topics

    asyncio.run(ensure_topics(settings_for(bootstrap, prefix)))
    started = time.monotonic()
    with EventProducer(bootstrap, prefix, linger_ms=20, batch_size=1_000_000) as producer:
        for key, value in messages:
            producer.send_raw(ENVIRONMENT.name, value, key=key)
        producer.flush(timeout_s=300)
    return len(messages) / (time.monotonic() - started)


@dataclass
class WorkerProc:
    proc: subprocess.Popen[bytes]
    port: int
    group: str


@contextmanager
def worker(bootstrap: str, dsn: str, prefix: str, args: argparse.Namespace, *, module: str = "streams.worker",
           extra: dict[str, str] | None = None, wait: bool = True) -> Iterator[WorkerProc]:
    """A stream worker (or the no-op app) as a child process; yields once it holds partitions (``wait``)."""
    port = find_free_port()
    group = f"bench-{prefix}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNOPSE_")}
    env.update(
        SYNOPSE_KAFKA__BOOTSTRAP_SERVERS=bootstrap, SYNOPSE_DB__DSN=dsn, SYNOPSE_KAFKA__TOPIC_PREFIX=prefix,
        SYNOPSE_STREAMS__APP_ID=group, SYNOPSE_STREAMS__WEB_PORT=str(port),
        SYNOPSE_STREAMS__BATCH_SIZE=str(args.batch_size), SYNOPSE_STREAMS__BATCH_WITHIN_S=str(args.batch_within),
        SYNOPSE_RUNTIME__HOME=tempfile.mkdtemp(prefix="synopse-bench-"), SYNOPSE_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO_ROOT),
        # The worker reads the raw clinical topics too, as in production (a throwaway key: no real data here).
        SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY="synopse-benchmark-key-0123456789abcdef",
    )
    env.update(extra or {})
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while wait and assigned_partitions(port) == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{module} did not start")
            time.sleep(0.1)
        yield WorkerProc(proc, port, group)
    finally:
        proc.terminate()
        proc.wait(60)


def assigned_partitions(port: int) -> float:
    with suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("synopse_stream_assigned_partitions "):
                return float(line.split()[1])
    return 0.0


def drain_rate(dsn: str, group: str, expected: int) -> tuple[float, float]:
    """Poll the events the worker stored until ``expected``; returns (events/s, seconds to drain).

    The rate runs from the first progress seen to the last event; the drain time from the first call.
    """
    started = time.monotonic()
    first: tuple[float, int] | None = None
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT coalesce(sum(events_in), 0) FROM pipeline_health WHERE consumer_group = %s", (group,)
            ).fetchone()
            done = int(row[0]) if row else 0
            now = time.monotonic()
            if done and first is None:
                first = (now, done)
            if done >= expected:
                break
            if now - started > DRAIN_TIMEOUT_S:
                raise RuntimeError(f"only {done} of {expected} events after {DRAIN_TIMEOUT_S:.0f} s")
            time.sleep(POLL_S)
    if first is None:
        raise RuntimeError("no progress seen")
    rate = (expected - first[1]) / max(now - first[0], 1e-9) if expected > first[1] else float("nan")
    return rate, now - started


def stored_rows(dsn: str, table: str = "environment_observations") -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 (constant names)
    return int(row[0]) if row else 0


def expect_rows(dsn: str, expected: int) -> None:
    """Idempotence check after a phase: exactly the events sent, none missing, none twice."""
    rows = stored_rows(dsn)
    if rows != expected:
        raise RuntimeError(f"{rows} rows stored for {expected} events")


# Ceilings ----------------------------------------------------------------------------------------------

async def raw_consumer(bootstrap: str, topic: str, dsn: str, expected: int) -> float:
    """Ceiling A: aiokafka -> json.loads -> text COPY + upsert -> commit -> offsets. Returns rows/s."""
    from aiokafka import AIOKafkaConsumer

    from synopse.db.ingest import columns_of, upsert_text_rows
    from synopse.domain.events import EnvironmentObservation

    columns = columns_of(EnvironmentObservation)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4().hex[:8]}", enable_auto_commit=False,
        auto_offset_reset="earliest", max_partition_fetch_bytes=8_000_000, fetch_max_bytes=64_000_000,
        session_timeout_ms=6000, heartbeat_interval_ms=1000, rebalance_timeout_ms=6000,
    )
    await consumer.start()
    conn = await psycopg.AsyncConnection.connect(dsn, prepare_threshold=None)
    done = 0
    first: tuple[float, int] | None = None
    try:
        while done < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=20)
            rows = [
                tuple(event[c] for c in columns)
                for records in batches.values() for record in records
                for event in json.loads(record.value)["events"]
            ]
            if not rows:
                continue
            for start in range(0, len(rows), 5000):
                await upsert_text_rows(conn, EnvironmentObservation, rows[start : start + 5000])
            await conn.commit()
            await consumer.commit()
            done += len(rows)
            if first is None:
                first = (time.monotonic(), done)
        if first is None:
            raise RuntimeError("no progress seen")
        return (done - first[1]) / (time.monotonic() - first[0])
    finally:
        await conn.close()
        await consumer.stop()


# Phases ------------------------------------------------------------------------------------------------

@dataclass
class Figures:
    lines: list[str]

    def add(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)


def phase_envelopes(bootstrap: str, dsn: str, args: argparse.Namespace, out: Figures) -> None:
    n = args.envelope_events
    messages = envelopes(n)
    ceilings, produced = [], []
    runs: dict[int, list[tuple[float, float]]] = {workers: [] for workers in args.envelope_workers}
    # Ceiling and figure alternate, round after round: a load change on the shared machine hits both.
    for _ in range(args.rounds):
        prefix = f"ba{uuid.uuid4().hex[:6]}."
        produced.append(produce_backlog(bootstrap, prefix, messages))
        ceilings.append(asyncio.run(raw_consumer(bootstrap, prefix + ENVIRONMENT.name, dsn, n)))
        expect_rows(dsn, n)
        empty_tables(dsn)
        for workers in args.envelope_workers:
            prefix = f"bb{uuid.uuid4().hex[:6]}."
            produce_backlog(bootstrap, prefix, messages)
            with worker_group(bootstrap, dsn, prefix, args, workers) as group:
                runs[workers].append(drain_rate(dsn, group, n))
            expect_rows(dsn, n)
            empty_tables(dsn)
    ceiling = statistics.median(ceilings)
    out.add(f"ceiling A, raw aiokafka consumer -> PostgreSQL upsert: {ceiling:,.0f} rows/s, median of "
            f"{_rates(ceilings)} ({n:,} observations in {len(messages):,} envelopes of {ENVELOPE_EVENTS}; "
            f"produced at {statistics.median(produced) * ENVELOPE_EVENTS:,.0f} events/s)")
    for workers, results in runs.items():
        rate = statistics.median(r for r, _ in results)
        drained = statistics.median(d for _, d in results)
        out.add(f"faust worker x{workers}, envelopes, validated idempotent upsert + live tables: {rate:,.0f} "
                f"events/s, median of {_rates([r for r, _ in results])} = {rate / ceiling:.0%} of ceiling A "
                f"(target >= 67%); backlog of {n:,} events replayed in {drained:.1f} s (target: 1M in < 60 s)")


def _rates(values: list[float]) -> str:
    return "[" + ", ".join(f"{v / 1000:.1f}k" for v in values) + "]"


@contextmanager
def worker_group(bootstrap: str, dsn: str, prefix: str, args: argparse.Namespace, count: int) -> Iterator[str]:
    """``count`` workers of one group, started together; yields the group id once they share every partition.

    With several workers the first to join starts draining alone: the rate is measured from the moment
    the group has settled (``drain_rate`` counts from the progress it first sees).
    """
    with ExitStack() as stack:
        procs = [stack.enter_context(worker(bootstrap, dsn, prefix, args, wait=False)) for _ in range(count)]
        deadline = time.monotonic() + 120
        settings = settings_for(bootstrap, prefix)
        total = len(topic_names(settings)) // 2 * settings.kafka.partitions  # input topics (not .dlq) x partitions
        while True:
            held = [assigned_partitions(p.port) for p in procs]
            if all(held) and sum(held) == total:
                break
            if time.monotonic() > deadline or any(p.proc.poll() is not None for p in procs):
                raise RuntimeError(f"the workers did not share the partitions (held: {held} of {total})")
            time.sleep(0.1)
        yield procs[0].group


def phase_singles(bootstrap: str, dsn: str, args: argparse.Namespace, out: Figures) -> None:
    n = args.single_messages
    messages = singles(n, offset_s=50_000_000)
    ceilings: dict[str, list[float]] = {"iterate": [], "take": []}
    rates, produced = [], []
    for _ in range(args.rounds):
        for shape, results in ceilings.items():
            prefix = f"bn{uuid.uuid4().hex[:6]}."
            produced.append(produce_backlog(bootstrap, prefix, messages))
            extra = {"SYNOPSE_BENCH_NOOP_SHAPE": shape, "SYNOPSE_BENCH_NOOP_EXPECTED": str(n)}
            with worker(bootstrap, dsn, prefix, args, module="benchmarks.noop_worker", extra=extra) as noop:
                line = noop.proc.stdout.readline().decode() if noop.proc.stdout else "{}"
            results.append(float(json.loads(line)["rate"]))
        prefix = f"bs{uuid.uuid4().hex[:6]}."
        produce_backlog(bootstrap, prefix, messages)
        with worker_group(bootstrap, dsn, prefix, args, 1) as group:
            rates.append(drain_rate(dsn, group, n)[0])
        expect_rows(dsn, n)
        empty_tables(dsn)
    best = {shape: statistics.median(results) for shape, results in ceilings.items()}
    ceiling = max(best.values())
    rate = statistics.median(rates)
    out.add(f"ceiling B, no-op faust agent: {ceiling:,.0f} messages/s per worker (medians: async for "
            f"{best['iterate']:,.0f} of {_rates(ceilings['iterate'])}, noack_take batches {best['take']:,.0f} of "
            f"{_rates(ceilings['take'])}; {n:,} single-event messages produced at "
            f"{statistics.median(produced):,.0f}/s)")
    out.add(f"faust worker x1, single-event messages, validated idempotent upsert + live tables: {rate:,.0f} "
            f"messages/s, median of {_rates(rates)} = {rate / ceiling:.0%} of ceiling B (target >= 80%)")


def phase_latency(bootstrap: str, dsn: str, args: argparse.Namespace, out: Figures) -> None:
    rate, seconds = args.paced_rate, args.paced_seconds
    prefix = f"bl{uuid.uuid4().hex[:6]}."
    from streams.worker import ensure_topics

    asyncio.run(ensure_topics(settings_for(bootstrap, prefix)))
    events = admissions(int(rate * seconds), datetime.now(UTC) - timedelta(hours=1))
    sent_at: dict[uuid.UUID, float] = {}
    seen_at: dict[uuid.UUID, float] = {}
    stop = threading.Event()

    def poll() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.is_set() or len(seen_at) < len(sent_at):
                waiting = [event_id for event_id in list(sent_at) if event_id not in seen_at]
                if waiting:
                    rows = conn.execute("SELECT event_id FROM admissions WHERE event_id = ANY(%s)", (waiting,))
                    now = time.monotonic()
                    for (event_id,) in rows:
                        seen_at[event_id] = now
                time.sleep(LATENCY_POLL_S)

    with worker_group(bootstrap, dsn, prefix, args, 1), EventProducer(bootstrap, prefix) as producer:
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        slice_size = max(1, int(rate / 10))  # ten sends a second
        started = time.monotonic()
        for start in range(0, len(events), slice_size):
            pause = started + start / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            chunk = events[start : start + slice_size]
            now = time.monotonic()
            producer.send(chunk)
            for event in chunk[::SAMPLE_EVERY]:
                sent_at[event.event_id] = now
        producer.flush()
        stop.set()
        poller.join(120)
    latencies = sorted((seen_at[e] - sent_at[e]) * 1000 for e in sent_at if e in seen_at)
    empty_tables(dsn)
    cuts = statistics.quantiles(latencies, n=100)
    out.add(f"latency produce -> queryable row at {rate:,.0f} events/s for {seconds:.0f} s: p50 {cuts[49]:.0f} ms, "
            f"p95 {cuts[94]:.0f} ms, p99 {cuts[98]:.0f} ms (target p99 < 1000 ms; n={len(latencies)}, "
            f"poll every {LATENCY_POLL_S * 1000:.0f} ms)")


def phase_soak(bootstrap: str, dsn: str, args: argparse.Namespace, out: Figures) -> None:
    minutes, rate = args.soak_minutes, args.soak_rate
    prefix = f"bm{uuid.uuid4().hex[:6]}."
    from streams.worker import ensure_topics

    asyncio.run(ensure_topics(settings_for(bootstrap, prefix)))
    samples: list[tuple[float, int]] = []
    with worker_group(bootstrap, dsn, prefix, args, 1), EventProducer(bootstrap, prefix) as producer:
        pid = _worker_pid(prefix)
        started = time.monotonic()
        sent = 0
        next_sample = started
        while time.monotonic() - started < minutes * 60:
            batch = envelopes(int(rate / 10), offset_s=100_000_000 + sent)
            for key, value in batch:
                producer.send_raw(ENVIRONMENT.name, value, key=key)
            sent += int(rate / 10)
            if time.monotonic() >= next_sample:
                samples.append((time.monotonic() - started, psutil.Process(pid).memory_info().rss))
                next_sample += 10
            pause = started + sent / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        producer.flush()
    warm = [rss for at, rss in samples if at >= 60]
    baseline, peak, last = warm[0], max(warm), warm[-1]
    out.add(f"memory over {minutes:.0f} min at {rate:,.0f} events/s: RSS {baseline / 2**20:.0f} MiB after 1 min, "
            f"peak {peak / 2**20:.0f} MiB (+{peak / baseline - 1:.1%}), end {last / 2**20:.0f} MiB "
            f"(+{last / baseline - 1:.1%}) (target: growth <= 10%; {sent:,} events)")
    empty_tables(dsn)


def _worker_pid(prefix: str) -> int:
    for proc in psutil.Process().children():
        with suppress(psutil.Error):
            if f"bench-{prefix}" in (proc.environ().get("SYNOPSE_STREAMS__APP_ID") or ""):
                return proc.pid
    raise RuntimeError("worker process not found")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--envelope-events", type=int, default=1_000_000)
    parser.add_argument("--envelope-workers", type=int, nargs="+", default=[1],
                        help="worker counts to measure (with 2, the second joins while the first drains)")
    parser.add_argument("--single-messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating ceiling/figure rounds (medians kept)")
    defaults = StreamsSettings()
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="messages per worker batch")
    parser.add_argument("--batch-within", type=float, default=defaults.batch_within_s,
                        help="longest wait to fill a batch (s)")
    parser.add_argument("--paced-rate", type=float, default=2000.0, help="events/s of the latency run")
    parser.add_argument("--paced-seconds", type=float, default=30.0)
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument("--soak-rate", type=float, default=5000.0)
    parser.add_argument("--only", nargs="+", choices=["envelopes", "singles", "latency", "soak"],
                        default=["envelopes", "singles", "latency"])
    parser.add_argument("--record", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    args = parser.parse_args()

    load_before = os.getloadavg()
    out = Figures([])
    phases = {"envelopes": phase_envelopes, "singles": phase_singles, "latency": phase_latency, "soak": phase_soak}
    with broker() as bootstrap, scratch_database("synopse_bench") as dsn:
        for name in args.only:
            phases[name](bootstrap, dsn, args, out)
    load_after = os.getloadavg()
    out.add(f"worker batch {args.batch_size} messages / {args.batch_within} s; load average (1, 5 min) before "
            f"{load_before[0]:.2f}, {load_before[1]:.2f}; after {load_after[0]:.2f}, {load_after[1]:.2f}")
    if args.record:
        record(out.lines, " ".join(args.only))


SECTION = "## Ingestion (`ingest.py`)"


def record(lines: list[str], phases: str) -> None:
    """Add an entry at the end of this benchmark's section of RESULTS.md (other sections stay as they are)."""
    with psycopg.connect(admin_dsn()) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    machine = results_file.machine_line(f"PostgreSQL {row[0] if row else '?'}, embedded tansu broker")
    results_file.record(SECTION, f"ingest.py ({phases})", [
        machine + " Broker, database, producer and workers all on this machine.", "",
        *(f"- {line}" for line in lines),
    ])

if __name__ == "__main__":
    main()
