"""`synopse up` from nothing: embedded broker and PostgreSQL, worker, simulator, dashboard; Ctrl-C stops all.

This is the README's first command, driven as a user would: start it, wait for the banner, watch
simulated events become rows, read them through the dashboard's own callbacks and over HTTP, see the
data keep moving, press Ctrl-C, and find no process left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg
import pytest

from dashboard.callbacks import PoolSource, refresh_overview, update_activity
from synopse.db.connection import open_pool
from synopse.runtime.ports import find_free_port

pytestmark = pytest.mark.e2e

START_TIMEOUT_S = 120
DATA_TIMEOUT_S = 120


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} not seen within {timeout_s} s; output of `synopse up`:\n{log.read_text()[-6000:]}")


def count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed table names
        return int(row[0]) if row else 0


def test_up_runs_the_platform_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    ports = {name: find_free_port() for name in ("broker", "postgres", "dashboard", "web", "alerts")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNOPSE_")}
    env |= {
        "SYNOPSE_RUNTIME__HOME": str(tmp_path / "home"),
        "SYNOPSE_RUNTIME__BROKER_PORT": str(ports["broker"]),
        "SYNOPSE_RUNTIME__POSTGRES_PORT": str(ports["postgres"]),
        "SYNOPSE_DASHBOARD__PORT": str(ports["dashboard"]),
        "SYNOPSE_STREAMS__WEB_PORT": str(ports["web"]),
        "SYNOPSE_ALERTS__PORT": str(ports["alerts"]),
        # Two days of history, then ten simulated minutes per real second: the test sees both phases.
        "SYNOPSE_SIMULATOR__BACKFILL_DAYS": "2",
        "SYNOPSE_SIMULATOR__SPEED": "600",
    }
    dsn = f"postgresql://postgres@127.0.0.1:{ports['postgres']}/synopse"
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "synopse", "up"], env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "Synopse is up" in log.read_text(), START_TIMEOUT_S, "the start banner", log)
        assert f"http://127.0.0.1:{ports['dashboard']}/" in log.read_text()
        family = psutil.Process(up.pid).children(recursive=True)
        assert len(family) >= 6  # broker, postgres (+ its workers), streams, simulator, alerts, dashboard

        wait_for(lambda: count(dsn, "admissions") > 0 and count(dsn, "environment_observations") > 0,
                 DATA_TIMEOUT_S, "simulated events in the store", log)

        with urllib.request.urlopen(f"http://127.0.0.1:{ports['dashboard']}/", timeout=10) as page:
            assert page.status == 200

        pool = open_pool(dsn, min_size=1, max_size=2)
        try:
            source = PoolSource(pool)
            # The live phase moves beds between the page's read and ours: compare reads that saw the same state.
            for _ in range(10):
                overview = source.overview()
                with psycopg.connect(dsn) as conn:
                    occupied = conn.execute("SELECT sum(beds_occupied) FROM bed_occupancy_current").fetchone()
                shown = sum(f.beds_occupied or 0 for f in overview.facilities)
                if shown == (occupied[0] if occupied else None):
                    break
            assert overview.reference_time is not None
            assert shown == (occupied[0] if occupied else None)
            assert sum(f.admissions_24h for f in overview.facilities) > 0
            view = refresh_overview(source)
            assert view.facility_tiles  # the page's tiles are built from the store
            figure, summary = update_activity(source, None, "48h")
            assert any(len(trace.y or ()) > 0 for trace in figure.data)
            assert summary

            # The data keeps moving: the live phase adds rows while we watch.
            before = count(dsn, "environment_observations") + count(dsn, "bed_snapshots")
            wait_for(lambda: count(dsn, "environment_observations") + count(dsn, "bed_snapshots") > before,
                     60, "new live rows", log)
        finally:
            pool.close()
    finally:
        up.send_signal(signal.SIGINT)
        try:
            code = up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            raise
    assert code == 130, log.read_text()[-4000:]
    time.sleep(0.5)
    survivors = [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], f"left running after Ctrl-C: {[p.cmdline() for p in survivors]}"
