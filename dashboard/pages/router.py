"""The dashboard's pages by address: the ``dcc.Location``, the navigation bar and the page container.

One Dash app, one layout: the container shows the page of the address (``dcc.Location``), so the overview and
its callbacks stay exactly as they were; the other pages are rendered by the router callback
(:func:`dashboard.callbacks_pages.render`). Links are real ``<a>`` elements: keyboard and screen-reader friendly.
"""

from __future__ import annotations

from typing import Any, Final

from dash import dcc, html

from dashboard.components import aria
from dashboard.text import t

URL: Final = "page-url"
NAV: Final = "page-nav"
CONTENT: Final = "page-content"

OVERVIEW_PATH: Final = "/"
DETAIL_PATH: Final = "/detail"
MAP_PATH: Final = "/carte"
ALERTS_PATH: Final = "/alertes"
QUALITY_PATH: Final = "/qualite-previsions"
HEALTH_PATH: Final = "/sante-donnees"

# The navigation, in reading order: (address, text key).
PAGES: Final[tuple[tuple[str, str], ...]] = (
    (OVERVIEW_PATH, "nav_overview"),
    (DETAIL_PATH, "nav_detail"),
    (MAP_PATH, "nav_map"),
    (ALERTS_PATH, "nav_alerts"),
    (QUALITY_PATH, "nav_quality"),
    (HEALTH_PATH, "nav_health"),
)


# Inline (the stylesheet in assets/ belongs to the overview): a wrapping row of links, the current one bold and
# underlined (not colour alone); #1f2a3a on #e8ebf0 has a contrast ratio above 12:1.
NAV_STYLE: Final = {"display": "flex", "flexWrap": "wrap", "gap": ".25rem 1.25rem", "padding": ".5rem 1.5rem",
                    "background": "#e8ebf0", "borderBottom": "1px solid #d9dce1", "fontSize": ".95rem"}
LINK_STYLE: Final = {"color": "#1f2a3a", "textDecoration": "none", "padding": ".15rem 0"}
CURRENT_STYLE: Final = {**LINK_STYLE, "fontWeight": "bold", "textDecoration": "underline",
                        "textUnderlineOffset": "4px", "textDecorationThickness": "2px"}


def normalise(pathname: str | None) -> str:
    """'/carte/' -> '/carte'; nothing -> '/'."""
    path = (pathname or "/").rstrip("/")
    return path or "/"


def nav_links(pathname: str | None) -> list[Any]:
    """The links, the current page marked with ``aria-current`` (and a visible underline)."""
    current = normalise(pathname)
    return [
        html.A(t(key), href=path, className="nav-link" + (" nav-current" if path == current else ""),
               style=CURRENT_STYLE if path == current else LINK_STYLE,
                 **(aria(current="page") if path == current else {}))
        for path, key in PAGES
    ]


def frame(first_page: Any) -> list[Any]:
    """The location, the navigation bar and the container (holding ``first_page`` until the router answers)."""
    return [
        dcc.Location(id=URL, refresh=False),
        html.Nav(nav_links("/"), id=NAV, className="page-nav", style=NAV_STYLE, **aria(label=t("nav_label"))),
        html.Div(first_page, id=CONTENT),
    ]
