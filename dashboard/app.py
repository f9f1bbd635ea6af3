"""Builds the Dash application: layout, assets and callbacks, over a connection pool its caller opened.

No I/O happens here besides what callbacks do per request: the pool is opened (and closed) by the entry
point (:mod:`dashboard.server`, or ``synopse dashboard``). Everything is served from this process: Dash's
own JavaScript and the CSS in ``assets/``; no CDN, web font or map tile, so the page works offline.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import dash
from psycopg_pool import ConnectionPool

from dashboard.callbacks import Clock, PoolSource, register_callbacks, wall_clock
from dashboard.pages import overview
from dashboard.text import t
from synopse.config import Settings

ASSETS = Path(__file__).resolve().parent / "assets"

# Dash's default index page, in French (lang="fr" lets screen readers pronounce the page correctly).
INDEX_STRING = """<!DOCTYPE html>
<html lang="fr">
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


def create_app(
    settings: Settings, pool: ConnectionPool[Any], *, clock: Clock = wall_clock, now: datetime | None = None
) -> dash.Dash:
    """The dashboard application.

    Args:
        settings: The process settings (``settings.dashboard.refresh_s`` paces the auto-refresh).
        pool: An opened connection pool; the caller closes it.
        clock: The wall clock used for the late-feed badge (fixed in tests).
        now: A fixed reference instant for the windows; None follows the newest data.
    """
    app = dash.Dash(
        __name__,
        title=t("page_title"),
        update_title="",  # empty: no "Updating..." flicker in the tab title at every refresh
        assets_folder=str(ASSETS),
        serve_locally=True,
        use_pages=False,
        index_string=INDEX_STRING,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        health_endpoint="health",
    )
    app.layout = overview.layout(settings.dashboard.refresh_s)
    register_callbacks(app, PoolSource(pool, now=now), clock)
    return app
