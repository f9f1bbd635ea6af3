"""Access over HTTP against the real Flask server: login, cookies, CSRF, logout, rate limits, roles.

Each test talks to the dashboard served in a thread (see conftest) with ``requests``, as a browser or a
script would: nothing is called behind the server's back.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import requests

from synopse.config import AccessSettings, Settings
from tests.integration.access.access_data import PASSWORD
from tests.integration.access.conftest import Served, login
from tests.integration.access.dash_http import answer_text, post_callback, refresh_payload

pytestmark = pytest.mark.integration


def _audit(dsn: str, action: str) -> list[tuple[str, str, str, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT actor, action, target, outcome FROM access_audit WHERE action LIKE %s ORDER BY audit_id",
            (action + "%",),
        ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_nothing_but_the_login_page_without_a_session(served: Served) -> None:
    anonymous = requests.Session()
    page = anonymous.get(served.base + "/")
    assert page.status_code == 200 and page.url.startswith(served.base + "/login")  # redirected, then 200
    assert '<html lang="fr">' in page.text and 'name="password"' in page.text
    assert anonymous.get(served.base + "/health").status_code == 200
    assert anonymous.get(served.base + "/assets/synopse.css").status_code == 200
    for path in ("/_dash-layout", "/_dash-dependencies", "/api/v1/indicators/facilities/latest.json"):
        answer = anonymous.get(served.base + path, allow_redirects=False)
        assert answer.status_code == 401, path
    assert post_callback(anonymous, served.base, refresh_payload()).status_code == 401


def test_login_sets_secure_cookies_and_opens_the_page(served: Served) -> None:
    client = requests.Session()
    answer = login(served, client, "crise")
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    cookies = answer.headers["Set-Cookie"]
    session_cookie = next(part for part in answer.raw.headers.getlist("Set-Cookie") if "synopse-session=" in part)
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Path=/" in session_cookie
    csrf_cookie = next(part for part in answer.raw.headers.getlist("Set-Cookie") if "synopse-csrf=" in part)
    assert "HttpOnly" not in csrf_cookie  # Dash's renderer reads it to send the header
    assert "Secure" not in cookies  # plain http on the embedded runtime (SYNOPSE_ACCESS__SECURE_COOKIES=false)
    page = client.get(served.base + "/")
    assert page.status_code == 200 and "_dash-renderer" in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    layout = client.get(served.base + "/_dash-layout")
    assert layout.status_code == 200 and "facility-tiles" in layout.text
    assert "Connecté : crise" in answer_text(layout) and form_csrf(layout.json())  # the account bar, its logout


def test_a_wrong_password_or_unknown_user_gets_the_same_refusal(served: Served) -> None:
    client = requests.Session()
    wrong = login(served, client, "crise", "not the password")
    unknown = login(served, client, "nobody-here", "not the password")
    for answer in (wrong, unknown):
        assert answer.status_code == 401 and "Identifiant ou mot de passe incorrect." in answer.text
    assert "synopse-session" not in client.cookies
    assert [row[3] for row in _audit(_dsn(served), "auth.login")] == ["failed", "failed"]


def _dsn(served: Served) -> str:
    return served.pool.conninfo


def form_csrf(layout: Any) -> str:
    """The CSRF token of the account bar's logout form, found in the layout's JSON."""
    if isinstance(layout, dict):
        props = layout.get("props", {})
        if isinstance(props, dict) and props.get("name") == "csrf_token":
            return str(props["value"])
        return next((found for value in layout.values() if (found := form_csrf(value))), "")
    if isinstance(layout, list):
        return next((found for value in layout if (found := form_csrf(value))), "")
    return ""


def test_the_login_form_needs_its_csrf_token(served: Served) -> None:
    client = requests.Session()
    client.get(served.base + "/login")
    forged = client.post(served.base + "/login", data={"username": "crise", "password": PASSWORD,
                                                       "csrf_token": "0" * 64}, allow_redirects=False)
    assert forged.status_code == 400 and "expiré" in forged.text
    cross_site = requests.post(timeout=10, url=served.base + "/login", data={"username": "crise", "password": PASSWORD},
                               allow_redirects=False)  # no nonce cookie at all: another site's form
    assert cross_site.status_code == 400


def test_callbacks_need_the_csrf_header(served: Served) -> None:
    client = served.session("crise")
    refused = post_callback(client, served.base, refresh_payload(), csrf=False)
    assert refused.status_code == 403
    wrong = client.post(served.base + "/_dash-update-component", json=refresh_payload(),
                        headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    accepted = post_callback(client, served.base, refresh_payload())
    assert accepted.status_code == 200 and "CHU de Nantes — Hôtel-Dieu" in answer_text(accepted)


def test_logout_ends_the_session_everywhere(served: Served) -> None:
    client = served.session("crise")
    stolen = dict(client.cookies)  # a copy of the cookies, as if taken from the browser
    csrf = form_csrf(client.get(served.base + "/_dash-layout").json())
    no_token = client.post(served.base + "/logout", allow_redirects=False)
    assert no_token.status_code == 403  # a cross-site form cannot log the user out
    out = client.post(served.base + "/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status_code == 303 and out.headers["Location"] == "/login?logged_out=1"
    assert client.get(served.base + "/_dash-layout").status_code == 401
    replay = requests.get(timeout=10, url=served.base + "/_dash-layout", cookies=stolen)
    assert replay.status_code == 401  # the session is gone from the database, not just from the browser
    assert "déconnecté" in client.get(served.base + "/login?logged_out=1").text


@pytest.fixture
def access_settings() -> Settings:
    # Low limits keep the test short: 3 failures lock an account, 6 lock an address.
    return Settings(access=AccessSettings(login_max_failures=3, login_max_failures_per_ip=6))


def test_login_is_rate_limited_per_account_then_per_address(served: Served) -> None:
    client = requests.Session()
    for _ in range(3):
        assert login(served, client, "reze", "wrong password!").status_code == 401
    locked = login(served, client, "reze", PASSWORD)  # even the right password is refused now
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 800
    assert "Trop de tentatives" in locked.text
    assert login(served, requests.Session(), "crise").status_code == 303  # another account, same address: fine
    for _ in range(3):
        assert login(served, client, "lecteur", "wrong password!").status_code == 401
    assert login(served, client, "ars").status_code == 429  # 6 failures from this address: locked for all
    with psycopg.connect(_dsn(served)) as conn:
        outcomes = conn.execute(
            "SELECT outcome, count(*) FROM access_login_attempts GROUP BY outcome ORDER BY outcome"
        ).fetchall()
    assert dict(outcomes) == {"blocked": 2, "failure": 6, "success": 1}


def test_a_disabled_user_is_logged_out_at_once(served: Served) -> None:
    client = served.session("lecteur")
    assert client.get(served.base + "/_dash-layout").status_code == 200
    with psycopg.connect(_dsn(served)) as conn:
        from synopse.db.access import set_user_active

        set_user_active(conn, "lecteur", False)
    assert client.get(served.base + "/_dash-layout").status_code == 401
    assert login(served, requests.Session(), "lecteur").status_code == 401
