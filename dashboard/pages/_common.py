"""Shared layout pieces of the detail, map, alerts, quality and health pages: page header, section, refresh.

Pure layout: no data is read here. Every page has one ``<h1>``, labelled sections, a ``main`` landmark with the
skip link's target, and its own ``dcc.Interval`` paced by ``settings.dashboard.refresh_s``.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard.components import aria
from dashboard.text import t


def section(title_key: str, section_id: str, children: list[Any], class_name: str = "panel") -> html.Section:
    heading_id = f"{section_id}-title"
    return html.Section([html.H2(t(title_key), id=heading_id), *children], className=class_name,
                        **aria(labelledby=heading_id))


def page(title_key: str, intro_key: str, sections: list[Any], refresh_id: str, store_id: str,
         refresh_s: int) -> html.Div:
    """A page: skip link, header with its title and a one-line explanation, the sections, the refresh timer."""
    return html.Div(
        [
            html.A(t("skip_link"), href="#main", className="skip-link"),
            html.Header([html.Div([html.H1(t(title_key)), html.P(t(intro_key), className="subtitle")],
                                  className="brand")], className="app-header"),
            html.Main(sections, id="main", tabIndex="-1"),
            html.Footer(t("pages_footer", refresh=refresh_s), className="app-footer"),
            dcc.Interval(id=refresh_id, interval=refresh_s * 1000, n_intervals=0),
            dcc.Store(id=store_id),
        ],
        className="page",
    )
