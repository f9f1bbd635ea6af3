"""Passwords, random credentials, CSRF tokens, the signing key, login limits and the login page."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.auth.credentials import (
    bearer_token,
    csrf_token,
    digest,
    login_form_token,
    new_api_token,
    new_secret_value,
    same,
)
from dashboard.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    check_password_policy,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from dashboard.auth.ratelimit import LoginLimits
from dashboard.auth.secret import SECRET_FILE, access_secret, uses_embedded_runtime
from dashboard.pages.login import login_page, safe_next
from synopse.config import AccessSettings, RuntimeSettings, Settings
from synopse.db.access import LoginFailures
from synopse.errors import ConfigurationError

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def test_passwords_are_hashed_with_argon2id_and_verified() -> None:
    password = "a long enough password"  # noqa: S105 - a test password
    hashed = hash_password(password)
    assert hashed.startswith("$argon2id$") and password not in hashed
    assert verify_password(hashed, password) and not verify_password(hashed, password + "!")
    assert not verify_password(None, password)  # unknown user: a dummy hash is checked, and it fails
    assert not verify_password("not a hash", password) and not verify_password(hashed, "x" * 5000)
    assert not needs_rehash(hashed)
    with pytest.raises(ValueError, match=f"at least {MIN_PASSWORD_LENGTH}"):
        check_password_policy("short")
    with pytest.raises(ValueError, match="at most"):
        hash_password("x" * 2000)
    generated = generate_password()
    assert len(generated) >= 24 and generated != generate_password()


def test_random_values_tokens_and_digests() -> None:
    assert len(new_secret_value()) >= 43 and new_secret_value() != new_secret_value()
    token, prefix = new_api_token()
    assert token.startswith("syn_") and len(token) == 47 and prefix == token[:12]
    assert digest(token) == digest(token) and len(digest(token)) == 32 and digest(token) != digest(prefix)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer syn_abc", "syn_abc"),
        ("bearer   syn_abc  ", "syn_abc"),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_header(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected


def test_csrf_tokens_are_bound_to_the_session_the_key_and_the_purpose() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    token = csrf_token(key, "session-1")
    assert token == csrf_token(key, "session-1") and len(token) == 64
    assert token != csrf_token(key, "session-2") and token != csrf_token(other_key, "session-1")
    assert token != login_form_token(key, "session-1")  # a login form token is no session token
    assert same(token, csrf_token(key, "session-1")) and not same(None, token) and not same("", token)


def test_the_signing_key_is_configured_or_kept_under_the_runtime_home(tmp_path: Path) -> None:
    configured = Settings(access=AccessSettings(signing_key="c" * 32))
    assert access_secret(configured) == b"c" * 32
    with pytest.raises(ConfigurationError, match="at least 32"):
        access_secret(Settings(access=AccessSettings(signing_key="short")))
    with pytest.raises(ConfigurationError, match="SYNOPSE_ACCESS__SIGNING_KEY must be set"):
        access_secret(Settings(db={"dsn": "postgresql://db/x"}))  # type: ignore[arg-type]
    embedded = Settings(runtime=RuntimeSettings(home=tmp_path / "home"))
    first = access_secret(embedded)
    assert len(first) == 64 and access_secret(embedded) == first  # generated once, then reused
    path = tmp_path / "home" / SECRET_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    # The children of `synopse up` get the embedded database's DSN: still the embedded runtime, same key.
    child = Settings(runtime=RuntimeSettings(home=tmp_path / "home", postgres_port=5433),
                     db={"dsn": "postgresql://postgres@127.0.0.1:5433/synopse"})  # type: ignore[arg-type]
    assert uses_embedded_runtime(child) and access_secret(child) == first
    assert not uses_embedded_runtime(Settings(db={"dsn": "postgresql://postgres@10.0.0.5:5433/synopse"}))  # type: ignore[arg-type]
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="readable by other users"):
        access_secret(embedded)


def test_login_limits_slide_with_the_oldest_failure() -> None:
    limits = LoginLimits(per_account=5, per_address=20, window=timedelta(minutes=15))
    assert limits.retry_after(LoginFailures(4, 4, NOW, NOW), NOW) is None
    five = LoginFailures(5, 5, NOW - timedelta(minutes=10), NOW - timedelta(minutes=10))
    assert limits.retry_after(five, NOW) == timedelta(minutes=5)
    address = LoginFailures(0, 20, None, NOW - timedelta(minutes=14, seconds=59.5))
    assert limits.retry_after(address, NOW) == timedelta(seconds=1)  # at least a second
    both = LoginFailures(5, 25, NOW - timedelta(minutes=1), NOW - timedelta(minutes=3))
    assert limits.retry_after(both, NOW) == timedelta(minutes=14)  # the longer wait wins
    from_settings = LoginLimits.from_settings(AccessSettings())
    assert (from_settings.per_account, from_settings.per_address, from_settings.window) == (5, 20,
                                                                                            timedelta(minutes=15))


def test_the_login_page_escapes_what_it_writes() -> None:
    hostile = '"><script>'
    page = login_page(csrf_token=hostile, next_path="/?a=<b>", username="<img src=x>", message="<b>no</b>")
    assert "<script>" not in page and "<img" not in page and "<b>no</b>" not in page
    assert "&lt;img src=x&gt;" in page and 'role="alert"' in page and '<html lang="fr">' in page
    assert 'src="' not in page.replace('href="/assets/synopse.css"', "")  # no script, nothing from elsewhere


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/", "/"),
        ("/?facility=x", "/?facility=x"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
        ("/x\nSet-Cookie: a=b", "/"),
    ],
)
def test_after_login_only_local_paths(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected
