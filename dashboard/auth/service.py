"""Access operations against the database: log in, resolve a session or a token, log out, audit, bootstrap.

Each operation is one short transaction on the dashboard's pool. A login serialises with the other logins
of the same username (advisory lock) so that the rate limit holds across workers: check the recent failures,
verify the password, record the attempt, create the session, audit, commit.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from dashboard.auth.credentials import csrf_token, digest, new_secret_value
from dashboard.auth.passwords import generate_password, hash_password, needs_rehash, verify_password
from dashboard.auth.ratelimit import LoginLimits
from dashboard.auth.secret import uses_embedded_runtime
from synopse.config import Settings
from synopse.db import access as db
from synopse.domain.access import AuditEntry, Principal
from synopse.errors import ConfigurationError, ServiceUnavailableError

log = logging.getLogger(__name__)

# The account `synopse up` creates on an empty store (and the one SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD sets).
BOOTSTRAP_ADMIN = "admin"
# Waiting longer than this for a pooled connection means the database is saturated or away: say so.
POOL_WAIT_S = 5.0
# Activity is recorded at most once a minute per session or token: a write per 15 s refresh would be waste.
TOUCH_EVERY = timedelta(minutes=1)
# Login attempts older than a day count for no limit: purged at each login (an index range delete).
ATTEMPTS_KEPT = timedelta(days=1)
# Usernames are compared lower-cased and cut at this length (longer is no account: see the table's CHECK).
USERNAME_MAX = 100


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt gave: a session, a lock, or a refusal (same message for every refusal)."""

    principal: Principal | None = None
    session_id: str | None = None
    retry_after: timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.session_id is not None


@dataclass(frozen=True)
class SessionPrincipal:
    """The principal of a live session and the session id that proves it."""

    principal: Principal
    session_id: str


class AccessService:
    """The database side of access, over the dashboard's pool."""

    def __init__(self, pool: ConnectionPool[Any], settings: Settings) -> None:
        self._pool = pool
        self._settings = settings.access
        self.limits = LoginLimits.from_settings(settings.access)
        self.lifetime = timedelta(hours=settings.access.session_lifetime_h)
        self.idle = timedelta(minutes=settings.access.session_idle_min)

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection(timeout=POOL_WAIT_S) as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ServiceUnavailableError(f"cannot reach the access tables: {exc}") from exc

    def login(self, username: str, password: str, *, ip: str, user_agent: str) -> LoginResult:
        """Check the limits, then the password; on success a new session (never the one the browser had)."""
        name = username.strip().lower()[:USERNAME_MAX]
        with self._transaction() as conn:
            db.lock_login(conn, name)
            failures = db.login_failures(conn, name, ip, self.limits.window)
            retry = self.limits.retry_after(failures, datetime.now(UTC))
            if retry is not None:
                db.record_login_attempt(conn, name, ip, "blocked")
                db.record_audit(conn, AuditEntry(name, "auth.login", outcome="denied", ip=ip,
                                                 details={"reason": "rate_limited"}))
                return LoginResult(retry_after=retry)
            user = db.get_user(conn, name)
            valid = verify_password(user.password_hash if user is not None else None, password)
            if user is None or not valid or not user.active:
                db.record_login_attempt(conn, name, ip, "failure")
                db.record_audit(conn, AuditEntry(name, "auth.login", outcome="failed", ip=ip))
                return LoginResult()
            if needs_rehash(user.password_hash):
                db.set_password_hash(conn, name, hash_password(password), end_sessions=False)
            session_id = new_secret_value()
            db.create_session(conn, digest(session_id), user.user_id, self.lifetime, ip, user_agent)
            db.record_login_attempt(conn, name, ip, "success")
            principal = user.principal()
            db.record_audit(conn, AuditEntry.by(principal, "auth.login", ip=ip))
            db.purge_login_attempts(conn, ATTEMPTS_KEPT)
            db.purge_expired_sessions(conn, self.idle)
        return LoginResult(principal=principal, session_id=session_id)

    def session(self, session_id: str) -> SessionPrincipal | None:
        """The principal of a live session cookie, or None (unknown, expired, idle, user disabled)."""
        hashed = digest(session_id)
        with self._transaction() as conn:
            user = db.session_user(conn, hashed, self.idle)
            if user is None:
                return None
            db.touch_session(conn, hashed, TOUCH_EVERY)
        return SessionPrincipal(user.principal(), session_id)

    def logout(self, session: SessionPrincipal, *, ip: str) -> None:
        with self._transaction() as conn:
            db.delete_session(conn, digest(session.session_id))
            db.record_audit(conn, AuditEntry.by(session.principal, "auth.logout", ip=ip))

    def token(self, token: str, *, ip: str) -> Principal | None:
        """The principal of a live API token, or None; an unknown or revoked token is audited as denied."""
        with self._transaction() as conn:
            record = db.token_by_hash(conn, digest(token), TOUCH_EVERY)
            if record is None:
                db.record_audit(conn, AuditEntry("token:unknown", "auth.token", outcome="denied", ip=ip))
                return None
        return record.principal()

    def audit(self, entry: AuditEntry) -> None:
        with self._transaction() as conn:
            db.record_audit(conn, entry)


def csrf_for(secret: bytes, session: SessionPrincipal) -> str:
    return csrf_token(secret, session.session_id)


def ensure_bootstrap_admin(pool: ConnectionPool[Any], settings: Settings) -> None:
    """Make sure an administrator exists, so that a fresh install can be logged into without manual steps.

    - ``SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD`` set: ``admin`` is created with it when no administrator
      exists (later changes of the setting change nothing: use ``synopse access users passwd``);
    - else, on the embedded runtime: ``admin`` is created with a random password, printed once on stderr;
    - else (an external database with no administrator): a warning says how to create one.
    """
    configured = settings.access.bootstrap_admin_password
    with pool.connection(timeout=POOL_WAIT_S) as conn:
        row = conn.execute("SELECT count(*) FROM access_users WHERE role = 'administrator'").fetchone()
        if row is not None and row[0] > 0:
            return
        if configured is None and not uses_embedded_runtime(settings):
            log.warning("no administrator exists: create one with "
                        "`synopse access users add NAME --role administrator` or set "
                        "SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD")
            return
        password = configured.get_secret_value() if configured is not None else generate_password()
        try:
            password_hash = hash_password(password)
        except ValueError as exc:
            raise ConfigurationError(f"SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD: {exc}") from exc
        outcome = db.ensure_first_administrator(conn, BOOTSTRAP_ADMIN, password_hash)
        created = outcome == "created"
        if created:
            db.record_audit(conn, AuditEntry("system:bootstrap", "users.add", BOOTSTRAP_ADMIN,
                                             details={"role": "administrator"}))
    if created and configured is None:
        # Straight to stderr, not through logging: a log shipper must never receive a password. This only
        # happens on the embedded runtime (a laptop), once.
        sys.stderr.write(
            "\n  First administrator created: username 'admin', password "
            f"'{password}'\n  (shown once; change it with `synopse access users passwd admin`)\n\n"
        )
        sys.stderr.flush()
    elif created:
        log.info("first administrator 'admin' created from SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD")
    elif outcome == "taken":
        log.warning("no administrator exists and an account named 'admin' has another role: none was created "
                    "(`synopse access users add NAME --role administrator`)")
