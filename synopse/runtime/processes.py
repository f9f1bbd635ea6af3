"""Start and stop one child process so that it can never outlive us.

`spawn` gives each child its own process group (a stop reaches its own children too, and a terminal
Ctrl-C reaches only us, which then stops everything in order) and, on Linux, a parent-death signal (it
dies even if we are SIGKILLed and no cleanup code runs). The embedded services and the supervisor use it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

logger = logging.getLogger(__name__)

# Time a child gets between SIGTERM and SIGKILL. Our children (faust workers, Dash, the forecaster)
# commit offsets, leave their consumer group and close pools on SIGTERM, which takes a few seconds;
# 10 s leaves room for that without making Ctrl-C feel stuck.
DEFAULT_GRACE_S = 10.0

# How often a stop checks whether the child has exited: servers take 10 ms to seconds to stop, so
# this adds at most 50 ms to a stop and costs nothing.
_EXIT_POLL_S = 0.05

# prctl(2) option number from <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    """Resolve libc's prctl once, in the parent, so the child does no symbol lookup after fork."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _load_prctl()


@dataclass(frozen=True)
class RunAs:
    """The unprivileged identity a child switches to before exec (used when we run as root)."""

    uid: int
    gid: int


def _death_signal_preexec(death_signal: int) -> Callable[[], None] | None:
    """Build the preexec_fn that asks the kernel to send `death_signal` to the child when we die.

    Why prctl(PR_SET_PDEATHSIG) and not just cleanup code: atexit handlers, `finally` blocks and
    signal handlers do not run when the parent is SIGKILLed, OOM-killed or crashes, and a broker or a
    postmaster left behind keeps its port, so the next `synopse up` fails. Only the kernel can
    guarantee the child goes too. Notes: subprocess switches uid/gid before calling preexec_fn, which
    matters because a credential change clears the parent-death signal; the signal fires when the
    *thread* that forked the child exits, so start children from a long-lived thread (the main one);
    the setting survives exec. preexec_fn is documented as unsafe with threads because the child
    could need a lock held by another thread at fork time; this one only makes one foreign call and
    two syscalls, no allocation-heavy Python or logging, and there is no other way to set this flag
    from Python.
    """
    prctl = _PRCTL
    if prctl is None:
        return None
    parent_pid = os.getpid()

    def preexec() -> None:
        if prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent_pid:
            # The parent died between fork and prctl: no signal will ever come, so act on it now.
            os.kill(os.getpid(), death_signal)

    return preexec


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdout: int | IO[bytes] | None = None,
    stderr: int | IO[bytes] | None = None,
    run_as: RunAs | None = None,
    death_signal: int = signal.SIGKILL,
) -> subprocess.Popen[bytes]:
    """Start `argv` as a child in its own process group that dies when this process dies.

    Args:
        argv: The program and its arguments (no shell).
        env: The child's whole environment; None inherits ours.
        cwd: Working directory; None inherits ours.
        stdout: Where the child's stdout goes (a file, `subprocess.PIPE`...); None inherits ours.
        stderr: Same for stderr (`subprocess.STDOUT` merges it into stdout).
        run_as: Switch to this uid/gid (and drop supplementary groups) before exec; needs root.
        death_signal: Signal the kernel sends the child if we die first. SIGKILL by default: it is
            the last resort when no cleanup code of ours can run, so it must not be ignorable.
    """
    return subprocess.Popen(  # noqa: S603 - argv is built by our own code, never a shell string
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        process_group=0,
        preexec_fn=_death_signal_preexec(death_signal),  # why preexec_fn: see its docstring
        close_fds=True,
        user=run_as.uid if run_as is not None else None,
        group=run_as.gid if run_as is not None else None,
        extra_groups=[] if run_as is not None else None,
    )


