"""SQL of access and sharing: organisations, users, shares, sessions, login attempts, API tokens, audit log.

Boundary: functions take a psycopg connection inside the caller's transaction and never commit. They store
only what the caller computed: password hashes, SHA-256 digests of session ids and tokens (hashing and
token generation live in ``dashboard.auth``). Rules that must hold across several dashboard workers (login
rate limits, the first administrator) serialise on transaction-scoped advisory locks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, LiteralString

from psycopg import Connection, errors
from psycopg.rows import class_row

from synopse.domain.access import (
    ApiToken,
    AuditEntry,
    AuditRecord,
    Organisation,
    Role,
    SessionUser,
    Share,
    ShareKind,
    UserAccount,
)
from synopse.errors import SynopseError

# Namespace of this module's advisory locks (two-int form), so they never collide with the migrator's.
_LOCK_CLASS = 0x53594E41


class AccessError(SynopseError):
    """An administrative request that cannot be done as asked (unknown user, duplicate name...)."""


# --- organisations -------------------------------------------------------------------------------------------


def add_organisation(conn: Connection[Any], slug: str, name: str) -> Organisation:
    """Create an organisation. Raises AccessError when the slug exists or is malformed."""
    try:
        with conn.transaction(), conn.cursor(row_factory=class_row(Organisation)) as cur:
            row = cur.execute(
                "INSERT INTO access_organisations (slug, name) VALUES (%s, %s) "
                "RETURNING organisation_id, slug, name, created_at",
                (slug, name),
            ).fetchone()
    except errors.UniqueViolation as exc:
        raise AccessError(f"organisation {slug!r} already exists") from exc
    except errors.CheckViolation as exc:
        raise AccessError(f"invalid organisation {slug!r}: lower-case letters, digits and dashes, 2-63") from exc
    assert row is not None  # noqa: S101 - INSERT ... RETURNING returns the row
    return row


def get_organisation(conn: Connection[Any], slug: str) -> Organisation | None:
    with conn.cursor(row_factory=class_row(Organisation)) as cur:
        return cur.execute(
            "SELECT organisation_id, slug, name, created_at FROM access_organisations WHERE slug = %s", (slug,)
        ).fetchone()


def list_organisations(conn: Connection[Any]) -> list[Organisation]:
    with conn.cursor(row_factory=class_row(Organisation)) as cur:
        return cur.execute(
            "SELECT organisation_id, slug, name, created_at FROM access_organisations ORDER BY slug"
        ).fetchall()


# --- users ---------------------------------------------------------------------------------------------------

_USER_COLUMNS: LiteralString = """
SELECT u.user_id, u.username, u.display_name, u.password_hash, u.role, u.organisation_id,
       o.slug AS organisation, u.active, u.created_at, u.password_changed_at
FROM access_users u LEFT JOIN access_organisations o USING (organisation_id)
"""


def add_user(
    conn: Connection[Any],
    username: str,
    password_hash: str,
    role: Role,
    organisation_id: int | None = None,
    display_name: str = "",
) -> UserAccount:
    """Create a user. Raises AccessError on a duplicate or malformed username, or a partner without organisation."""
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO access_users (username, display_name, password_hash, role, organisation_id) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING user_id",
                (username, display_name, password_hash, role.value, organisation_id),
            ).fetchone()
    except errors.UniqueViolation as exc:
        raise AccessError(f"user {username!r} already exists") from exc
    except errors.CheckViolation as exc:
        if "partner_has_organisation" in str(exc):
            raise AccessError("a partner must belong to an organisation (--org)") from exc
        raise AccessError(
            f"invalid username {username!r}: lower-case letters, digits, '.', '_' and '-', 2-63 characters"
        ) from exc
    assert row is not None  # noqa: S101
    user = get_user(conn, username)
    assert user is not None  # noqa: S101
    return user


def get_user(conn: Connection[Any], username: str) -> UserAccount | None:
    with conn.cursor(row_factory=class_row(UserAccount)) as cur:
        return cur.execute(_USER_COLUMNS + " WHERE u.username = %s", (username,)).fetchone()


def list_users(conn: Connection[Any]) -> list[UserAccount]:
    with conn.cursor(row_factory=class_row(UserAccount)) as cur:
        return cur.execute(_USER_COLUMNS + " ORDER BY u.username").fetchall()


def set_user_active(conn: Connection[Any], username: str, active: bool) -> UserAccount:
    """Enable or disable a user; disabling also ends every session of the user at once."""
    row = conn.execute(
        "UPDATE access_users SET active = %s WHERE username = %s RETURNING user_id", (active, username)
    ).fetchone()
    if row is None:
        raise AccessError(f"no user {username!r}")
    if not active:
        delete_user_sessions(conn, row[0])
    user = get_user(conn, username)
    assert user is not None  # noqa: S101
    return user


def set_password_hash(conn: Connection[Any], username: str, password_hash: str, *, end_sessions: bool = True) -> None:
    """Replace a user's password hash; by default every session of the user ends (a reset locks intruders out)."""
    row = conn.execute(
        "UPDATE access_users SET password_hash = %s, password_changed_at = now() WHERE username = %s RETURNING user_id",
        (password_hash, username),
    ).fetchone()
    if row is None:
        raise AccessError(f"no user {username!r}")
    if end_sessions:
        delete_user_sessions(conn, row[0])


