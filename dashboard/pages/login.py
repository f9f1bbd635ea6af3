"""The login page (plain HTML served by Flask, works without JavaScript) and the account bar of the Dash pages.

The login page is not a Dash page: it must be reachable before any session exists, post a classic form with
its CSRF token, and load nothing but the local stylesheet. Every value written into it is HTML-escaped.
The account bar says who is logged in, links to the downloads the user may make, and logs out (a POST form
carrying the session's CSRF token).
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from dash import dcc, html

from dashboard.i18n import language_switch, switch_href, without_language
from dashboard.text import LANGUAGE_NAMES, LANGUAGES, current_language, t
from synopse.domain.access import Principal

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
CSRF_FIELD = "csrf_token"

# The downloads linked from the account bar: (text key, dataset) of /api/v1/indicators/<dataset>/latest.<format>.
DOWNLOADS = (("download_facilities", "facilities"), ("download_communes", "communes"),
             ("download_environment", "environment"))

_FORM_STYLE = """
.login { max-width: 24rem; margin: 3rem auto; }
.login form { display: flex; flex-direction: column; gap: .8rem; }
.login input { font: inherit; padding: .5rem; border: 1px solid #767676; border-radius: 4px; }
.login button { font: inherit; font-weight: 650; padding: .55rem; border: 0; border-radius: 4px;
  background: #1f2d3d; color: #fff; cursor: pointer; }
.login .message { padding: .6rem .8rem; border-radius: 4px; background: #fde7da; color: #7a2e00; font-weight: 600; }
.login .message.info { background: #e3f1ec; color: #00523c; }
"""


def login_page(
    *, csrf_token: str, next_path: str = "/", username: str = "", message: str | None = None, info: bool = False
) -> str:
    """The login form as a whole HTML page in the request's language, with its CSRF token and where to go after."""
    current = current_language()
    # Where to go after login, without a ``lang`` of its own that would undo the choice made here.
    after = urlencode({"next": without_language(next_path)})
    switch = " | ".join(
        f'<a href="{escape(switch_href(lang, LOGIN_PATH, after))}" lang="{lang}" hreflang="{lang}"'
        + (' aria-current="true" style="font-weight:bold"' if lang == current else "")
        + f">{escape(LANGUAGE_NAMES[lang])}</a>"
        for lang in LANGUAGES
    )
    notice = (
        f'<p class="message{" info" if info else ""}" role="{"status" if info else "alert"}">{escape(message)}</p>'
        if message
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="{current}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t("login_title"))}</title>
<link rel="stylesheet" href="/assets/synopse.css">
<style>{_FORM_STYLE}</style>
</head>
<body>
<div class="page">
<header class="app-header"><div class="brand"><h1>{escape(t("app_title"))}</h1>
<p class="subtitle">{escape(t("app_subtitle"))}</p></div>
<nav class="language-switch" aria-label="{escape(t("language_switch"))}">{switch}</nav></header>
<main id="main">
<section class="panel login" aria-labelledby="login-title">
<h2 id="login-title">{escape(t("login_heading"))}</h2>
{notice}
<form method="post" action="{LOGIN_PATH}">
<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token)}">
<input type="hidden" name="next" value="{escape(next_path)}">
<label class="control-label" for="username">{escape(t("login_username"))}</label>
<input id="username" name="username" autocomplete="username" required autofocus value="{escape(username)}">
<label class="control-label" for="password">{escape(t("login_password"))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{escape(t("login_submit"))}</button>
</form>
</section>
</main>
</div>
</body>
</html>
"""


def safe_next(path: str | None) -> str:
    """Where to go after login: a local path only (never ``//host`` or a URL: no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or "\n" in path:
        return "/"
    return path


def account_bar(principal: Principal | None, csrf_token: str | None) -> html.Div:
    """Who is logged in, the downloads, the logout button and the language switch (the switch only, outside a
    logged-in request)."""
    if principal is None or csrf_token is None:
        return html.Div(language_switch(), className="account-bar")
    who = t("account_signed_in", name=principal.display_name or principal.name) + f" — {t('role_' + principal.role)}"
    if principal.organisation:
        who += " " + t("account_organisation", organisation=principal.organisation)
    links: list[html.A | str] = []
    for key, dataset in DOWNLOADS:
        links += [
            " ",
            html.A(f"{t(key)} (CSV)", href=f"/api/v1/indicators/{dataset}/latest.csv", download=""),
            " · ",
            html.A("JSON", href=f"/api/v1/indicators/{dataset}/latest.json"),
        ]
    return html.Div(
        [
            html.Span(who, className="account-who"),
            html.Span([t("account_downloads"), *links], className="account-downloads"),
            html.Form(
                [
                    dcc.Input(type="hidden", name=CSRF_FIELD, value=csrf_token),
                    html.Button(t("account_logout"), type="submit", className="account-logout"),
                ],
                action=LOGOUT_PATH,
                method="POST",
                style={"margin": 0},
            ),
            language_switch(),
        ],
        className="account-bar",
        style={
            "display": "flex", "flexWrap": "wrap", "gap": ".5rem 1.5rem", "alignItems": "center",
            "justifyContent": "flex-end", "padding": ".4rem 1.5rem", "fontSize": ".85rem",
            "background": "#e8ebf0", "borderBottom": "1px solid #d9dce1",
        },
    )