def has_exited(proc: subprocess.Popen[bytes]) -> bool:
    """Tell whether `proc` has exited, without reaping it.

    Leaving the zombie in place keeps its pid, hence its process-group id, reserved until we have
    swept the group (`reap`), so that sweep can never hit an unrelated group that reused the id.
    """
    if proc.returncode is not None:
        return True
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # already reaped behind Popen's back
        proc.poll()
        return True
    return info is not None


def reap(proc: subprocess.Popen[bytes]) -> int:
    """SIGKILL whatever is left in an exited child's process group, then collect its exit status."""
    if proc.returncode is None:
        signal_group(proc, signal.SIGKILL)
    return proc.wait()


def signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Send `signum` to the child's whole process group; a group already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def stop_process(
    proc: subprocess.Popen[bytes],
    name: str,
    *,
    signum: int = signal.SIGTERM,
    grace_s: float = DEFAULT_GRACE_S,
    whole_group: bool = True,
    while_waiting: Callable[[], None] | None = None,
    hurry: Callable[[], bool] | None = None,
) -> int:
    """Stop a child started by `spawn`: `signum`, up to `grace_s` seconds, then SIGKILL.

    Args:
        proc: The child.
        name: Its name, for log messages.
        signum: The polite signal (SIGTERM; PostgreSQL wants SIGINT for a fast shutdown).
        grace_s: Seconds to wait after `signum` before SIGKILL.
        whole_group: Send `signum` to the process group (True) or to the leader only, for servers
            such as PostgreSQL that stop their own children in order.
        while_waiting: Called repeatedly while waiting (the supervisor pumps output there).
        hurry: Polled while waiting; once it returns True the rest of the grace period is skipped
            (a second Ctrl-C).

    Returns:
        The child's return code (negative for a signal, as in `subprocess`).
    """
    if not has_exited(proc):
        signalled_at = time.monotonic()
        if whole_group:
            signal_group(proc, signum)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signum)
        if not _wait_exited(proc, grace_s, while_waiting, hurry):
            logger.warning(
                "%s (pid %d) still running %.1f s after %s; sending SIGKILL",
                name,
                proc.pid,
                time.monotonic() - signalled_at,
                signal.Signals(signum).name,
            )
            signal_group(proc, signal.SIGKILL)
            # SIGKILL cannot be caught; the wait is bounded by the kernel tearing the process down.
            _wait_exited(proc, None, while_waiting, None)
    return reap(proc)


def _wait_exited(
    proc: subprocess.Popen[bytes],
    timeout_s: float | None,
    while_waiting: Callable[[], None] | None,
    hurry: Callable[[], bool] | None,
) -> bool:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while not has_exited(proc):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        if hurry is not None and hurry():
            return False
        if while_waiting is not None:
            while_waiting()
        else:
            time.sleep(_EXIT_POLL_S)
    return True


def exit_code_of(returncode: int) -> int:
    """Map a `subprocess` return code to a shell-style exit status (128 + N for signal N)."""
    return 128 - returncode if returncode < 0 else returncode


class ChildServer:
    """What the embedded broker and PostgreSQL share: one child process, its log file, a clean stop.

    Subclasses set the class attributes and implement ``start`` (spawning into ``self._proc`` and
    writing to ``self._log``); ``stop`` and the context manager come from here.
    """

    label: str = "server"  # for messages: "embedded broker"
    stop_signal: int = signal.SIGINT
    stop_whole_group: bool = True  # False: signal the leader only (it stops its own children, in order)
    log_path: Path | None = None

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def poll(self) -> int | None:
        """None while running (or never started), else its return code."""
        return self._proc.poll() if self._proc is not None else None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self, grace_s: float = DEFAULT_GRACE_S) -> None:
        """Stop the server (``stop_signal``, then SIGKILL after ``grace_s``); safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            returncode = stop_process(
                proc, self.label, signum=self.stop_signal, grace_s=grace_s, whole_group=self.stop_whole_group
            )
            logger.info("%s stopped (code %d)", self.label, returncode)
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log, to append to an error message ("" if there is none)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"; last lines of {self.log_path}:\n" + "\n".join(tail)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
