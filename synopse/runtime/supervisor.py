"""Process supervision for `synopse up`: start services and child processes in order, stop them all.

`Supervisor` builds on `synopse.runtime.processes` (children that never outlive us): it starts
`Service`s (the embedded broker and PostgreSQL) then `ProcessSpec` children, waits for each to be
ready, prefixes the children's output with their names (like foreman/honcho), and on
SIGINT/SIGTERM/SIGHUP or when anything exits stops all of it in reverse order.
"""

from __future__ import annotations

import logging
import os
import selectors
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Protocol, TextIO

from synopse.runtime.processes import DEFAULT_GRACE_S, exit_code_of, has_exited, reap, spawn, stop_process

logger = logging.getLogger(__name__)


# How long one pass of the output pump waits for data, hence how quickly we notice a signal, a dead
# child or a readiness change: 0.1 s is instant for a human and costs nothing when idle.
_PUMP_INTERVAL_S = 0.1

# How often a `ProcessSpec.ready` probe runs while we wait: probes may open a connection each time.
_READY_INTERVAL_S = 0.25

# After everything has stopped, how long we keep reading pipes for the last lines of output.
_DRAIN_S = 0.5

# One Linux pipe buffer (64 KiB): a single read drains all a child could write since the last pass.
_READ_CHUNK = 65536


