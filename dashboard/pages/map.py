"""Layout of the map page: communes and facilities on plain axes (no tile server: works offline), drill-down.

Clicking a commune or a facility opens its detail page; the table alternative lists every commune and facility
with a link to the same page, so the drill-down also works from the keyboard. The legend spells out each status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from dash import dcc, html

from dashboard.components import aria
from dashboard.figures import blank_figure
from dashboard.pages._common import page, section
from dashboard.pages.overview import GRAPH_CONFIG
from dashboard.pages.router import DETAIL_PATH
from dashboard.plain_html import Element, element
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


def _link(label: str, place: str) -> Element:
    return element("A", label, href=f"{DETAIL_PATH}?place={place}")


def _table(caption_key: str, header_keys: Sequence[str], rows: list[Element]) -> Element:
    return element("Table", [
        element("Caption", t(caption_key)),
        element("Thead", element("Tr", [element("Th", t(k), scope="col") for k in header_keys])),
        element("Tbody", rows),
    ], className="data-table")


def map_tables(communes: Sequence[CommunePoint], facilities: Sequence[FacilityPoint]) -> Element:
    """Both layers as tables, each name a link to its detail page (open: the keyboard's way to drill down).

    A few hundred cells: written as their JSON (:mod:`dashboard.plain_html`), the same the components would send.
    """
    commune_rows = [element("Tr", [
        element("Th", _link(c.name, f"commune:{c.commune_code}"), scope="row"),
        element("Td", fmt_int(c.population), className="num"),
        element("Td", fmt_int(c.admissions), className="num"),
        element("Td", t("not_available") if c.admissions_per_100k is None else fmt_decimal(c.admissions_per_100k, 0),
                className="num"),
    ]) for c in communes]
    facility_rows = []
    for f in facilities:
        style = occupancy_style(f.occupancy_rate)
        facility_rows.append(element("Tr", [
            element("Th", _link(f.name, f"facility:{f.facility_id}"), scope="row"),
            element("Td", t("not_available") if f.occupancy_rate is None else fmt_percent(f.occupancy_rate),
                    className="num"),
            element("Td", f"{style.symbol} {style.label}"),
        ]))
    return element("Details", [
        element("Summary", t("show_table")),
        _table("map_communes_caption", ("col_commune", "col_population", "col_admissions_7d", "col_per_100k"),
               commune_rows),
        _table("map_facilities_caption", ("col_facility", "occupancy", "source_col_state"), facility_rows),
    ], className="table-alternative", open=True)


def layout(refresh_s: int) -> html.Div:
    return page("map_heading", "map_intro", [
        section("section_map", "map", [
            legend(),
            dcc.Graph(id=CHART, figure=blank_figure(""), config=GRAPH_CONFIG, className="map-chart",
                      style={"height": "640px"}),
            html.P(t("map_howto"), className="chart-summary"),
            html.Div(id=TABLE),
        ]),
    ], REFRESH, STORE, refresh_s)
