"""``synopse``: the command line and the composition root, the only place that wires components together.

Each command builds the settings once, configures logging once, and imports the component it starts
lazily, so that ``synopse --help`` stays fast and a component's dependencies load only where it runs.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from synopse.commandline import command_settings as _settings
from synopse.commandline import fail as _fail
from synopse.errors import ServiceUnavailableError, SynopseError

app = typer.Typer(
    name="synopse",
    help="Synopse: territorial health crisis monitoring (streams, forecasts, alerts, dashboards).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema and reference data.", no_args_is_help=True)
streams_app = typer.Typer(help="Stream processing of the input topics.", no_args_is_help=True)
contracts_app = typer.Typer(help="Event contracts and topics.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(streams_app, name="streams")
app.add_typer(contracts_app, name="contracts")
# Components' own command groups; each imports its heavy dependencies inside its commands.
from alerts.commands import app as _alerts_app  # noqa: E402 - after the kernel's groups, on purpose
from dashboard.commands import app as _access_app  # noqa: E402
from forecasting.commands import app as _forecast_app  # noqa: E402
from streams.commands import app as _feeds_app  # noqa: E402
from streams.dlq_commands import dlq_app as _dlq_app  # noqa: E402

app.add_typer(_feeds_app)  # synopse mqtt-bridge, synopse replay ...
app.add_typer(_alerts_app, name="alerts")
app.add_typer(_access_app, name="access")
app.add_typer(_dlq_app, name="dlq")
app.add_typer(_forecast_app, name="forecast")


@app.command()
def up(
    simulate: Annotated[bool, typer.Option(help="Feed the platform with the simulated territory.")] = True,
    dashboard: Annotated[bool, typer.Option(help="Serve the dashboard.")] = True,
) -> None:
    """Run the whole platform on this machine (embedded broker and PostgreSQL unless configured)."""
    from synopse.platform import run_platform

    settings = _settings()
    try:
        code = run_platform(settings, simulate=simulate, dashboard=dashboard)
    except SynopseError as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations (safe to run again, and from several replicas)."""
    from synopse.db.connection import connect
    from synopse.db.migrate import migrate

    settings = _settings()
    try:
        with connect(settings.dsn, autocommit=True, connect_timeout_s=settings.db.connect_timeout_s) as conn:
            report = migrate(conn, timescale=settings.db.timescaledb, progress=lambda n: typer.echo(f"  applying {n}"))
    except SynopseError as exc:
        _fail(str(exc))
    mode = "TimescaleDB" if report.timescaledb else "plain PostgreSQL"
    typer.echo(
        f"schema up to date ({mode}): {len(report.applied)} applied, {len(report.already_applied)} already applied"
        + (f", {len(report.skipped)} skipped (need TimescaleDB)" if report.skipped else "")
    )


@db_app.command("seed")
def db_seed() -> None:
    """Load the default territory's reference data (communes, facilities, stations)."""
    from synopse.db.connection import connect
    from synopse.db.reference import seed_territory

    settings = _settings()
    try:
        with connect(settings.dsn, connect_timeout_s=settings.db.connect_timeout_s) as conn:
            communes, facilities, stations = seed_territory(conn)
    except SynopseError as exc:
        _fail(str(exc))
    typer.echo(f"reference data loaded: {communes} communes, {facilities} facilities, {stations} stations")


@streams_app.command("worker")
def streams_worker() -> None:
    """Consume the input topics into the store (scale out by running several)."""
    from streams.worker import run_worker

    settings = _settings()
    try:
        run_worker(settings)
    except ServiceUnavailableError as exc:
        _fail(str(exc), code=1)


@app.command()
def simulate(
    seed: Annotated[
        int | None, typer.Option(help="Same seed, same events. Default 44 (SYNOPSE_SIMULATOR__SEED).")
    ] = None,
    backfill_days: Annotated[
        float | None, typer.Option(help="Days of history generated at once before going live. Default 91.")
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="Simulated seconds per real second in the live phase. Default 1 (real time).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="Stop at this simulated instant (ISO 8601, UTC if no zone).")
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(help="summer (epidemic wave, heat wave, PM10), winter (bronchiolitis, flu, PM10), or auto."),
    ] = None,
    max_hours: Annotated[float | None, typer.Option(help="Stop after this many simulated hours.")] = None,
    reference: Annotated[
        datetime | None,
        typer.Option(help="The scenario's 'now' (episodes sit around it); the same one re-sends the same events."),
    ] = None,
) -> None:
    """Produce a realistic simulated territory (hospitals, weather, air, pollen, wastewater) to the broker."""
    from simulator.cli import simulate_command

    settings = _settings()
    try:
        simulate_command(
            settings,
            seed=settings.simulator.seed if seed is None else seed,
            backfill_days=settings.simulator.backfill_days if backfill_days is None else backfill_days,
            speed=settings.simulator.speed if speed is None else speed,
            until=until,
            scenario=settings.simulator.scenario if scenario is None else scenario,
            max_hours=max_hours,
            reference=reference,
        )
    except SynopseError as exc:
        _fail(str(exc))


@app.command("dashboard")
def dashboard_command() -> None:
    """Serve the dashboard (development server; production runs it under gunicorn)."""
    from dashboard.server import run_dashboard

    settings = _settings()
    try:
        run_dashboard(settings)
    except SynopseError as exc:
        _fail(str(exc))


@contracts_app.command("topics")
def contracts_topics() -> None:
    """List the input topics with their key, contract and dead-letter topic."""
    from synopse.domain.topics import INPUT_TOPICS

    settings = _settings()
    for spec in INPUT_TOPICS:
        typer.echo(
            f"{settings.kafka.topic(spec.name):32} key={spec.key_field:11} contract={spec.model.__name__:23} "
            f"dead-letter={settings.kafka.topic(spec.dead_letter)}"
        )


@contracts_app.command("export")
def contracts_export(
    out: Annotated[Path, typer.Argument(help="Folder to write one JSON Schema per contract into.")],
) -> None:
    """Write the JSON Schema of every event contract (for producers in other languages)."""
    from synopse.domain.schemas import contract_schemas

    out.mkdir(parents=True, exist_ok=True)
    for filename, schema in contract_schemas().items():
        (out / filename).write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        typer.echo(f"wrote {out / filename}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
