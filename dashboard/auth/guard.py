"""The request guard: every request to the dashboard's Flask server is authenticated and CSRF-checked here.

Installed on the Flask server under Dash (``before_request``), so that it covers Dash's own endpoints
(``/_dash-layout``, ``/_dash-update-component``...), the JSON API and the pages alike:

- public: the login page, the health check, the static ``/assets/`` (a stylesheet: no data);
- ``/api/``: an ``Authorization: Bearer`` token, or a session cookie;
- everything else: a session cookie; a browser without one is sent to the login page, a script gets 401;
- every state-changing request (any method but GET/HEAD/OPTIONS) with a session must carry the session's
  CSRF token: Dash's renderer sends it as the ``X-CSRF-Token`` header, read from the (non-HttpOnly) CSRF
  cookie (Dash's documented ``csrf_token_name``/``csrf_header_name`` options); HTML forms send it as a field.
  A page of another site can neither read the cookie nor compute the token (an HMAC of the session id).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, g, has_request_context, jsonify, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from dashboard.auth.credentials import bearer_token, csrf_token, login_form_token, new_secret_value, same
from dashboard.auth.service import AccessService, SessionPrincipal
from dashboard.pages.login import CSRF_FIELD, LOGIN_PATH, LOGOUT_PATH, login_page, safe_next
from dashboard.text import t
from synopse.config import AccessSettings
from synopse.domain.access import Principal
from synopse.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Browsers ask for /favicon.ico on every page, the login page included: answering it with a login form
# would replace the pending login cookie and expire the form the user is filling in.
PUBLIC_PATHS = frozenset({LOGIN_PATH, "/health", "/_favicon.ico", "/favicon.ico"})
PUBLIC_PREFIXES = ("/assets/",)
# Dash endpoints and the API answer scripts: 401 there, never a redirect to an HTML page.
MACHINE_PREFIXES = ("/_dash-", "/_reload-hash", "/api/")
# A login form is valid for an hour: long enough to type, short enough that a stale tab asks again.
LOGIN_FORM_MAX_AGE_S = 3600

_PRINCIPAL = "synopse_principal"
_SESSION = "synopse_session"


@dataclass(frozen=True)
class CookieNames:
    """Cookie names; over HTTPS the ``__Host-`` prefix pins them to this host, path / and Secure."""

    session: str
    csrf: str
    login: str

    @classmethod
    def for_settings(cls, settings: AccessSettings) -> CookieNames:
        prefix = "__Host-" if settings.secure_cookies else ""
        return cls(f"{prefix}synopse-session", f"{prefix}synopse-csrf", f"{prefix}synopse-login")


def current_principal() -> Principal | None:
    """The principal of the request being served (None outside a request, or before the guard ran)."""
    if not has_request_context():
        return None
    principal: Principal | None = g.get(_PRINCIPAL)
    return principal


def current_session() -> SessionPrincipal | None:
    """The session of the request being served, when it came with a session cookie."""
    if not has_request_context():
        return None
    session: SessionPrincipal | None = g.get(_SESSION)
    return session


def client_ip() -> str:
    """The client's address (after the trusted proxies, see SYNOPSE_ACCESS__PROXY_HOPS)."""
    return request.remote_addr or ""


