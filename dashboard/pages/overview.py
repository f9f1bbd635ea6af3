"""Layout of the overview page: the static frame the refresh callbacks fill (no data is read here).

The page is usable from the keyboard alone (native radio buttons, a labelled dropdown, a skip link)
and speaks the user's language (the index page's ``lang`` attribute follows it). Nothing is loaded from the internet.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.components import aria
from dashboard.figures import empty_figure
from dashboard.text import t

# Plotly's mode bar without the plotly.com logo link and the cloud-editing buttons: offline operation.
GRAPH_CONFIG: dcc.Graph.Config = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}



def dropdown_labels() -> dcc.Dropdown.Labels:
    """The dropdowns' own words, in the language of the request."""
    return {
        "search": t("dropdown_search"),
        "clear_search": t("dropdown_clear_search"),
        "clear_selection": t("dropdown_clear_selection"),
        "no_options_found": t("dropdown_no_options"),
    }


def _section(title_key: str, section_id: str, children: list[Any], class_name: str = "panel") -> html.Section:
    heading_id = f"{section_id}-title"
    return html.Section(
        [html.H2(t(title_key), id=heading_id), *children],
        className=class_name,
        **aria(labelledby=heading_id),
    )


def _controls() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Label(t("facility_picker"), htmlFor=ids.FACILITY_PICKER, className="control-label"),
                    dcc.Dropdown(
                        id=ids.FACILITY_PICKER,
                        options=[{"label": t("all_territory"), "value": ids.ALL_TERRITORY}],
                        value=ids.ALL_TERRITORY,
                        clearable=False,
                        searchable=True,
                        labels=dropdown_labels(),
                        className="facility-picker",
                    ),
                ],
                className="control",
            ),
            html.Fieldset(
                [
                    html.Legend(t("period_picker"), className="control-label"),
                    dcc.RadioItems(
                        id=ids.PERIOD_PICKER,
                        options=[{"label": t(key), "value": key} for key in ids.PERIOD_HOURS],
                        value=ids.DEFAULT_PERIOD,
                        inline=True,
                        className="period-picker",
                    ),
                ],
                className="control",
            ),
        ],
        className="controls",
    )


def layout(refresh_s: int) -> html.Div:
    """The page: header with data status, facility tiles, the activity chart, communes and environment."""
    return html.Div(
        [
            html.A(t("skip_link"), href="#main", className="skip-link"),
            html.Header(
                [
                    html.Div(
                        [html.H1(t("app_title")), html.P(t("app_subtitle"), className="subtitle")],
                        className="brand",
                    ),
                    html.Div(id=ids.STATUS, className="data-status"),
                ],
                className="app-header",
            ),
            html.Main(
                [
                    _section("section_facilities", "facilities", [html.Div(id=ids.FACILITY_TILES, className="tiles")]),
                    _section(
                        "section_activity",
                        "activity",
                        [
                            _controls(),
                            dcc.Graph(
                                id=ids.ACTIVITY_CHART,
                                figure=empty_figure(""),
                                config=GRAPH_CONFIG,
                                className="activity-chart",
                            ),
                            html.P(id=ids.CHART_SUMMARY, className="chart-summary"),
                        ],
                    ),
                    html.Div(
                        [
                            _section("section_communes", "communes", [html.Div(id=ids.COMMUNE_TABLE)],
                                     "panel panel-wide"),
                            _section("section_environment", "environment", [html.Div(id=ids.ENVIRONMENT_PANEL)]),
                        ],
                        className="columns",
                    ),
                ],
                id="main",
                tabIndex="-1",
            ),
            html.Footer(t("footer", refresh=refresh_s), className="app-footer"),
            # Refreshes start at once (n_intervals=0 fires the callbacks on load), then every refresh_s.
            dcc.Interval(id=ids.REFRESH, interval=refresh_s * 1000, n_intervals=0),
        ],
        className="page",
    )
