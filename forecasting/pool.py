"""A process pool whose tasks have a time limit: a fit that hangs or diverges is killed, not waited for.

Boundary: generic (knows nothing of forecasts). ``concurrent.futures`` cannot stop a running task, so
this pool keeps its own worker processes (``forkserver`` start: clean, and the model libraries are imported
once per worker, not per task), sends one task at a time to each, and when a task passes its deadline
kills that worker's whole process group (Prophet runs CmdStan as a child process) and starts a new one.
Results come back as they finish; a task that raised or timed out yields a result saying so.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K")
R = TypeVar("R")

# A worker that does not answer its first message within this time failed to start (imports broken).
_START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class TaskResult(Generic[K, R]):
    key: K
    value: R | None
    error: str | None  # the exception, or "time limit of N s exceeded"
    timed_out: bool
    seconds: float


def _worker_main(conn: Connection, initializer: Callable[[], None] | None) -> None:
    # Own process group: the parent can kill this worker together with the CmdStan process it runs.
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    if initializer is not None:
        initializer()
    conn.send(("ready", None, None, 0.0))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None:
            return
        index, fn, argument = message
        started = time.perf_counter()
        try:
            conn.send((index, True, fn(argument), time.perf_counter() - started))
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            conn.send((index, False, detail[:1000], time.perf_counter() - started))


class _Worker:
    def __init__(self, context: Any, initializer: Callable[[], None] | None) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, initializer), daemon=True)
        self.process.start()
        child.close()
        self.task: int | None = None
        self.deadline = time.monotonic() + _START_TIMEOUT_S
        self.ready = False

    def kill(self) -> None:
        pid = self.process.pid
        if pid is not None and self.process.is_alive():
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self.conn.send(None)
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_tasks(
    fn: Callable[[Any], R],
    tasks: Iterable[tuple[K, Any]],
    *,
    workers: int,
    timeout_s: float,
    initializer: Callable[[], None] | None = None,
) -> Iterator[TaskResult[K, R]]:
    """Run ``fn(argument)`` for each ``(key, argument)`` on ``workers`` processes; yield results as they come.

    ``fn`` and ``initializer`` must be importable module-level functions. Each task gets ``timeout_s``
    seconds of wall time from the moment its worker receives it.
    """
    pending = list(tasks)
    pending.reverse()  # pop() from the end keeps the given order
    context = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    count = max(1, min(workers, len(pending)))
    pool: list[_Worker] = []
    keys: dict[int, K] = {}
    next_index = 0
    try:
        pool = [_Worker(context, initializer) for _ in range(count if pending else 0)]
        while pool:
            for worker in pool:
                if worker.ready and worker.task is None and pending:
                    key, argument = pending.pop()
                    keys[next_index] = key
                    worker.task, worker.deadline = next_index, time.monotonic() + timeout_s
                    worker.conn.send((next_index, fn, argument))
                    next_index += 1
            busy = [w for w in pool if w.task is not None or not w.ready]
            if not busy:
                break
            now = time.monotonic()
            ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - now))
            for worker in list(busy):
                if worker.conn in ready:
                    try:
                        index, ok, payload, seconds = worker.conn.recv()
                    except (EOFError, OSError):
                        if not worker.ready:
                            raise RuntimeError("a forecasting worker died while starting") from None
                        yield from _replace(worker, pool, keys, context, initializer, "worker process died", False)
                        continue
                    if index == "ready":
                        worker.ready = True
                        continue
                    worker.task = None
                    key = keys.pop(index)
                    yield TaskResult(key, payload if ok else None, None if ok else str(payload), False, seconds)
                elif time.monotonic() >= worker.deadline:
                    if not worker.ready:
                        raise RuntimeError("a forecasting worker failed to start")
                    message = f"time limit of {timeout_s:g} s exceeded"
                    yield from _replace(worker, pool, keys, context, initializer, message, True)
            if not pending and all(w.task is None for w in pool if w.ready):
                break
    finally:
        for worker in pool:
            if worker.task is None and worker.ready:
                worker.stop()
            else:
                worker.kill()


def _replace(
    worker: _Worker, pool: list[_Worker], keys: dict[int, K], context: Any,
    initializer: Callable[[], None] | None, message: str, timed_out: bool,
) -> Iterator[TaskResult[K, R]]:
    """Kill a worker (its task lost) and start a fresh one in its place."""
    index = worker.task
    worker.kill()
    pool[pool.index(worker)] = _Worker(context, initializer)
    if index is not None:
        log.warning("forecast task stopped: %s", message)
        yield TaskResult(keys.pop(index), None, message, timed_out, 0.0)
