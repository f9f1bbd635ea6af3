"""``synopse alerts ...``: run the alerts service, check and change rules, acknowledge, silence, see the ledger.

Boundary: command-line parsing and printing; the work is in ``alerts.*`` and ``synopse.db``. Heavy imports
stay inside the commands so that ``synopse --help`` stays fast.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synopse.commandline import command_settings as _settings
from synopse.commandline import fail as _fail
from synopse.config import Settings
from synopse.errors import SynopseError

if TYPE_CHECKING:
    import psycopg

app = typer.Typer(
    help="Alert rules, alert state, subscribers and delivery.", no_args_is_help=True, pretty_exceptions_enable=False
)
rules_app = typer.Typer(help="The alert rules (YAML file and platform edits).", no_args_is_help=True)
silence_app = typer.Typer(help="Silences: mute notifications until an end time.", no_args_is_help=True)
subscribers_app = typer.Typer(help="Who receives alerts.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(silence_app, name="silence")
app.add_typer(subscribers_app, name="subscribers")


def _connect(settings: Settings) -> psycopg.Connection[Any]:
    from synopse.db.connection import connect

    try:
        return connect(settings.dsn, connect_timeout_s=settings.db.connect_timeout_s)
    except SynopseError as exc:
        _fail(str(exc), code=1)


@app.command("run")
def run(
    rules: Annotated[
        Path | None, typer.Option(help="Rule file (default: SYNOPSE_ALERTS__RULES_PATH or the shipped one).")
    ] = None,
) -> None:
    """Run the alerts service: live evaluation, notification delivery, CAP feed (until Ctrl-C)."""
    from alerts.service import run_service

    settings = _settings()
    try:
        run_service(settings, rules_path=rules)
    except SynopseError as exc:
        _fail(str(exc), code=1)


# ------------------------------------------------------------------------------------------------- rules


@rules_app.command("validate")
def rules_validate(path: Annotated[Path, typer.Argument(help="YAML rule file.")]) -> None:
    """Check a rule file; every problem is listed with its YAML path and the rule's id."""
    from alerts.rulefile import read_rule_file

    try:
        rule_set = read_rule_file(path)
    except SynopseError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(str(exc))
    kinds: dict[str, int] = {}
    for rule in rule_set.rules:
        kinds[rule.kind] = kinds.get(rule.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    typer.echo(f"{path}: {len(rule_set.rules)} valid rules ({summary})")


@rules_app.command("load")
def rules_load(
    path: Annotated[Path | None, typer.Argument(help="YAML rule file (default: the configured one).")] = None,
    by: Annotated[str, typer.Option(help="Who loads it (recorded in the audit trail).")] = "cli",
) -> None:
    """Bring the stored rules in line with a rule file (as the service does at start)."""
    from alerts.rulefile import default_rules_path, read_rule_file, sync_rules

    settings = _settings()
    file = path or settings.alerts.rules_path or default_rules_path()
    try:
        rule_set = read_rule_file(file)
    except ValueError as exc:
        _fail(str(exc))
    with _connect(settings) as conn:
        report = sync_rules(conn, rule_set, actor=f"{by} (file:{file.name})")
    typer.echo(f"created {len(report.created)}, updated {len(report.updated)}, deleted {len(report.deleted)}, "
               f"unchanged {report.unchanged}, platform edits kept {len(report.kept_platform_edits)}")


@rules_app.command("list")
def rules_list() -> None:
    """The stored rules."""
    from synopse.db.alerts import load_rules

    with _connect(_settings()) as conn:
        for rule in load_rules(conn):
            state = "on " if rule.enabled else "off"
            typer.echo(f"{state} {rule.rule_id:45} {rule.kind:11} {rule.source:8} {rule.updated_by} "
                       f"{rule.updated_at:%Y-%m-%d %H:%M}")


@rules_app.command("set")
def rules_set(
    path: Annotated[Path, typer.Argument(help="YAML file holding ONE rule (a mapping).")],
    by: Annotated[str, typer.Option(help="Who makes the change.")],
    role: Annotated[list[str], typer.Option(help="The author's roles (administrator or crisis_cell may edit rules).")],
    comment: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Create or change one rule as a platform edit (recorded: who, when, before and after)."""
    import yaml

    from synopse.db.alerts import upsert_rule
    from synopse.domain.alerts import can_edit_rules, parse_rule, rule_document

    if not can_edit_rules(set(role)):
        _fail(f"roles {sorted(role)} may not edit rules (needs administrator or crisis_cell)")
    try:
        rule = parse_rule(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        _fail(str(exc))
    with _connect(_settings()) as conn:
        action = upsert_rule(conn, rule_id=rule.id, kind=rule.kind, definition=rule_document(rule),
                             enabled=rule.enabled, source="platform", actor=by, comment=comment)
    typer.echo(f"{rule.id}: {action or 'unchanged'}")


@rules_app.command("history")
def rules_history(
    rule: Annotated[str | None, typer.Option(help="One rule id.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Every change to the rules: who, when, what."""
    from synopse.db.alerts import rule_changes

    with _connect(_settings()) as conn:
        for change in rule_changes(conn, rule, limit):
            typer.echo(f"{change.changed_at:%Y-%m-%d %H:%M:%S} {change.action:7} {change.rule_id:40} "
                       f"by {change.changed_by} ({change.source}) {change.comment}")


# ------------------------------------------------------------------------------------------------ alerts


@app.command("list")
def alerts_list(
    status: Annotated[list[str] | None, typer.Option(help="pending, firing or resolved (repeatable).")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Alerts, newest first, with their acknowledgement."""
    from synopse.db.alerts import list_alerts
    from synopse.domain.alerts import Severity

    with _connect(_settings()) as conn:
        rows = list_alerts(conn, status, limit)
    for row in rows:
        ack = f" ack {row.acked_by} {row.acked_at:%H:%M}" if row.acked_by and row.acked_at else ""
        typer.echo(f"{row.alert_id} {row.status:8} {Severity(row.severity).label:11} {row.summary}{ack}")
    typer.echo(f"{len(rows)} alerts")


@app.command("ack")
def ack(
    alert_id: Annotated[str, typer.Argument(help="The alert's id.")],
    by: Annotated[str, typer.Option(help="Who acknowledges.")],
    comment: Annotated[str, typer.Option(help="What is being done.")] = "",
) -> None:
    """Acknowledge an alert (who, when, comment)."""
    from synopse.db.alerts import acknowledge

    try:
        uuid.UUID(alert_id)
    except ValueError:
        _fail(f"not an alert id: {alert_id!r}")
    with _connect(_settings()) as conn:
        at = acknowledge(conn, alert_id, by=by, comment=comment)
    if at is None:
        _fail(f"no alert {alert_id}", code=1)
    typer.echo(f"acknowledged by {by} at {at:%Y-%m-%d %H:%M:%S %Z}")


@silence_app.command("add")
def silence_add(
    until: Annotated[str, typer.Option(help="End: a duration from now (2h, 1d) or an ISO 8601 instant.")],
    by: Annotated[str, typer.Option(help="Who silences.")],
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    scope: Annotated[str | None, typer.Option(help="Only this territory, e.g. facility:hp-confluent, commune:44109.")]
    = None,
    indicator: Annotated[str | None, typer.Option(help="Only this indicator, e.g. occupancy_rate.")] = None,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Mute the notifications of matching alerts until an end time (they are still evaluated and shown)."""
    from synopse.db.alerts import add_silence
    from synopse.domain.alerts import parse_duration

    if rule is None and scope is None and indicator is None:
        _fail("give at least one of --rule, --scope, --indicator")
    try:
        ends_at = datetime.now(UTC) + parse_duration(until)
    except ValueError:
        try:
            ends_at = datetime.fromisoformat(until)
        except ValueError:
            _fail(f"--until: expected a duration (2h) or an ISO 8601 instant, got {until!r}")
        if ends_at.tzinfo is None:
            _fail("--until: give a time zone (e.g. 2026-01-31T18:00:00+01:00)")
    silence_id = str(uuid.uuid4())
    with _connect(_settings()) as conn:
        add_silence(conn, silence_id, ends_at=ends_at, created_by=by, rule_id=rule, scope_key=scope,
                    indicator=indicator, comment=comment)
    typer.echo(f"silence {silence_id} until {ends_at:%Y-%m-%d %H:%M %Z}")


@silence_app.command("list")
def silence_list() -> None:
    """Active and future silences."""
    from synopse.db.alerts import active_silences

    with _connect(_settings()) as conn:
        for s in active_silences(conn, datetime.now(UTC)):
            typer.echo(f"{s.silence_id} until {s.ends_at:%Y-%m-%d %H:%M} rule={s.rule_id or '*'} "
                       f"scope={s.scope_key or '*'} indicator={s.indicator or '*'} by {s.created_by}: {s.comment}")


@silence_app.command("expire")
def silence_expire(silence_id: Annotated[str, typer.Argument()]) -> None:
    """End a silence now."""
    from synopse.db.alerts import expire_silence

    with _connect(_settings()) as conn:
        if not expire_silence(conn, silence_id):
            _fail(f"no active silence {silence_id}", code=1)
    typer.echo("expired")


# ----------------------------------------------------------------------------------- subscribers, ledger


@subscribers_app.command("add")
def subscribers_add(
    subscriber_id: Annotated[str, typer.Argument()],
    kind: Annotated[str, typer.Option(help="webhook, email or kafka.")],
    target: Annotated[str, typer.Option(help="URL, e-mail address, or topic (without prefix).")],
    name: Annotated[str | None, typer.Option()] = None,
    secret_env: Annotated[str | None, typer.Option(help="Environment variable holding the webhook's HMAC key.")]
    = None,
    organisation: Annotated[
        str | None, typer.Option(help="Partner organisation's slug (receives only what is shared with it).")
    ] = None,
    min_severity: Annotated[str, typer.Option(help="info, warning, severe or critical.")] = "info",
) -> None:
    """Add or change a subscriber."""
    from synopse.db.alert_delivery import organisation_id, upsert_subscriber

    if kind not in ("webhook", "email", "kafka"):
        _fail("--kind is webhook, email or kafka")
    secret = None
    if secret_env:
        secret = os.environ.get(secret_env)
        if not secret:
            _fail(f"{secret_env} is not set")
    with _connect(_settings()) as conn:
        org = None
        if organisation is not None:
            org = organisation_id(conn, organisation)
            if org is None:
                _fail(f"no organisation {organisation!r} (see the access commands)")
        upsert_subscriber(conn, subscriber_id, name=name or subscriber_id, kind=kind, target=target, secret=secret,
                          organisation_id=org, min_severity=min_severity)
    typer.echo(f"subscriber {subscriber_id} saved")


@subscribers_app.command("list")
def subscribers_list() -> None:
    from synopse.db.alert_delivery import list_subscribers

    with _connect(_settings()) as conn:
        for s in list_subscribers(conn, enabled_only=False):
            breaker = f" circuit open until {s.breaker_open_until:%H:%M:%S}" if s.breaker_open_until else ""
            typer.echo(f"{s.subscriber_id:24} {s.kind:8} {s.target} org={s.organisation or '-'} "
                       f">= {s.min_severity}{breaker}")


@app.command("ledger")
def ledger(
    status: Annotated[list[str] | None, typer.Option(help="queued, delivered, failed or dead (repeatable).")] = None,
    subscriber: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """The delivery ledger: every notification per subscriber and where it stands."""
    from synopse.db.alert_delivery import ledger as read_ledger
    from synopse.db.alert_delivery import ledger_counts

    with _connect(_settings()) as conn:
        rows = read_ledger(conn, statuses=status, subscriber_id=subscriber, limit=limit)
        counts = ledger_counts(conn)
    for n in rows:
        error = f" ({n.last_error})" if n.last_error else ""
        typer.echo(f"{n.created_at:%Y-%m-%d %H:%M:%S} {n.notification_id} {n.subscriber_id:20} {n.event_kind:8} "
                   f"{n.status:9} attempts={n.attempts}{error}")
    typer.echo("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


@app.command("replay-dead")
def replay_dead(
    subscriber: Annotated[str | None, typer.Option(help="Only this subscriber (its circuit is closed too).")] = None,
    notification: Annotated[list[str] | None, typer.Option(help="Only these notification ids.")] = None,
) -> None:
    """Queue dead notifications again, with their idempotency key and a fresh retry budget."""
    from synopse.db.alert_delivery import replay_dead as replay

    ids = None
    if notification:
        try:
            ids = [uuid.UUID(value) for value in notification]
        except ValueError:
            _fail("--notification takes notification ids (UUIDs)")
    with _connect(_settings()) as conn:
        count = replay(conn, subscriber_id=subscriber, notification_ids=ids)
    typer.echo(f"{count} dead notifications queued again")
