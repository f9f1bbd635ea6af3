"""Helpers of the stream-worker integration tests: the worker as a child process, polling, events."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from kafka import KafkaConsumer, TopicPartition

from synopse.domain.codes import AgeBand, CareUnit, Indicator, ReasonCategory
from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit, EnvironmentObservation

REPO_ROOT = Path(__file__).resolve().parents[3]
# A worker joins its group in ~5 s on the embedded broker (see streams.app); 60 s leaves room for a
# loaded CI machine without hiding a worker that never becomes ready.
READY_TIMEOUT_S = 60.0
# Events travel produce -> batch (0.2 s in tests) -> commit in well under a second; 30 s is for a slow CI.
STORED_TIMEOUT_S = 30.0

T = TypeVar("T")

TEST_PSEUDONYMISATION_KEY = "synopse-streams-tests-0123456789abcdef"


def wait_until(check: Callable[[], T], *, timeout_s: float = STORED_TIMEOUT_S, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class WorkerProcess:
    """`python -m streams.worker` with its settings in the environment, as the CLI would run it."""

    env: dict[str, str]
    web_port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def configure(
        cls, *, bootstrap: str, dsn: str, prefix: str, app_id: str, web_port: int, home: Path
    ) -> WorkerProcess:
        env = {key: value for key, value in os.environ.items() if not key.startswith("SYNOPSE_")}
        env.update(
            SYNOPSE_KAFKA__BOOTSTRAP_SERVERS=bootstrap,
            SYNOPSE_DB__DSN=dsn,
            SYNOPSE_KAFKA__TOPIC_PREFIX=prefix,
            SYNOPSE_STREAMS__APP_ID=app_id,
            SYNOPSE_STREAMS__WEB_PORT=str(web_port),
            # Short batches keep the tests quick; the batching itself is the same.
            SYNOPSE_STREAMS__BATCH_WITHIN_S="0.2",
            SYNOPSE_RUNTIME__HOME=str(home),
            SYNOPSE_LOG_LEVEL="INFO",
            # The raw clinical topics are consumed only with a key (a fixed one: tests only).
            SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY=TEST_PSEUDONYMISATION_KEY,
            # Lag and upkeep rounds every second, so the tests see them without waiting long.
            SYNOPSE_STREAMS__HEALTH_INTERVAL_S="1",
        )
        return cls(env, web_port, home / f"worker-{app_id}.log")

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams.worker"], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log
        )
        log.close()
        wait_until(self._ready, timeout_s=READY_TIMEOUT_S, what="the stream worker to join its group")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            return metric(self.metrics(), "synopse_stream_assigned_partitions") > 0
        except (urllib.error.URLError, ConnectionError):
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            body: bytes = response.read()
            return body.decode()

    def counter(self, name: str, topic: str) -> float:
        return metric(self.metrics(), f'{name}_total{{topic="{topic}"}}')

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then the exit code (the test fails if the worker does not stop in time)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"worker did not stop within {timeout_s:.0f} s:\n{self.log_tail()}") from None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, in whatever it was doing (kill -9)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def metric(text: str, series: str) -> float:
    """The value of one series (name with its labels) in a Prometheus text page; 0 when absent."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def read_topic(bootstrap: str, topic: str, expected: int, timeout_s: float = STORED_TIMEOUT_S) -> list:  # type: ignore[type-arg]
    """Every record of a topic, read from the beginning without a consumer group, once ``expected`` are there."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        records: list = []  # type: ignore[type-arg]
        deadline = time.monotonic() + timeout_s
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


# Events ---------------------------------------------------------------------------------------------

BASE = datetime(2024, 1, 15, 8, tzinfo=UTC)


def patient_key(n: int) -> str:
    return hashlib.sha256(f"patient-{n}".encode()).hexdigest()


def admissions(n: int, start: datetime = BASE, step: timedelta = timedelta(minutes=1)) -> list[Admission]:
    return [
        Admission(event_id=uuid.uuid4(), facility_id=("chu-nantes-hotel-dieu", "hp-confluent")[i % 2],
                  care_unit=CareUnit.MEDICINE, admitted_at=start + i * step, age_band=AgeBand.FROM_75,
                  reason=ReasonCategory.INFLUENZA_LIKE, patient_key=patient_key(i), commune_code="44109")
        for i in range(n)
    ]


def emergency_visits(n: int, start: datetime = BASE) -> list[EmergencyVisit]:
    return [
        EmergencyVisit(event_id=uuid.uuid4(), facility_id="clinique-jules-verne",
                       arrived_at=start + timedelta(minutes=i), age_band=AgeBand.UNDER_2,
                       reason=ReasonCategory.BRONCHIOLITIS, commune_code="44143")
        for i in range(n)
    ]


def bed_snapshots(n: int, start: datetime = BASE) -> list[BedSnapshot]:
    return [
        BedSnapshot(event_id=uuid.uuid4(), facility_id="sante-atlantique", care_unit=CareUnit.ICU,
                    observed_at=start + timedelta(hours=i), beds_total=20, beds_occupied=10 + i % 10)
        for i in range(n)
    ]


def observations(n: int, start: datetime = BASE, station: str = "FR23188") -> list[EnvironmentObservation]:
    return [
        EnvironmentObservation(event_id=uuid.uuid4(), station_id=station, indicator=Indicator.PM10,
                               value=20.0 + i % 40, unit="µg/m³", observed_at=start + timedelta(minutes=i))
        for i in range(n)
    ]
