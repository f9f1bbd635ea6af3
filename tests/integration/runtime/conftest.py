"""Helpers for the embedded-runtime integration tests: real processes, checked with psutil."""

import time

import psutil
import pytest

from synopse.runtime.ports import find_free_port


def _is_gone(pid: int) -> bool:
    # A zombie is dead: it only waits for its parent (or init, after a parent died) to reap it.
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def wait_gone():
    """Return a function that waits until all given pids are dead and returns those still alive."""

    def wait(pids, timeout_s=5.0):
        deadline = time.monotonic() + timeout_s
        alive = [pid for pid in pids if not _is_gone(pid)]
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = [pid for pid in alive if not _is_gone(pid)]
        return alive

    return wait


@pytest.fixture
def free_port():
    return find_free_port()
