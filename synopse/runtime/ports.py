"""TCP port checks for the embedded runtime: is a port free, find a free one, wait until one answers.

These helpers only look at local sockets; they never talk a protocol. Callers that need a service to
be really ready (a Kafka metadata answer, a PostgreSQL login) check that themselves after
`wait_for_port`.
"""

from __future__ import annotations

import errno
import logging
import socket
import time

from synopse.errors import ConfigurationError

logger = logging.getLogger(__name__)

# How often `wait_for_port` retries a refused connection: short enough that a service that is up in
# 30 ms (the embedded broker) is seen at once, long enough not to spin on a 60 s wait.
_POLL_INTERVAL_S = 0.05

# Per-attempt connect timeout: on loopback a listening socket accepts in microseconds, so anything
# slower than this means nothing usable is there yet.
_CONNECT_TIMEOUT_S = 0.5

_DEFAULT_HINT = "stop what uses it or choose another port"


class PortInUseError(ConfigurationError, RuntimeError):
    """A port that an embedded service needs is already taken by another process."""

    def __init__(self, host: str, port: int, what: str, hint: str = _DEFAULT_HINT) -> None:
        super().__init__(f"port {port} on {host} is already in use (needed for {what}); {hint}")
        self.host = host
        self.port = port
        self.what = what


def is_port_free(host: str, port: int) -> bool:
    """Tell whether a TCP listener could bind `host:port` right now.

    SO_REUSEADDR is set, as the servers we start set it too, so a socket of a previous run still in
    TIME_WAIT does not count as "in use"; on Linux a live listener (including one on 0.0.0.0 or a
    dual-stack [::]) still makes the bind fail.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def ensure_port_free(host: str, port: int, what: str, *, hint: str = _DEFAULT_HINT) -> None:
    """Raise `PortInUseError` if `host:port` cannot be bound.

    Args:
        host: The address the service will listen on.
        port: The TCP port it will listen on.
        what: What needs the port, for the message ("the embedded Kafka broker").
        hint: What the user can do about it (which settings move the port).

    Raises:
        PortInUseError: The port is taken.
    """
    if not is_port_free(host, port):
        raise PortInUseError(host, port, what, hint)


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that the kernel considers free on `host` at this instant.

    The port is released before returning, so another process may take it before the caller binds
    it: good for tests and defaults, not a reservation.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def is_port_open(host: str, port: int) -> bool:
    """Tell whether something accepts TCP connections on `host:port` (a cheap readiness probe)."""
    try:
        with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    """Block until something accepts TCP connections on `host:port`.

    Raises:
        TimeoutError: Nothing accepted a connection within `timeout_s` seconds.
    """
    deadline = time.monotonic() + timeout_s
    last_error: OSError | None = None
    while True:
        try:
            with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S):
                return
        except OSError as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"nothing accepted TCP connections on {host}:{port} within {timeout_s:g} s (last error: {last_error})"
            )
        time.sleep(_POLL_INTERVAL_S)