class Service(Protocol):
    """Something the supervisor starts before its children and stops after them (broker, database)."""

    @property
    def name(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def poll(self) -> int | None:
        """None while running, else the return code, as `subprocess.Popen.poll`."""
        ...


@dataclass(frozen=True)
class ProcessSpec:
    """A long-running child of `synopse up`.

    Attributes:
        name: Short name, used as the output prefix and in messages.
        argv: Program and arguments (no shell).
        env: Variables added to (or overriding) our environment for this child.
        ready: Probe returning True once the child serves (None: ready as soon as it is started).
        ready_timeout_s: How long the probe may keep answering False before `synopse up` gives up.
        cwd: Working directory; None inherits ours.
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    ready: Callable[[], bool] | None = None
    ready_timeout_s: float = 30.0
    cwd: Path | None = None


class _Child:
    """A started ProcessSpec: its process and the tail of output not yet ended by a newline."""

    def __init__(self, spec: ProcessSpec, proc: subprocess.Popen[bytes]) -> None:
        self.spec = spec
        self.proc = proc
        self.partial = b""


class Supervisor:
    """Start services then children in order, watch them, and stop everything in reverse order.

    Use: `exit_code = Supervisor(processes, services=[broker, postgres]).run()`. `run` blocks until
    a signal (SIGINT, SIGTERM, SIGHUP) or until a service or child exits, then stops all that it
    started: children in reverse order (SIGTERM to their process group, `grace_s`, SIGKILL), then
    services in reverse order (their own `stop`). A second signal skips the remaining grace periods.
    Exceptions from `Service.start` (such as `PortInUseError`) propagate once the services started
    before have been stopped; the caller (the CLI) turns them into messages.
    """

    def __init__(
        self,
        processes: Sequence[ProcessSpec],
        services: Sequence[Service] = (),
        *,
        grace_s: float = DEFAULT_GRACE_S,
        out: TextIO | None = None,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        names = [s.name for s in services] + [p.name for p in processes]
        if len(set(names)) != len(names):
            raise ValueError(f"service and process names must be unique: {names}")
        self._specs = list(processes)
        self._services = list(services)
        self._grace_s = grace_s
        self._on_started = on_started
        self._out = out if out is not None else sys.stdout
        self._width = max((len(p.name) for p in processes), default=0)
        self._started_services: list[Service] = []
        self._children: list[_Child] = []
        self._selector = selectors.DefaultSelector()
        self._signal: int | None = None
        self._stopping = False
        self._force = False
        self._out_broken = False
        self.failure: str | None = None
        """Why `run` ended other than by a signal ("streams exited with code 3"), for the caller."""

    def run(self) -> int:
        """Run until a signal or an exit, stop everything, and return the exit status for the shell.

        Returns:
            128 + N after signal N (130 for Ctrl-C); the exit code of a child or service that exited
            (1 if it exited with 0, or could not get ready in time). `failure` says which one.
        """
        previous = self._install_signal_handlers()
        try:
            code = self._start_all()
            if code is None:
                logger.info("all started: %s", ", ".join(self._all_names()))
                if self._on_started is not None:
                    self._on_started()
                code = self._watch()
            return code
        finally:
            self._stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _all_names(self) -> list[str]:
        return [s.name for s in self._services] + [s.name for s in self._specs]

    def _install_signal_handlers(self) -> dict[int, Callable[[int, FrameType | None], object] | int]:
        if threading.current_thread() is not threading.main_thread():
            logger.debug("not on the main thread: the caller handles signals")
            return {}
        previous: dict[int, Callable[[int, FrameType | None], object] | int] = {}
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            handler = signal.getsignal(signum)
            previous[signum] = handler if handler is not None else signal.SIG_DFL
            signal.signal(signum, self._on_signal)
        return previous

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only set flags: the loops notice within one pump interval. Acting here could interrupt a
        # Popen half-way and lose track of a child. A signal while stopping means "hurry up".
        if self._signal is not None or self._stopping:
            self._force = True
        if self._signal is None:
            self._signal = signum

    def _start_all(self) -> int | None:
        for service in self._services:
            if self._signal is not None:
                return exit_code_of(-self._signal)
            logger.info("starting %s", service.name)
            service.start()
            self._started_services.append(service)
        for spec in self._specs:
            code = self._start_child(spec)
            if code is not None:
                return code
        return None

    def _start_child(self, spec: ProcessSpec) -> int | None:
        if self._signal is not None:
            return exit_code_of(-self._signal)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(spec.env or {})}
        logger.info("starting %s: %s", spec.name, shlex.join(spec.argv))
        proc = spawn(
            spec.argv,
            env=env,
            cwd=spec.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            death_signal=signal.SIGKILL,
        )
        child = _Child(spec, proc)
        self._children.append(child)
        assert proc.stdout is not None  # noqa: S101 - stdout=PIPE above
        self._selector.register(proc.stdout.fileno(), selectors.EVENT_READ, child)
        if spec.ready is None:
            return None
        deadline = time.monotonic() + spec.ready_timeout_s
        next_probe = time.monotonic()
        while True:
            self._pump(_PUMP_INTERVAL_S)
            code = self._check()
            if code is not None:
                return code
            if time.monotonic() >= next_probe:
                if self._probe(spec):
                    logger.info("%s is ready", spec.name)
                    return None
                next_probe = time.monotonic() + _READY_INTERVAL_S
            if time.monotonic() >= deadline:
                self.failure = f"{spec.name} was not ready within {spec.ready_timeout_s:g} s"
                logger.error("%s; stopping everything", self.failure)
                return 1

    @staticmethod
    def _probe(spec: ProcessSpec) -> bool:
        assert spec.ready is not None  # noqa: S101 - only called for specs with a probe
        try:
            return spec.ready()
        except Exception as exc:  # a probe that raises (connection refused...) means "not yet"
            logger.debug("readiness probe of %s raised %r", spec.name, exc)
            return False

    def _watch(self) -> int:
        while True:
            self._pump(_PUMP_INTERVAL_S)
            code = self._check()
            if code is not None:
                return code

    def _check(self) -> int | None:
        """Return an exit code if we must stop: a signal arrived, or a service or child exited."""
        if self._signal is not None:
            logger.info("received %s; stopping everything", signal.Signals(self._signal).name)
            return exit_code_of(-self._signal)
        for service in self._started_services:
            returncode = service.poll()
            if returncode is not None:
                return self._failed(service.name, returncode)
        for child in self._children:
            if has_exited(child.proc):
                return self._failed(child.spec.name, reap(child.proc))
        return None

    def _failed(self, name: str, returncode: int) -> int:
        self.failure = f"{name} exited unexpectedly with code {returncode}"
        logger.error("%s; stopping everything", self.failure)
        # A long-running service that exits 0 is still a failure of `synopse up`.
        return exit_code_of(returncode) or 1

    def _pump(self, timeout_s: float) -> None:
        """Copy whatever the children wrote to our output, one prefixed line at a time."""
        if not self._selector.get_map():
            time.sleep(timeout_s)
            return
        out: list[str] = []
        for key, _ in self._selector.select(timeout_s):
            child: _Child = key.data
            data = os.read(key.fd, _READ_CHUNK)
            if not data:  # EOF: the child and everything sharing its stdout are gone
                self._selector.unregister(key.fd)
                data = b"\n" if child.partial else b""
            *lines, child.partial = (child.partial + data).split(b"\n")
            for line in lines:
                text = line.decode("utf-8", errors="replace").rstrip("\r")
                out.append(f"{child.spec.name:<{self._width}} | {text}\n")
        if out:
            self._emit("".join(out))

    def _emit(self, text: str) -> None:
        # Our stdout can vanish (terminal closed, `| head` exited); losing output must never stop
        # us from stopping the children, so we keep reading their pipes and drop the lines.
        if self._out_broken:
            return
        try:
            self._out.write(text)
            self._out.flush()
        except (OSError, ValueError):
            self._out_broken = True

    def _stop_all(self) -> None:
        self._stopping = True
        for child in reversed(self._children):
            if not has_exited(child.proc):
                logger.info("stopping %s", child.spec.name)
            try:
                stop_process(
                    child.proc,
                    child.spec.name,
                    grace_s=self._grace_s,
                    while_waiting=self._pump_briefly,
                    hurry=lambda: self._force,
                )
            except Exception:
                # Keep stopping the others: one failing stop must not leave the rest running.
                logger.exception("stopping %s failed", child.spec.name)
        deadline = time.monotonic() + _DRAIN_S
        while self._selector.get_map() and time.monotonic() < deadline:
            self._pump(0.05)
        for child in self._children:
            if child.proc.stdout is not None:
                child.proc.stdout.close()
        self._selector.close()
        for service in reversed(self._started_services):
            logger.info("stopping %s", service.name)
            try:
                service.stop()
            except Exception:
                # Keep stopping the others: one failing stop must not leave the rest running.
                logger.exception("stopping %s failed", service.name)

    def _pump_briefly(self) -> None:
        self._pump(0.05)