def ensure_first_administrator(conn: Connection[Any], username: str, password_hash: str) -> str:
    """Create ``username`` as an administrator when no administrator exists.

    Several dashboard workers may start at once: they serialise on an advisory lock, so exactly one creates it.

    Returns:
        ``created``, ``exists`` (an administrator exists already), or ``taken`` (none exists, but an account
        named ``username`` has another role: it is never promoted by a start-up).
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_CLASS,))
    row = conn.execute("SELECT count(*) FROM access_users WHERE role = 'administrator'").fetchone()
    if row is not None and row[0] > 0:
        return "exists"
    created = conn.execute(
        "INSERT INTO access_users (username, display_name, password_hash, role) VALUES (%s, %s, %s, 'administrator') "
        "ON CONFLICT (username) DO NOTHING RETURNING user_id",
        (username, "Administrateur", password_hash),
    ).fetchone()
    return "created" if created is not None else "taken"


# --- shares --------------------------------------------------------------------------------------------------

_REFERENCE_CHECK: dict[ShareKind, LiteralString] = {
    ShareKind.FACILITY: "SELECT r FROM unnest(%s::text[]) AS r WHERE r NOT IN (SELECT facility_id FROM facilities)",
    ShareKind.COMMUNE: "SELECT r FROM unnest(%s::text[]) AS r WHERE r NOT IN (SELECT code FROM communes)",
}


def unknown_references(conn: Connection[Any], kind: ShareKind, refs: Iterable[str]) -> list[str]:
    """The facility ids or commune codes among ``refs`` that the reference tables do not hold."""
    query = _REFERENCE_CHECK.get(kind)
    if query is None:
        return []
    return [row[0] for row in conn.execute(query, (list(refs),)).fetchall()]


def grant_shares(
    conn: Connection[Any], organisation_id: int, kind: ShareKind, refs: Iterable[str], granted_by: str
) -> list[str]:
    """Share ``refs`` with the organisation; returns those newly shared (already shared ones are kept as is)."""
    rows = conn.execute(
        "INSERT INTO access_shares (organisation_id, kind, ref, granted_by) "
        "SELECT %s, %s, r, %s FROM unnest(%s::text[]) AS r ON CONFLICT DO NOTHING RETURNING ref",
        (organisation_id, kind.value, granted_by, list(refs)),
    ).fetchall()
    return [row[0] for row in rows]


def revoke_shares(conn: Connection[Any], organisation_id: int, kind: ShareKind, refs: Iterable[str]) -> list[str]:
    """Stop sharing ``refs``; returns those that were shared. Takes effect at the next query of any session."""
    rows = conn.execute(
        "DELETE FROM access_shares WHERE organisation_id = %s AND kind = %s AND ref = ANY(%s::text[]) RETURNING ref",
        (organisation_id, kind.value, list(refs)),
    ).fetchall()
    return [row[0] for row in rows]


def list_shares(conn: Connection[Any], organisation_id: int) -> list[Share]:
    with conn.cursor(row_factory=class_row(Share)) as cur:
        return cur.execute(
            "SELECT organisation_id, kind, ref, granted_at, granted_by FROM access_shares "
            "WHERE organisation_id = %s ORDER BY kind, ref",
            (organisation_id,),
        ).fetchall()


# --- sessions ------------------------------------------------------------------------------------------------


def create_session(
    conn: Connection[Any], session_hash: bytes, user_id: int, lifetime: timedelta, ip: str, user_agent: str
) -> None:
    # The user agent is kept (truncated) to let a user recognise a session; it is never trusted.
    conn.execute(
        "INSERT INTO access_sessions (session_hash, user_id, expires_at, ip, user_agent) "
        "VALUES (%s, %s, now() + %s, %s, left(%s, 200))",
        (session_hash, user_id, lifetime, ip, user_agent),
    )


_SESSION_USER: LiteralString = """
SELECT u.user_id, u.username, u.display_name, u.role, u.organisation_id, o.slug AS organisation,
       s.last_seen_at, s.expires_at
