"""``synopse access ...``: administration of accounts, organisations, shares and API tokens, and the audit log.

Every change is written to the audit log in the transaction that makes it, under the actor
``cli:<system user>``. Passwords and tokens are shown once, when created, and stored only as hashes.
Registered by the composition root as ``app.add_typer(access_app, name="access")``.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from synopse.commandline import fail as _fail
from synopse.domain.access import Role, ShareKind

if TYPE_CHECKING:
    import psycopg

app = typer.Typer(
    help="Accounts, organisations, sharing with partners, API tokens and the audit log.", no_args_is_help=True
)
users_app = typer.Typer(help="Dashboard accounts.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations (partners).", no_args_is_help=True)
share_app = typer.Typer(help="What is shared with an organisation: facilities, communes, indicators.",
                        no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens of an organisation (machines reading the JSON API).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(orgs_app, name="orgs")
app.add_typer(share_app, name="share")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (some containers)
        return "cli:unknown"


@contextmanager
def _connection() -> Iterator[psycopg.Connection[Any]]:
    """One transaction on the configured database, committed when the command succeeds."""
    from synopse.config import load_settings
    from synopse.db.access import AccessError
    from synopse.db.connection import connect
    from synopse.errors import ConfigurationError, SynopseError
    from synopse.logging import configure_logging

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        _fail(str(exc))
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        with connect(settings.dsn, connect_timeout_s=settings.db.connect_timeout_s) as conn:
            yield conn
    except AccessError as exc:
        _fail(str(exc))
    except SynopseError as exc:
        _fail(str(exc), code=1)


def _audit(conn: psycopg.Connection[Any], action: str, target: str, **details: Any) -> None:
    from synopse.db.access import record_audit
    from synopse.domain.access import AuditEntry

    record_audit(conn, AuditEntry(_actor(), action, target, role="cli", details=details))


def _organisation_id(conn: psycopg.Connection[Any], slug: str) -> int:
    from synopse.db.access import get_organisation

    organisation = get_organisation(conn, slug)
    if organisation is None:
        _fail(f"no organisation {slug!r} (`synopse access orgs list`)")
    return organisation.organisation_id


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """The password given on stdin, or a generated one (second value True: show it)."""
    from dashboard.auth.passwords import generate_password

    if not from_stdin:
        return generate_password(), True
    password = sys.stdin.readline().rstrip("\r\n")
    return password, False


def _hash(password: str) -> str:
    from dashboard.auth.passwords import hash_password

    try:
        return hash_password(password)
    except ValueError as exc:
        _fail(str(exc))


def _when(instant: datetime | None) -> str:
    return "-" if instant is None else instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- users ---------------------------------------------------------------------------------------------------

PasswordStdinOption = Annotated[bool, typer.Option(help="Read the password from stdin instead of generating one.")]


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, '.', '_' or '-'.")],
    role: Annotated[Role, typer.Option(help="administrator, crisis_cell, partner (needs --org) or viewer.")],
    org: Annotated[str | None, typer.Option(help="The organisation (slug) the user belongs to.")] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Create an account; without --password-stdin a random password is generated and shown once."""
    from synopse.db.access import add_user

    password, show = _read_password(password_stdin)
    password_hash = _hash(password)
    with _connection() as conn:
        organisation_id = _organisation_id(conn, org) if org else None
        user = add_user(conn, username, password_hash, role, organisation_id, name)
        _audit(conn, "users.add", user.username, role=role.value, organisation=org)
    typer.echo(f"user {user.username} added ({role.value}{', ' + org if org else ''})")
    if show:
        typer.echo(f"password (shown once): {password}")


@users_app.command("list")
def users_list() -> None:
    """List the accounts."""
    from synopse.db.access import list_users

    with _connection() as conn:
        users = list_users(conn)
    for user in users:
        state = "active" if user.active else "disabled"
        typer.echo(f"{user.username:24} {user.role:13} {user.organisation or '-':20} {state:9} "
                   f"created {_when(user.created_at)}")
    typer.echo(f"{len(users)} user(s)")


