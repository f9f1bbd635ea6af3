"""A worker asked to stop while its broker is gone exits within its stop timeout instead of hanging."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from streams.worker import STOP_TIMEOUT_EXIT_CODE
from synopse.runtime.broker import EmbeddedBroker
from synopse.runtime.ports import find_free_port
from tests.integration.streams.streams_support import WorkerProcess

pytestmark = pytest.mark.integration

STOP_TIMEOUT_S = 3


def test_sigterm_without_a_broker_exits_within_the_stop_timeout(pg_dsn: str, tmp_path: Path) -> None:
    broker = EmbeddedBroker(port=find_free_port(), log_path=tmp_path / "tansu.log")
    broker.start()
    try:
        worker = WorkerProcess.configure(
            bootstrap=broker.bootstrap_servers, dsn=pg_dsn, prefix=f"st{uuid.uuid4().hex[:6]}.",
            app_id=f"stop-{uuid.uuid4().hex[:6]}", web_port=find_free_port(), home=tmp_path,
        )
        worker.env["SYNOPSE_STREAMS__STOP_TIMEOUT_S"] = str(STOP_TIMEOUT_S)
        worker.start()
    finally:
        broker.stop()
    assert worker.process is not None
    time.sleep(1)  # the worker notices the broker is gone
    asked = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    try:
        code = worker.process.wait(timeout=STOP_TIMEOUT_S + 30)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        pytest.fail(f"the worker did not exit within {STOP_TIMEOUT_S + 30} s of SIGTERM:\n{worker.log_tail()}")
    took = time.monotonic() - asked
    # Either faust's own stop finished (0) or the watchdog ended it, saying why.
    assert code in (0, STOP_TIMEOUT_EXIT_CODE), worker.log_tail()
    if code == STOP_TIMEOUT_EXIT_CODE:
        assert took >= STOP_TIMEOUT_S
        assert "did not stop in time" in worker.log_path.read_text()