FROM access_sessions s
JOIN access_users u USING (user_id)
LEFT JOIN access_organisations o ON o.organisation_id = u.organisation_id
WHERE s.session_hash = %(hash)s AND u.active AND s.expires_at > now() AND s.last_seen_at > now() - %(idle)s
"""


def session_user(conn: Connection[Any], session_hash: bytes, idle: timedelta) -> SessionUser | None:
    """The active user of a live session (not expired, not idle for longer than ``idle``), else None."""
    with conn.cursor(row_factory=class_row(SessionUser)) as cur:
        return cur.execute(_SESSION_USER, {"hash": session_hash, "idle": idle}).fetchone()


def touch_session(conn: Connection[Any], session_hash: bytes, every: timedelta) -> None:
    """Record activity on a session, at most once per ``every`` (a write per refresh would be wasted)."""
    conn.execute(
        "UPDATE access_sessions SET last_seen_at = now() WHERE session_hash = %s AND last_seen_at < now() - %s",
        (session_hash, every),
    )


def delete_session(conn: Connection[Any], session_hash: bytes) -> bool:
    return conn.execute("DELETE FROM access_sessions WHERE session_hash = %s", (session_hash,)).rowcount > 0


def delete_user_sessions(conn: Connection[Any], user_id: int) -> int:
    return conn.execute("DELETE FROM access_sessions WHERE user_id = %s", (user_id,)).rowcount


def purge_expired_sessions(conn: Connection[Any], idle: timedelta) -> int:
    return conn.execute(
        "DELETE FROM access_sessions WHERE expires_at <= now() OR last_seen_at <= now() - %s", (idle,)
    ).rowcount


# --- login attempts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginFailures:
    """Recent failed logins of one account (since its last success) and from one address."""

    account: int
    address: int
    oldest_account_failure: datetime | None
    oldest_address_failure: datetime | None


def lock_login(conn: Connection[Any], username: str) -> None:
    """Serialise the logins of one username across workers until the transaction ends (check-then-record)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, username))


_LOGIN_FAILURES: LiteralString = """
WITH last_success AS (
    SELECT max(attempted_at) AS at FROM access_login_attempts
    WHERE username = %(username)s AND outcome = 'success' AND attempted_at > now() - %(window)s
)
SELECT
    (SELECT count(*) FROM access_login_attempts
     WHERE username = %(username)s AND outcome = 'failure' AND attempted_at > now() - %(window)s
       AND attempted_at > coalesce((SELECT at FROM last_success), '-infinity'))::int,
    (SELECT count(*) FROM access_login_attempts
     WHERE ip = %(ip)s AND outcome = 'failure' AND attempted_at > now() - %(window)s)::int,
    (SELECT min(attempted_at) FROM access_login_attempts
     WHERE username = %(username)s AND outcome = 'failure' AND attempted_at > now() - %(window)s
       AND attempted_at > coalesce((SELECT at FROM last_success), '-infinity')),
    (SELECT min(attempted_at) FROM access_login_attempts
     WHERE ip = %(ip)s AND outcome = 'failure' AND attempted_at > now() - %(window)s)
"""


def login_failures(conn: Connection[Any], username: str, ip: str, window: timedelta) -> LoginFailures:
    """Failures within ``window``: of the account since its last success, and from the address (any account).

    A success does not reset the address count: logging in to one's own account must not reopen guessing on
    others. Cost: two index range scans (username, time) and (ip, time).
    """
    row = conn.execute(_LOGIN_FAILURES, {"username": username, "ip": ip, "window": window}).fetchone()
    assert row is not None  # noqa: S101 - a SELECT without FROM returns one row
    return LoginFailures(row[0], row[1], row[2], row[3])


def record_login_attempt(conn: Connection[Any], username: str, ip: str, outcome: str) -> None:
    conn.execute(
        "INSERT INTO access_login_attempts (username, ip, outcome) VALUES (left(%s, 100), %s, %s)",
        (username, ip, outcome),
    )


def purge_login_attempts(conn: Connection[Any], older_than: timedelta) -> int:
    return conn.execute(
        "DELETE FROM access_login_attempts WHERE attempted_at < now() - %s", (older_than,)
    ).rowcount