def _set_active(username: str, active: bool) -> None:
    from synopse.db.access import set_user_active

    with _connection() as conn:
        set_user_active(conn, username, active)
        _audit(conn, "users.enable" if active else "users.disable", username)
    typer.echo(f"user {username} {'enabled' if active else 'disabled (its sessions are ended)'}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable an account at once: its sessions end, it can no longer log in."""
    _set_active(username, False)


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled account again."""
    _set_active(username, True)


@users_app.command("passwd")
def users_passwd(
    username: str,
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Set a new password (generated and shown once unless given on stdin); the user's sessions end."""
    from synopse.db.access import set_password_hash

    password, show = _read_password(password_stdin)
    password_hash = _hash(password)
    with _connection() as conn:
        set_password_hash(conn, username, password_hash)
        _audit(conn, "users.passwd", username)
    typer.echo(f"password of {username} changed (its sessions are ended)")
    if show:
        typer.echo(f"password (shown once): {password}")


# --- organisations -------------------------------------------------------------------------------------------


@orgs_app.command("add")
def orgs_add(
    slug: Annotated[str, typer.Argument(help="Short id: lower-case letters, digits and dashes.")],
    name: Annotated[str, typer.Option(help="Full name of the organisation.")],
) -> None:
    """Create an organisation (partners and API tokens belong to one)."""
    from synopse.db.access import add_organisation

    with _connection() as conn:
        organisation = add_organisation(conn, slug, name)
        _audit(conn, "orgs.add", slug, name=name)
    typer.echo(f"organisation {organisation.slug} added: {organisation.name}")


@orgs_app.command("list")
def orgs_list() -> None:
    """List the organisations."""
    from synopse.db.access import list_organisations

    with _connection() as conn:
        organisations = list_organisations(conn)
    for organisation in organisations:
        typer.echo(f"{organisation.slug:24} {organisation.name}")
    typer.echo(f"{len(organisations)} organisation(s)")


# --- shares --------------------------------------------------------------------------------------------------


def _share_items(facility: list[str], commune: list[str], indicator: list[str]) -> list[tuple[ShareKind, list[str]]]:
    from synopse.domain.access import expand_indicators

    try:
        indicators = expand_indicators(indicator)
    except ValueError as exc:
        _fail(str(exc))
    items = [(ShareKind.FACILITY, facility), (ShareKind.COMMUNE, commune), (ShareKind.INDICATOR, indicators)]
    items = [(kind, refs) for kind, refs in items if refs]
    if not items:
        _fail("nothing to share: give --facility, --commune or --indicator (repeatable)")
    return items


FacilityOption = Annotated[list[str], typer.Option("--facility", help="A facility id (repeatable).")]
CommuneOption = Annotated[list[str], typer.Option("--commune", help="An INSEE commune code (repeatable).")]
IndicatorOption = Annotated[
    list[str],
    typer.Option("--indicator", help="admissions, ed_visits, beds, an environmental indicator or 'environment'."),
]


@share_app.command("grant")
def share_grant(
    org: Annotated[str, typer.Argument(help="The organisation (slug).")],
    facility: FacilityOption = [],  # noqa: B006 - typer reads the default, never mutates it
    commune: CommuneOption = [],  # noqa: B006
    indicator: IndicatorOption = [],  # noqa: B006
) -> None:
    """Share facilities, communes and indicators with an organisation (partners see only what is shared)."""
    from synopse.db.access import grant_shares, unknown_references

    items = _share_items(facility, commune, indicator)
    with _connection() as conn:
        organisation_id = _organisation_id(conn, org)
        for kind, refs in items:
            unknown = unknown_references(conn, kind, refs)
            if unknown:
                _fail(f"unknown {kind.value}(s): {', '.join(unknown)}")
        for kind, refs in items:
            granted = grant_shares(conn, organisation_id, kind, refs, _actor())
            _audit(conn, "share.grant", org, kind=kind.value, refs=refs, new=granted)
            typer.echo(f"{kind.value}: {len(granted)} shared now, {len(refs) - len(granted)} already shared")


@share_app.command("revoke")
def share_revoke(
    org: Annotated[str, typer.Argument(help="The organisation (slug).")],
    facility: FacilityOption = [],  # noqa: B006
    commune: CommuneOption = [],  # noqa: B006
    indicator: IndicatorOption = [],  # noqa: B006
) -> None:
    """Stop sharing; effective at the organisation's next query (every session, every token)."""
    from synopse.db.access import revoke_shares

    items = _share_items(facility, commune, indicator)
    with _connection() as conn:
        organisation_id = _organisation_id(conn, org)
        for kind, refs in items:
            revoked = revoke_shares(conn, organisation_id, kind, refs)
            _audit(conn, "share.revoke", org, kind=kind.value, refs=refs, revoked=revoked)
            typer.echo(f"{kind.value}: {len(revoked)} revoked")


@share_app.command("list")
def share_list(org: Annotated[str, typer.Argument(help="The organisation (slug).")]) -> None:
    """What is shared with an organisation."""
    from synopse.db.access import list_shares

    with _connection() as conn:
        shares = list_shares(conn, _organisation_id(conn, org))
    for share in shares:
        typer.echo(f"{share.kind:10} {share.ref:28} granted {_when(share.granted_at)} by {share.granted_by}")
    typer.echo(f"{len(shares)} share(s)")


# --- tokens --------------------------------------------------------------------------------------------------


@tokens_app.command("create")
def tokens_create(
    org: Annotated[str, typer.Argument(help="The organisation (slug) the token reads for.")],
    name: Annotated[str, typer.Option(help="What the token is for (e.g. the partner's system).")],
    expires_days: Annotated[int | None, typer.Option(help="Days until it expires; default: never.", min=1)] = None,
) -> None:
    """Create an API token: it reads what the organisation's partners see; shown once, stored as a hash."""
    from dashboard.auth.credentials import digest, new_api_token
    from synopse.db.access import create_token

    token, prefix = new_api_token()
    expires = None if expires_days is None else datetime.now(UTC) + timedelta(days=expires_days)
    with _connection() as conn:
        record = create_token(conn, digest(token), prefix, _organisation_id(conn, org), name, _actor(), expires)
        _audit(conn, "tokens.create", prefix, organisation=org, name=name, expires_at=_when(expires))
    typer.echo(f"token {record.token_id} ({prefix}...) created for {org}, expires {_when(expires)}")
    typer.echo(f"token (shown once): {token}")
    typer.echo("use it as the header `Authorization: Bearer <token>`")


@tokens_app.command("revoke")
def tokens_revoke(token: Annotated[str, typer.Argument(help="The token's id or prefix (see `tokens list`).")]) -> None:
    """Revoke a token at once."""
    from synopse.db.access import revoke_token

    with _connection() as conn:
        record = revoke_token(conn, token)
        _audit(conn, "tokens.revoke", record.prefix, organisation=record.organisation)
    typer.echo(f"token {record.token_id} ({record.prefix}...) of {record.organisation} revoked")


@tokens_app.command("list")
def tokens_list(org: Annotated[str | None, typer.Option(help="Only this organisation's tokens.")] = None) -> None:
    """List the tokens (never their values)."""
    from synopse.db.access import list_tokens

    with _connection() as conn:
        tokens = list_tokens(conn, _organisation_id(conn, org) if org else None)
    for token in tokens:
        state = "revoked" if token.revoked_at else "active"
        typer.echo(f"{token.token_id:5} {token.prefix}...  {token.organisation:20} {state:8} {token.name} "
                   f"(last used {_when(token.last_used_at)}, expires {_when(token.expires_at)})")
    typer.echo(f"{len(tokens)} token(s)")


# --- audit ---------------------------------------------------------------------------------------------------


@audit_app.command("show")
def audit_show(
    limit: Annotated[int, typer.Option(help="Lines to show, newest first.", min=1, max=10_000)] = 50,
    actor: Annotated[str | None, typer.Option(help="Only this actor (username, token:<prefix>, cli:<user>).")] = None,
    action: Annotated[str | None, typer.Option(help="Only actions starting with this (e.g. data., share.).")] = None,
) -> None:
    """Show the audit log."""
    from synopse.db.access import recent_audit

    with _connection() as conn:
        records = recent_audit(conn, limit=limit, actor=actor, action=action)
    for record in records:
        typer.echo(f"{_when(record.at)} {record.actor:24} {record.action:14} {record.outcome:6} {record.target}")
    typer.echo(f"{len(records)} line(s)")
