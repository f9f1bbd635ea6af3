"""The language of each request, and the switch that lets a user pick it.

The language of a request is, in order: the ``?lang=fr|en`` parameter of the address (a link can open a page
in a given language), the language cookie (the user's last choice), then ``SYNOPSE_DASHBOARD__LANGUAGE``. A
``?lang=`` different from the cookie sets the cookie in the answer, so that the choice is remembered for the
next requests (Dash's own, the downloads, the login page) and the next visits. The hook runs before the access
guard, so that the login page and the guard's messages are in the user's language too.

The switch is a pair of plain links (keyboard and screen-reader friendly, no JavaScript needed) in the header,
each in its own language (``lang``/``hreflang``), the current one marked ``aria-current``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from dash import html
from flask import Flask, request
from werkzeug.wrappers import Response as BaseResponse

from dashboard.components import aria
from dashboard.text import LANGUAGE_NAMES, LANGUAGES, Language, current_language, is_language, set_language, t
from synopse.config import AccessSettings

LANG_PARAM: Final = "lang"
SWITCH: Final = "language-switch"  # the switch's id: the router rewrites its links for the page shown
COOKIE_NAME: Final = "synopse-lang"
# A choice of language is kept a year: it is a preference, not a secret (no personal data in it).
COOKIE_MAX_AGE: Final = timedelta(days=365)

# Inline, like the account bar around it: the current language bold and underlined (not colour alone).
LINK_STYLE: Final = {"color": "#1f2a3a", "padding": ".1rem .25rem"}
CURRENT_STYLE: Final = {**LINK_STYLE, "fontWeight": "bold", "textDecoration": "underline",
                        "textUnderlineOffset": "3px"}


def cookie_name(settings: AccessSettings) -> str:
    """Over HTTPS, the ``__Host-`` prefix pins the cookie to this host, path / and Secure (as the others)."""
    return ("__Host-" if settings.secure_cookies else "") + COOKIE_NAME


def choose(asked: str | None, remembered: str | None, default: Language) -> Language:
    """The address's ``lang`` when valid, else the cookie's when valid, else the default; nothing else counts."""
    if is_language(asked):
        return asked
    if is_language(remembered):
        return remembered
    return default


def switch_href(language: Language, path: str = "", query: str = "") -> str:
    """The address of ``path`` (empty: the current page) in ``language``, keeping its other parameters."""
    params = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=True) if k != LANG_PARAM]
    return f"{path}?{urlencode([*params, (LANG_PARAM, language)])}"


def without_language(address: str) -> str:
    """A local address without its ``lang`` parameter: '/detail?place=x&lang=en' -> '/detail?place=x'."""
    path, _, query = address.partition("?")
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != LANG_PARAM]
    return f"{path}?{urlencode(params)}" if params else path


def switch_links(path: str = "", query: str = "") -> list[Any]:
    """The links of the switch: one per language, named in that language, the current one marked."""
    current = current_language()
    links: list[Any] = []
    for language in LANGUAGES:
        if links:
            links.append(html.Span(" | ", **aria(hidden="true")))
        links.append(html.A(
            LANGUAGE_NAMES[language], href=switch_href(language, path, query), lang=language, hrefLang=language,
            className="language-link" + (" language-current" if language == current else ""),
            style=CURRENT_STYLE if language == current else LINK_STYLE,
            **(aria(current="true") if language == current else {}),
        ))
    return links


def language_switch() -> html.Nav:
    """The switch of the page header (its links point at the current page until the router knows its address)."""
    return html.Nav(switch_links(), id=SWITCH, className="language-switch", **aria(label=t("language_switch")))


class LanguageSelector:
    """Sets the language of every request and remembers a choice made with ``?lang=`` in a cookie."""

    def __init__(self, default: Language, settings: AccessSettings) -> None:
        self.default = default
        self.cookie = cookie_name(settings)
        self.settings = settings

    def install(self, server: Flask) -> None:
        """Install on ``server`` before the access guard (Flask runs ``before_request`` hooks in order)."""
        server.before_request(self._before)
        server.after_request(self._after)
        server.teardown_request(self._teardown)

    def _before(self) -> None:
        set_language(choose(request.args.get(LANG_PARAM), request.cookies.get(self.cookie), self.default))

    def _after(self, response: BaseResponse) -> BaseResponse:
        asked = request.args.get(LANG_PARAM)
        if is_language(asked) and asked != request.cookies.get(self.cookie):
            response.set_cookie(self.cookie, asked, max_age=int(COOKIE_MAX_AGE.total_seconds()), path="/",
                                secure=self.settings.secure_cookies, httponly=True,
                                samesite=self.settings.cookie_samesite)
        return response

    def _teardown(self, _error: BaseException | None) -> None:
        set_language(None)