# --- API tokens ----------------------------------------------------------------------------------------------

_MACHINE_ACCESS_SELECT: LiteralString = """
SELECT t.token_id, t.prefix, t.organisation_id, o.slug AS organisation, t.name, t.created_at, t.created_by,
       t.expires_at, t.last_used_at, t.revoked_at
FROM access_tokens t JOIN access_organisations o USING (organisation_id)
"""


def create_token(
    conn: Connection[Any],
    token_hash: bytes,
    prefix: str,
    organisation_id: int,
    name: str,
    created_by: str,
    expires_at: datetime | None,
) -> ApiToken:
    row = conn.execute(
        "INSERT INTO access_tokens (token_hash, prefix, organisation_id, name, created_by, expires_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING token_id",
        (token_hash, prefix, organisation_id, name, created_by, expires_at),
    ).fetchone()
    assert row is not None  # noqa: S101
    with conn.cursor(row_factory=class_row(ApiToken)) as cur:
        token = cur.execute(_MACHINE_ACCESS_SELECT + " WHERE t.token_id = %s", (row[0],)).fetchone()
    assert token is not None  # noqa: S101
    return token


def token_by_hash(conn: Connection[Any], token_hash: bytes, touch_every: timedelta) -> ApiToken | None:
    """The live (not revoked, not expired) token with this digest; its use is recorded once per ``touch_every``."""
    with conn.cursor(row_factory=class_row(ApiToken)) as cur:
        token = cur.execute(
            _MACHINE_ACCESS_SELECT
            + " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())",
            (token_hash,),
        ).fetchone()
    if token is not None:
        conn.execute(
            "UPDATE access_tokens SET last_used_at = now() WHERE token_id = %s "
            "AND (last_used_at IS NULL OR last_used_at < now() - %s)",
            (token.token_id, touch_every),
        )
    return token


def revoke_token(conn: Connection[Any], token: str) -> ApiToken:
    """Revoke a token given by its id or its prefix. Raises AccessError when none or several match."""
    with conn.cursor(row_factory=class_row(ApiToken)) as cur:
        matches = cur.execute(
            _MACHINE_ACCESS_SELECT + " WHERE t.prefix = %s OR t.token_id::text = %s", (token, token)
        ).fetchall()
    if not matches:
        raise AccessError(f"no token {token!r}")
    if len(matches) > 1:
        raise AccessError(f"{token!r} matches {len(matches)} tokens: give its id")
    conn.execute(
        "UPDATE access_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE token_id = %s", (matches[0].token_id,)
    )
    return matches[0]


def list_tokens(conn: Connection[Any], organisation_id: int | None = None) -> list[ApiToken]:
    with conn.cursor(row_factory=class_row(ApiToken)) as cur:
        return cur.execute(
            _MACHINE_ACCESS_SELECT + " WHERE (%(org)s::int IS NULL OR t.organisation_id = %(org)s) ORDER BY t.token_id",
            {"org": organisation_id},
        ).fetchall()


# --- audit ---------------------------------------------------------------------------------------------------


def record_audit(conn: Connection[Any], entry: AuditEntry) -> None:
    """Append one line to the audit log, in the caller's transaction (no audit line, no data)."""
    conn.execute(
        "INSERT INTO access_audit (actor, role, organisation_id, action, target, outcome, ip, details) "
        "VALUES (%s, %s, %s, %s, left(%s, 500), %s, %s, %s::jsonb)",
        (
            entry.actor,
            entry.role,
            entry.organisation_id,
            entry.action,
            entry.target,
            entry.outcome,
            entry.ip,
            json.dumps(entry.details, default=str),
        ),
    )


def recent_audit(
    conn: Connection[Any], *, limit: int = 50, actor: str | None = None, action: str | None = None
) -> list[AuditRecord]:
    """The newest audit lines first, optionally of one actor or one action (prefix: ``share.`` matches all)."""
    with conn.cursor(row_factory=class_row(AuditRecord)) as cur:
        return cur.execute(
            "SELECT audit_id, at, actor, role, organisation_id, action, target, outcome, ip, details "
            "FROM access_audit WHERE (%(actor)s::text IS NULL OR actor = %(actor)s) "
            "AND (%(action)s::text IS NULL OR action LIKE %(action)s || '%%') "
            "ORDER BY audit_id DESC LIMIT %(limit)s",
            {"actor": actor, "action": action, "limit": limit},
        ).fetchall()