def _json_error(status: int, message: str, **headers: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    response.headers.update(headers)
    return response


class AccessGuard:
    """Authenticates requests, checks CSRF tokens, serves the login and logout endpoints."""

    def __init__(self, service: AccessService, settings: AccessSettings, secret: Callable[[], bytes]) -> None:
        """Guard with ``service``; ``secret`` gives the HMAC key (read at the first request, not at import)."""
        self.service = service
        self.settings = settings
        self.cookies = CookieNames.for_settings(settings)
        self._secret_source = secret
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = self._secret_source()
        return self._secret

    def csrf_for(self, session: SessionPrincipal) -> str:
        return csrf_token(self.secret, session.session_id)

    def install(self, server: Flask) -> None:
        server.before_request(self._before)
        server.after_request(self._after)
        server.add_url_rule(LOGIN_PATH, "synopse_login", self._login_view, methods=["GET", "POST"])
        server.add_url_rule(LOGOUT_PATH, "synopse_logout", self._logout_view, methods=["POST"])

    # --- authentication ----------------------------------------------------------------------------------

    def _session(self) -> SessionPrincipal | None:
        value = request.cookies.get(self.cookies.session)
        if not value or len(value) > 200:
            return None
        return self.service.session(value)

    def _before(self) -> BaseResponse | None:
        path = request.path
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        try:
            if path.startswith("/api/") and "Authorization" in request.headers:
                return self._authenticate_token()
            session = self._session()
        except ServiceUnavailableError as exc:
            log.warning("access check failed: %s", exc)
            return _json_error(503, "service unavailable", **{"Retry-After": "15"})
        if path == LOGOUT_PATH:
            g.setdefault(_SESSION, session)
            return None
        if session is None:
            if request.method == "GET" and not path.startswith(MACHINE_PREFIXES):
                target = request.full_path if request.query_string else path
                return redirect(f"{LOGIN_PATH}?next={quote(target, safe='/')}", code=302)
            return _json_error(401, "authentication required", **{"WWW-Authenticate": 'Bearer realm="synopse"'})
        g.setdefault(_PRINCIPAL, session.principal)
        g.setdefault(_SESSION, session)
        if request.method not in SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
            if not same(given, self.csrf_for(session)):
                log.warning("CSRF token refused", extra={"path": path, "user": session.principal.name})
                return _json_error(403, "missing or invalid CSRF token")
        return None

    def _authenticate_token(self) -> Response | None:
        token = bearer_token(request.headers.get("Authorization"))
        principal = self.service.token(token, ip=client_ip()) if token else None
        if principal is None:
            return _json_error(401, "invalid or revoked token", **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
        g.setdefault(_PRINCIPAL, principal)
        return None

    def _after(self, response: BaseResponse) -> BaseResponse:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")  # no framing: the logout button cannot be clickjacked
        headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith(("/assets/", "/_dash-component-suites/")):
            headers["Cache-Control"] = "no-store"  # personal data: never in a shared or browser cache
        session = current_session()
        if session is not None and request.method == "GET" and request.path == "/":
            self._set_csrf_cookie(response, session.session_id)  # heals a CSRF cookie the browser dropped
        return response

    # --- cookies -----------------------------------------------------------------------------------------

    def _cookie(self, response: BaseResponse, name: str, value: str, *, http_only: bool, **extra: Any) -> None:
        response.set_cookie(
            name, value, path="/", secure=self.settings.secure_cookies, httponly=http_only,
            samesite=self.settings.cookie_samesite, **extra,
        )

    def _set_csrf_cookie(self, response: BaseResponse, session_id: str) -> None:
        # Readable by the page's JavaScript on purpose: Dash's renderer copies it into the X-CSRF-Token header.
        self._cookie(response, self.cookies.csrf, csrf_token(self.secret, session_id), http_only=False)

    def _clear_session_cookies(self, response: BaseResponse) -> None:
        for name in (self.cookies.session, self.cookies.csrf):
            response.delete_cookie(name, path="/", secure=self.settings.secure_cookies,
                                   samesite=self.settings.cookie_samesite)

    # --- login and logout --------------------------------------------------------------------------------

    def _login_form(
        self, *, status: int = 200, message: str | None = None, info: bool = False, username: str = ""
    ) -> Response:
        nonce = new_secret_value()
        next_path = safe_next(request.values.get("next"))
        page = login_page(csrf_token=login_form_token(self.secret, nonce), next_path=next_path, username=username,
                          message=message, info=info)
        response = Response(page, status=status, mimetype="text/html")
        response.set_cookie(
            self.cookies.login, nonce, path="/", max_age=LOGIN_FORM_MAX_AGE_S, secure=self.settings.secure_cookies,
            httponly=True, samesite="Strict",
        )
        return response

    def _login_view(self) -> BaseResponse:
        if request.method == "GET":
            try:
                session = self._session()
            except ServiceUnavailableError:
                return self._login_form(status=503, message=t("login_unavailable"))
            if session is not None:
                return redirect(safe_next(request.args.get("next")), code=302)
            logged_out = request.args.get("logged_out") is not None
            return self._login_form(message=t("login_logged_out") if logged_out else None, info=logged_out)
        nonce = request.cookies.get(self.cookies.login)
        username = request.form.get("username", "")
        if not nonce or not same(request.form.get(CSRF_FIELD), login_form_token(self.secret, nonce)):
            return self._login_form(status=400, message=t("login_expired"), username=username)
        try:
            result = self.service.login(
                username, request.form.get("password", ""), ip=client_ip(),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except ServiceUnavailableError as exc:
            log.warning("login failed: %s", exc)
            return self._login_form(status=503, message=t("login_unavailable"), username=username)
        if result.retry_after is not None:
            seconds = math.ceil(result.retry_after.total_seconds())
            locked = self._login_form(status=429, message=t("login_locked", minutes=math.ceil(seconds / 60)),
                                      username=username)
            locked.headers["Retry-After"] = str(seconds)
            return locked
        if result.session_id is None:
            return self._login_form(status=401, message=t("login_failed"), username=username)
        response = redirect(safe_next(request.form.get("next")), code=303)
        self._cookie(response, self.cookies.session, result.session_id, http_only=True)
        self._set_csrf_cookie(response, result.session_id)
        response.delete_cookie(self.cookies.login, path="/")
        return response

    def _logout_view(self) -> BaseResponse:
        session = current_session()
        if session is not None:
            if not same(request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER), self.csrf_for(session)):
                return _json_error(403, "missing or invalid CSRF token")
            try:
                self.service.logout(session, ip=client_ip())
            except ServiceUnavailableError:
                return _json_error(503, "service unavailable", **{"Retry-After": "15"})
        response = redirect(f"{LOGIN_PATH}?logged_out=1", code=303)
        self._clear_session_cookies(response)
        return response
