"""Helpers of the alerts integration tests: a real HTTP receiver, rule loading, data written as the worker does."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import yaml
from aiohttp import web

from alerts.rulefile import sync_rules
from synopse.domain.alerts import parse_rule_set
from synopse.runtime.ports import find_free_port

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 in a thread. ``statuses``: answers in order, then ``then``;
    ``hang``: never answer (the client times out)."""

    statuses: list[int] = field(default_factory=list)
    then: int = 200
    hang: bool = False
    requests: list[Received] = field(default_factory=list)
    port: int = field(default_factory=find_free_port)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Received(time.monotonic(), dict(request.headers), body))
        if self.hang:
            await self._release.wait()  # until the test ends: the client times out long before
            return web.Response(status=503)
        status = self.statuses.pop(0) if self.statuses else self.then
        return web.Response(status=status, text="ok" if status < 300 else "no")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> Receiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            self._release.set()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def load_rules_text(conn: psycopg.Connection[Any], text: str, actor: str = "test") -> None:
    sync_rules(conn, parse_rule_set(yaml.safe_load(text)), actor=actor)
    conn.commit()


def set_beds(conn: psycopg.Connection[Any], facility: str, unit: str, occupied: int, total: int, at: datetime) -> None:
    conn.execute(
        """INSERT INTO bed_occupancy_current (facility_id, care_unit, observed_at, beds_total, beds_occupied)
           VALUES (%s, %s, %s, %s, %s) ON CONFLICT (facility_id, care_unit) DO UPDATE SET
           observed_at = EXCLUDED.observed_at, beds_total = EXCLUDED.beds_total,
           beds_occupied = EXCLUDED.beds_occupied""",
        (facility, unit, at, total, occupied),
    )


def wait_for(check: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Service:
    env: dict[str, str]
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "alerts", "run"], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log,
                start_new_session=True,
            )
        wait_for(self.ready, 60, "the alerts service to be ready")

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"alerts service exited {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as response:
                return bool(json.load(response).get("status") == "running")
        except OSError:
            return False

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            body: bytes = response.read()
            return body

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        os.kill(self.process.pid, sig)
        self.process.wait(30)


def make_service(dsn: str, bootstrap: str, prefix: str, home: Path, rules_text: str) -> Service:
    """``python -m alerts run`` configured for a test: short timeouts and backoff, its own rules and port."""
    rules = home / "rules.yaml"
    rules.write_text(rules_text, encoding="utf-8")
    port = find_free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNOPSE_")}
    env.update(
        SYNOPSE_DB__DSN=dsn, SYNOPSE_KAFKA__BOOTSTRAP_SERVERS=bootstrap,
        SYNOPSE_KAFKA__TOPIC_PREFIX=prefix, SYNOPSE_KAFKA__PARTITIONS="1",
        SYNOPSE_ALERTS__RULES_PATH=str(rules), SYNOPSE_ALERTS__PORT=str(port),
        SYNOPSE_ALERTS__HTTP_TIMEOUT_S="1", SYNOPSE_ALERTS__BACKOFF_INITIAL_S="0.2",
        SYNOPSE_ALERTS__BACKOFF_MAX_S="1", SYNOPSE_ALERTS__EVALUATION_INTERVAL_S="2",
        SYNOPSE_RUNTIME__HOME=str(home), PYTHONUNBUFFERED="1",
    )
    return Service(env, home / "alerts.log", port)
