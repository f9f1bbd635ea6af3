"""``synopse access ...`` against a real database: accounts, organisations, shares, tokens, every action audited."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import pytest
from typer.testing import CliRunner

from dashboard.auth.credentials import digest
from dashboard.auth.passwords import verify_password
from dashboard.auth.service import BOOTSTRAP_ADMIN, ensure_bootstrap_admin
from dashboard.commands import app
from synopse.config import Settings
from synopse.db import access as db
from synopse.db.connection import open_pool

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("SYNOPSE_DB__DSN", pg_dsn)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the commands configure logging, as entry points do
    try:
        yield CliRunner()
    finally:
        root.handlers[:], root.level = handlers, level


def _ok(cli: CliRunner, *args: str, stdin: str | None = None) -> str:
    result = cli.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def _fails(cli: CliRunner, *args: str, stdin: str | None = None) -> str:
    result = cli.invoke(app, list(args), input=stdin)
    assert result.exit_code == 2, result.output
    return result.output


def test_administration_round_trip(cli: CliRunner, pg_dsn: str) -> None:
    assert "organisation ville-reze added" in _ok(cli, "orgs", "add", "ville-reze", "--name", "Ville de Rezé")
    assert "already exists" in _fails(cli, "orgs", "add", "ville-reze", "--name", "Again")
    assert "ville-reze" in _ok(cli, "orgs", "list")

    added = _ok(cli, "users", "add", "reze", "--role", "partner", "--org", "ville-reze", "--name", "Agent")
    password = added.split("password (shown once): ", 1)[1].strip()
    assert len(password) >= 20
    assert "must belong to an organisation" in _fails(cli, "users", "add", "p2", "--role", "partner")
    short = _fails(cli, "users", "add", "short", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert "at least 12" in short
    _ok(cli, "users", "add", "crise", "--role", "crisis_cell", "--password-stdin", stdin="a long enough password\n")
    listing = _ok(cli, "users", "list")
    assert "reze" in listing and "partner" in listing and "crise" in listing and "2 user(s)" in listing

    granted = _ok(cli, "share", "grant", "ville-reze", "--facility", "hp-confluent", "--commune", "44143",
                  "--indicator", "admissions", "--indicator", "environment")
    assert "facility: 1 shared now" in granted and "indicator: 14 shared now" in granted
    assert "unknown facility(s): nowhere" in _fails(cli, "share", "grant", "ville-reze", "--facility", "nowhere")
    assert "unknown indicator" in _fails(cli, "share", "grant", "ville-reze", "--indicator", "deaths")
    assert "nothing to share" in _fails(cli, "share", "grant", "ville-reze")
    assert "commune: 1 revoked" in _ok(cli, "share", "revoke", "ville-reze", "--commune", "44143")
    shares = _ok(cli, "share", "list", "ville-reze")
    assert "hp-confluent" in shares and "44143" not in shares and "15 share(s)" in shares

    created = _ok(cli, "tokens", "create", "ville-reze", "--name", "etl", "--expires-days", "30")
    token = created.split("token (shown once): ", 1)[1].split()[0]
    assert token.startswith("syn_") and len(token) > 40
    with psycopg.connect(pg_dsn) as conn:
        stored = db.token_by_hash(conn, digest(token), db.timedelta(minutes=1))
        assert stored is not None and stored.organisation == "ville-reze" and stored.expires_at is not None
        assert token not in str(conn.execute("SELECT * FROM access_tokens").fetchall())  # only its digest
    assert "active" in _ok(cli, "tokens", "list", "--org", "ville-reze")
    assert "revoked" in _ok(cli, "tokens", "revoke", token[:12])
    assert "revoked" in _ok(cli, "tokens", "list")
    with psycopg.connect(pg_dsn) as conn:
        assert db.token_by_hash(conn, digest(token), db.timedelta(minutes=1)) is None

    assert "disabled" in _ok(cli, "users", "disable", "reze")
    new_password = _ok(cli, "users", "passwd", "reze").split("password (shown once): ", 1)[1].strip()
    assert "enabled" in _ok(cli, "users", "enable", "reze")
    with psycopg.connect(pg_dsn) as conn:
        user = db.get_user(conn, "reze")
        assert user is not None and user.active and verify_password(user.password_hash, new_password)
        assert not verify_password(user.password_hash, password)
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM access_audit WHERE actor LIKE 'cli:%%' ORDER BY audit_id")]
    assert actions == ["orgs.add", "users.add", "users.add", "share.grant", "share.grant", "share.grant",
                       "share.revoke", "tokens.create", "tokens.revoke", "users.disable", "users.passwd",
                       "users.enable"]
    audit = _ok(cli, "audit", "show", "--action", "share.")
    assert audit.count("share.") == 4 and "4 line(s)" in audit


def test_errors_name_what_is_wrong(cli: CliRunner) -> None:
    assert "no organisation 'ghost'" in _fails(cli, "share", "list", "ghost")
    assert "no user 'ghost'" in _fails(cli, "users", "disable", "ghost")
    assert "no token 'syn_ghost'" in _fails(cli, "tokens", "revoke", "syn_ghost")
    assert "invalid username" in _fails(cli, "users", "add", "Not Valid", "--role", "viewer")


def test_the_audit_log_is_append_only(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        db.record_audit(conn, db.AuditEntry("someone", "users.add", "x"))
    for statement in ("UPDATE access_audit SET actor = 'nobody'", "DELETE FROM access_audit",
                      "TRUNCATE access_audit"):
        with psycopg.connect(pg_dsn) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(statement)


def _settings(dsn: str, bootstrap: str | None = None) -> Settings:
    access = {} if bootstrap is None else {"bootstrap_admin_password": bootstrap}
    return Settings(db={"dsn": dsn}, access=access)


def test_the_first_administrator_is_created_once(pg_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    pool = open_pool(pg_dsn, min_size=1, max_size=2)
    try:
        ensure_bootstrap_admin(pool, _settings(pg_dsn))  # external database, nothing configured: only a warning
        with pool.connection() as conn:
            assert db.get_user(conn, BOOTSTRAP_ADMIN) is None
        ensure_bootstrap_admin(pool, _settings(pg_dsn, "bootstrap password 1"))
        ensure_bootstrap_admin(pool, _settings(pg_dsn, "another password 2"))
        with pool.connection() as conn:
            admin = db.get_user(conn, BOOTSTRAP_ADMIN)
        assert admin is not None and admin.role == "administrator"
        assert verify_password(admin.password_hash, "bootstrap password 1")  # the second start changed nothing
        assert "bootstrap password" not in capsys.readouterr().err  # a configured password is never printed
    finally:
        pool.close()


def test_the_embedded_runtime_prints_a_generated_password_once(
    pg_dsn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = open_pool(pg_dsn, min_size=1, max_size=2)
    try:
        monkeypatch.setattr(Settings, "uses_embedded_database", property(lambda self: True))
        ensure_bootstrap_admin(pool, Settings())
        printed = capsys.readouterr().err
        password = printed.split("password '", 1)[1].split("'", 1)[0]
        ensure_bootstrap_admin(pool, Settings())
        assert "password" not in capsys.readouterr().err  # once
        with pool.connection() as conn:
            admin = db.get_user(conn, BOOTSTRAP_ADMIN)
        assert admin is not None and verify_password(admin.password_hash, password)
    finally:
        pool.close()
