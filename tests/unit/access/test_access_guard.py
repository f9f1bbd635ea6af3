"""The request guard on a bare Flask app, with a fake access service: every branch without a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from flask import Flask

from dashboard.auth.credentials import csrf_token
from dashboard.auth.guard import AccessGuard, current_principal
from dashboard.auth.service import LoginResult, SessionPrincipal
from synopse.config import AccessSettings
from synopse.domain.access import Principal, Role
from synopse.errors import ServiceUnavailableError

KEY = b"k" * 32
CRISIS = Principal("crise", Role.CRISIS_CELL, user_id=1)
GOOD_TOKEN, RIGHT_PASSWORD = "syn_good", "right password"
MACHINE = Principal("token:syn_abc", Role.PARTNER, organisation_id=2, organisation="org", token_id=9)


@dataclass
class FakeService:
    sessions: dict[str, Principal] = field(default_factory=lambda: {"good-session": CRISIS})
    down: bool = False
    logins: list[str] = field(default_factory=list)
    logged_out: list[str] = field(default_factory=list)
    locked: bool = False

    def session(self, value: str) -> SessionPrincipal | None:
        if self.down:
            raise ServiceUnavailableError("down")
        principal = self.sessions.get(value)
        return None if principal is None else SessionPrincipal(principal, value)

    def token(self, token: str, *, ip: str) -> Principal | None:
        return MACHINE if token == GOOD_TOKEN else None

    def login(self, username: str, password: str, *, ip: str, user_agent: str) -> LoginResult:
        self.logins.append(username)
        if self.locked:
            return LoginResult(retry_after=timedelta(seconds=90))
        if password != RIGHT_PASSWORD:
            return LoginResult()
        return LoginResult(principal=CRISIS, session_id="new-session")

    def logout(self, session: SessionPrincipal, *, ip: str) -> None:
        self.logged_out.append(session.session_id)


def _app(service: FakeService, settings: AccessSettings | None = None) -> Flask:
    app = Flask(__name__)
    guard = AccessGuard(service, settings or AccessSettings(), lambda: KEY)  # type: ignore[arg-type]
    guard.install(app)

    @app.route("/", methods=["GET", "POST"])
    @app.route("/_dash-update-component", methods=["POST"])
    @app.route("/api/v1/me.json")
    def _who() -> str:
        principal = current_principal()
        return principal.name if principal else "nobody"

    return app


def test_anonymous_requests() -> None:
    client = _app(FakeService()).test_client()
    page = client.get("/?facility=x")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/%3Ffacility%3Dx"
    assert client.post("/_dash-update-component").status_code == 401
    api = client.get("/api/v1/me.json")
    assert api.status_code == 401 and api.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/login").status_code == 200


def test_a_session_needs_the_csrf_token_for_every_post() -> None:
    client = _app(FakeService()).test_client()
    client.set_cookie("synopse-session", "good-session")
    assert client.get("/").data == b"crise"
    assert client.post("/_dash-update-component").status_code == 403
    good = csrf_token(KEY, "good-session")
    assert client.post("/_dash-update-component", headers={"X-CSRF-Token": good}).data == b"crise"
    assert client.post("/", data={"csrf_token": good}).data == b"crise"  # an HTML form sends it as a field
    other = csrf_token(KEY, "another-session")
    assert client.post("/_dash-update-component", headers={"X-CSRF-Token": other}).status_code == 403
    client.set_cookie("synopse-session", "x" * 500)  # absurd cookies are not even looked up
    assert client.get("/").status_code == 302


def test_tokens_open_the_api_only() -> None:
    client = _app(FakeService()).test_client()
    assert client.get("/api/v1/me.json", headers={"Authorization": "Bearer syn_good"}).data == b"token:syn_abc"
    assert client.get("/api/v1/me.json", headers={"Authorization": "Bearer syn_bad"}).status_code == 401
    assert client.get("/api/v1/me.json", headers={"Authorization": "Basic eDp5"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer syn_good"}).status_code == 302


def test_an_unreachable_database_refuses_with_503() -> None:
    client = _app(FakeService(down=True)).test_client()
    client.set_cookie("synopse-session", "good-session")
    answer = client.get("/")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "15"
    assert client.get("/login").status_code == 503  # the form says the service is away


def test_login_sets_cookies_and_locks_say_when_to_retry() -> None:
    service = FakeService()
    client = _app(service).test_client()
    form = client.get("/login?next=/somewhere").data.decode()
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert 'name="next" value="/somewhere"' in form
    wrong = client.post("/login", data={"username": "crise", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    stale = client.post("/login", data={"username": "crise", "password": RIGHT_PASSWORD, "csrf_token": token})
    assert stale.status_code == 400  # each form has its own nonce: the one answered before is spent
    token = stale.data.decode().split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    right = client.post("/login", data={"username": "crise", "password": "right password", "csrf_token": token,
                                        "next": "//evil.example"})
    assert right.status_code == 303 and right.headers["Location"] == "/"
    cookies = right.headers.getlist("Set-Cookie")
    assert any(c.startswith("synopse-session=new-session;") and "HttpOnly" in c for c in cookies)
    assert any(c.startswith(f"synopse-csrf={csrf_token(KEY, 'new-session')};") for c in cookies)
    service.locked = True
    client.delete_cookie("synopse-session")
    token = client.get("/login").data.decode().split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    locked = client.post("/login", data={"username": "crise", "password": RIGHT_PASSWORD, "csrf_token": token})
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "90" and "2 min" in locked.data.decode()


def test_logout_and_headers() -> None:
    service = FakeService()
    client = _app(service).test_client()
    client.set_cookie("synopse-session", "good-session")
    assert client.post("/logout").status_code == 403 and service.logged_out == []
    out = client.post("/logout", data={"csrf_token": csrf_token(KEY, "good-session")})
    assert out.status_code == 303 and service.logged_out == ["good-session"]
    assert any(c.startswith("synopse-session=;") for c in out.headers.getlist("Set-Cookie"))
    page = client.get("/login")
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("samesite", ["Lax", "Strict"])
def test_https_cookies_are_secure_and_host_only(samesite: str) -> None:
    settings = AccessSettings(secure_cookies=True, cookie_samesite=samesite)  # type: ignore[arg-type]
    client = _app(FakeService(), settings).test_client()
    form = client.get("/login", base_url="https://dashboard.example").data.decode()
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    right = client.post("/login", base_url="https://dashboard.example",
                        data={"username": "crise", "password": "right password", "csrf_token": token})
    cookies = right.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("__Host-synopse-session="))
    assert "Secure" in session and f"SameSite={samesite}" in session and "Path=/" in session
