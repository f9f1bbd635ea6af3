"""``synopse up``: the whole platform on one machine, as supervised processes.

Order: embedded broker and PostgreSQL (unless external ones are configured), the schema and the
reference data, then the stream worker, the simulator and the dashboard. Ctrl-C stops everything it
started, in reverse order; nothing is left running.
"""

from __future__ import annotations

import logging
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from synopse.config import Settings
from synopse.db.connection import connect
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.runtime.broker import EmbeddedBroker
from synopse.runtime.ports import ensure_port_free
from synopse.runtime.postgres import EmbeddedPostgres
from synopse.runtime.supervisor import ProcessSpec, Service, Supervisor

log = logging.getLogger(__name__)

# The dashboard imports Dash, pandas and plotly and opens its pool before it answers: allow a slow
# first start on a loaded laptop.
DASHBOARD_READY_TIMEOUT_S = 90.0


@dataclass
class SchemaService:
    """Applies migrations and reference data once the database is up; a step, not a process."""

    settings: Settings
    name: str = "schema"
    _done: bool = field(default=False, init=False)

    def start(self) -> None:
        with connect(self.settings.dsn, autocommit=True, connect_timeout_s=self.settings.db.connect_timeout_s) as conn:
            report = migrate(conn, timescale=self.settings.db.timescaledb)
        with connect(self.settings.dsn, connect_timeout_s=self.settings.db.connect_timeout_s) as conn:
            seed_territory(conn)
        mode = "TimescaleDB" if report.timescaledb else "plain PostgreSQL"
        log.info("schema ready (%s): %d migrations applied now", mode, len(report.applied))
        self._done = True

    def stop(self) -> None:
        """Nothing to stop."""

    def poll(self) -> int | None:
        return None


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def build_services(settings: Settings) -> list[Service]:
    """The embedded services this configuration needs, then the schema step."""
    services: list[Service] = []
    home = settings.runtime.home.absolute()
    if settings.uses_embedded_broker:
        services.append(EmbeddedBroker(settings.runtime.broker_port, log_path=home / "logs" / "broker.log"))
    if settings.uses_embedded_database:
        services.append(
            EmbeddedPostgres(home / "postgres", settings.runtime.postgres_port, log_path=home / "logs" / "postgres.log")
        )
    services.append(SchemaService(settings))
    return services


def build_processes(settings: Settings, *, simulate: bool, dashboard: bool) -> list[ProcessSpec]:
    """The long-running children, each a ``python -m synopse`` command with the resolved services."""
    env = {
        "SYNOPSE_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SYNOPSE_DB__DSN": settings.dsn,
        "PYTHONUNBUFFERED": "1",
    }
    python = [sys.executable, "-m", "synopse"]
    processes = [ProcessSpec("streams", [*python, "streams", "worker"], env=env)]
    if simulate:
        processes.append(ProcessSpec("simulator", [*python, "simulate"], env=env))
    processes.append(ProcessSpec("forecast", [*python, "forecast", "schedule"], env=env))
    alerts_health = f"http://{settings.alerts.host}:{settings.alerts.port}/health"
    processes.append(
        ProcessSpec(
            "alerts",
            [*python, "alerts", "run"],
            env=env,
            ready=lambda: _http_ok(alerts_health),
            ready_timeout_s=DASHBOARD_READY_TIMEOUT_S,
        )
    )
    if dashboard:
        url = f"http://{settings.dashboard.host}:{settings.dashboard.port}/"
        processes.append(
            ProcessSpec(
                "dashboard",
                [*python, "dashboard"],
                env=env,
                ready=lambda: _http_ok(url),
                ready_timeout_s=DASHBOARD_READY_TIMEOUT_S,
            )
        )
    return processes


def run_platform(settings: Settings, *, simulate: bool = True, dashboard: bool = True) -> int:
    """Start everything, block until Ctrl-C or a failure, stop everything; returns the exit status."""
    if dashboard:
        ensure_port_free(
            settings.dashboard.host,
            settings.dashboard.port,
            "the dashboard",
            hint="stop what uses it or set SYNOPSE_DASHBOARD__PORT",
        )
    ensure_port_free(
        settings.alerts.host,
        settings.alerts.port,
        "the alerts service",
        hint="stop what uses it or set SYNOPSE_ALERTS__PORT",
    )
    url = f"http://{settings.dashboard.host}:{settings.dashboard.port}/"
    supervisor = Supervisor(
        build_processes(settings, simulate=simulate, dashboard=dashboard),
        build_services(settings),
        on_started=lambda: _banner(settings, url if dashboard else None),
    )
    code = supervisor.run()
    if supervisor.failure:
        log.error("stopped: %s", supervisor.failure)
    return code


def _banner(settings: Settings, url: str | None) -> None:
    lines = ["", "Synopse is up."]
    if url:
        lines.append(f"  Dashboard:  {url}")
    embedded = "  (embedded)" if settings.uses_embedded_broker else ""
    lines.append(f"  Alerts:     http://{settings.alerts.host}:{settings.alerts.port}/cap/feed.atom (CAP feed)")
    lines.append(f"  Kafka:      {settings.bootstrap_servers}{embedded}")
    where = "embedded, data in " + str(settings.runtime.home.absolute() / "postgres")
    lines.append("  PostgreSQL: " + (where if settings.uses_embedded_database else "external"))
    lines.append("Press Ctrl-C to stop everything.")
    sys.stdout.write("\n".join(lines) + "\n\n")
    sys.stdout.flush()
