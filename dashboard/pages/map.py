"""Layout of the map page: communes and facilities on plain axes (no tile server: works offline), drill-down.

Clicking a commune or a facility opens its detail page; the table alternative lists every commune and facility
with a link to the same page, so the drill-down also works from the keyboard. The legend spells out each status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from dash import dcc, html

from dashboard.components import aria
from dashboard.figures import empty_figure
from dashboard.pages._common import page, section
from dashboard.pages.overview import GRAPH_CONFIG
from dashboard.pages.router import DETAIL_PATH
from dashboard.status import LEVEL_STYLES, occupancy_style
from dashboard.text import fmt_decimal, fmt_int, fmt_percent, t
from synopse.db.pages import CommunePoint, FacilityPoint

REFRESH: Final = "map-refresh"
STORE: Final = "map-fingerprint"
CHART: Final = "map-chart"
TABLE: Final = "map-table"


def legend() -> html.Ul:
    """The facilities' statuses with their symbol and word (the map's markers use the same shapes)."""
    return html.Ul(
        [html.Li([html.Span(style.symbol, style={"color": style.colour}, **aria(hidden="true")), " ", style.label])
         for style in LEVEL_STYLES.values()],
        className="map-legend", **aria(label=t("map_legend")),
    )


def _link(label: str, place: str) -> Any:
    return html.A(label, href=f"{DETAIL_PATH}?place={place}")


def map_tables(communes: Sequence[CommunePoint], facilities: Sequence[FacilityPoint]) -> html.Details:
    """Both layers as tables, each name a link to its detail page."""
    commune_rows = [html.Tr([html.Th(_link(c.name, f"commune:{c.commune_code}"), scope="row"),
                             html.Td(fmt_int(c.population), className="num"),
                             html.Td(fmt_int(c.admissions), className="num"),
                             html.Td(t("not_available") if c.admissions_per_100k is None
                                     else fmt_decimal(c.admissions_per_100k, 0), className="num")])
                    for c in communes]
    facility_rows = []
    for f in facilities:
        style = occupancy_style(f.occupancy_rate)
        facility_rows.append(html.Tr([
            html.Th(_link(f.name, f"facility:{f.facility_id}"), scope="row"),
            html.Td(t("not_available") if f.occupancy_rate is None else fmt_percent(f.occupancy_rate),
                    className="num"),
            html.Td(f"{style.symbol} {style.label}"),
        ]))
    return html.Details([
        html.Summary(t("show_table")),
        html.Table([html.Caption(t("map_communes_caption")),
                    html.Thead(html.Tr([html.Th(t(k), scope="col") for k in (
                        "col_commune", "col_population", "col_admissions_7d", "col_per_100k")])),
                    html.Tbody(commune_rows)], className="data-table"),
        html.Table([html.Caption(t("map_facilities_caption")),
                    html.Thead(html.Tr([html.Th(t(k), scope="col") for k in (
                        "col_facility", "occupancy", "source_col_state")])),
                    html.Tbody(facility_rows)], className="data-table"),
    ], className="table-alternative", open=True)


def layout(refresh_s: int) -> html.Div:
    return page("map_heading", "map_intro", [
        section("section_map", "map", [
            legend(),
            dcc.Graph(id=CHART, figure=empty_figure(""), config=GRAPH_CONFIG, className="map-chart",
                      style={"height": "640px"}),
            html.P(t("map_howto"), className="chart-summary"),
            html.Div(id=TABLE),
        ]),
    ], REFRESH, STORE, refresh_s)
