"""Builds the Dash application: layout, assets and callbacks, over a connection pool its caller opened.

No I/O happens here besides what callbacks do per request: the pool is opened (and closed) by the entry
point (:mod:`dashboard.server`, or ``synopse dashboard``). Everything is served from this process: Dash's
own JavaScript and the CSS in ``assets/``; no CDN, web font or map tile, so the page works offline.
Access: the request guard (:mod:`dashboard.auth.guard`) sits in front of every route, Dash's included; the
callbacks read with the scope of the request's principal; the JSON API and downloads are :mod:`dashboard.api`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import dash
from dash import html
from dash.exceptions import PreventUpdate
from psycopg_pool import ConnectionPool
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard.api import IndicatorApi
from dashboard.auth.guard import CSRF_HEADER, AccessGuard, client_ip, current_principal, current_session
from dashboard.auth.secret import access_secret
from dashboard.auth.service import AccessService
from dashboard.callbacks import Clock, IndicatorSource, PoolSource, register_callbacks, wall_clock
from dashboard.callbacks_pages import PoolPageSource, register_page_callbacks, validation_layout
from dashboard.i18n import LanguageSelector
from dashboard.pages import overview, router
from dashboard.pages.login import account_bar
from dashboard.shared_data import PoolSharedSource, SharedSource
from dashboard.text import current_language, t
from synopse.config import Settings
from synopse.domain.disclosure import DisclosurePolicy

ASSETS = Path(__file__).resolve().parent / "assets"

# Dash's default index page, with the request's language (lang="fr" or "en" lets screen readers pronounce the
# page correctly).
LANG_MARK = "{%lang%}"
INDEX_STRING = """<!DOCTYPE html>
<html lang="{%lang%}">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


class SynopseDash(dash.Dash):
    """Dash whose index page declares the language of the request it answers."""

    def interpolate_index(self, metas: Any = "", title: Any = "", css: Any = "", config: Any = "", scripts: Any = "",
                          app_entry: Any = "", favicon: Any = "", renderer: Any = "") -> Any:
        page: str = super().interpolate_index(  # type: ignore[no-untyped-call]  # Dash's method is untyped
            metas=metas, title=title, css=css, config=config, scripts=scripts, app_entry=app_entry, favicon=favicon,
            renderer=renderer)
        return page.replace(LANG_MARK, current_language())


def disclosure_policy(settings: Settings) -> DisclosurePolicy:
    """The protected views' rule, from ``SYNOPSE_ACCESS__SMALL_COUNT_THRESHOLD`` and ``__ROUNDING_BASE``."""
    return DisclosurePolicy(settings.privacy.small_count_threshold, settings.privacy.rounding_base)


def create_app(
    settings: Settings,
    pool: ConnectionPool[Any],
    *,
    clock: Clock = wall_clock,
    now: datetime | None = None,
    secret: bytes | None = None,
) -> dash.Dash:
    """The dashboard application.

    Args:
        settings: The process settings (``settings.dashboard.refresh_s`` paces the auto-refresh).
        pool: An opened connection pool; the caller closes it.
        clock: The wall clock used for the late-feed badge (fixed in tests).
        now: A fixed reference instant for the windows; None follows the newest data.
        secret: The access secret (CSRF tokens); None reads it from the settings at the first request.
    """
    guard = AccessGuard(AccessService(pool, settings), settings.access,
                        (lambda: secret) if secret is not None else (lambda: access_secret(settings)))
    policy = disclosure_policy(settings)
    app = SynopseDash(
        __name__,
        title=t("page_title"),
        update_title="",  # empty: no "Updating..." flicker in the tab title at every refresh
        assets_folder=str(ASSETS),
        serve_locally=True,
        use_pages=False,
        index_string=INDEX_STRING,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        health_endpoint="health",
        # Dash's renderer sends this cookie's value in this header with every request it makes (callbacks).
        csrf_token_name=guard.cookies.csrf,
        csrf_header_name=CSRF_HEADER,
    )

    def page() -> html.Div:
        # Called per page load (inside the request, after the guard), and once by Dash at start-up to check ids.
        session = current_session()
        csrf = guard.csrf_for(session) if session is not None else None
        return html.Div([account_bar(current_principal(), csrf),
                         *router.frame(overview.layout(settings.dashboard.refresh_s))])

    def source_for_request() -> IndicatorSource | SharedSource:
        principal = current_principal()
        if principal is None:  # the guard refuses such a request first; never read without a principal
            raise PreventUpdate
        if principal.scope.exact:
            return PoolSource(pool, now=now, scope=principal.scope)
        return PoolSharedSource(pool, principal, policy, now=now, ip=client_ip())

    app.layout = page
    # The other pages (detail, map, alerts, quality, health): exact scopes only, see dashboard.callbacks_pages.
    app.validation_layout = html.Div([page(), *validation_layout(settings.dashboard.refresh_s)])  # type: ignore[assignment]  # Dash types it None
    register_callbacks(app, source_for_request, clock)
    register_page_callbacks(app, lambda: PoolPageSource(pool, now=now), current_principal,
                            settings.dashboard.refresh_s, lambda: overview.layout(settings.dashboard.refresh_s),
                            clock=clock)
    # The language first: the guard's login page and refusals speak the user's language.
    LanguageSelector(settings.dashboard.language, settings.access).install(app.server)
    guard.install(app.server)
    IndicatorApi(pool, policy, now=now).install(app.server)
    if settings.access.proxy_hops:
        hops = settings.access.proxy_hops
        app.server.wsgi_app = ProxyFix(app.server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app
