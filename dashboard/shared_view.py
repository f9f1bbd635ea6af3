"""The protected view of the overview page (partners, viewers): pure builders and the plain callback functions.

Same page, same component ids as the crisis cell's view, different content: published counts of complete
days and weeks (``dashboard.shared_data``), a suppressed count written "< 10" with its legend, never a number
standing for it. A facility asked for that is not in the scope (a forged callback input) gets an empty chart
saying the content is not shared, and the audit log records the denied read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time
from html import escape
from typing import Any

import dash
import plotly.graph_objects as go
from dash import html

from dashboard import components, ids
from dashboard.components import OverviewView
from dashboard.figures import ADMISSIONS_COLOUR, ED_VISITS_COLOUR, FONT_FAMILY, OCCUPANCY_COLOUR, empty_figure
from dashboard.shared_data import SharedActivity, SharedFacility, SharedOverview, SharedSource
from dashboard.status import OKABE_ITO, SATURATION_FROM, TENSION_FROM, occupancy_style
from dashboard.text import (
    DISPLAY_TZ,
    fmt_day_month,
    fmt_decimal,
    fmt_int,
    fmt_percent,
    fmt_signed_int,
    plot_format,
    t,
)
from synopse.domain.disclosure import DisclosurePolicy, Published, publish_difference, publish_sum, published_rate
from synopse.domain.indicators import PER_INHABITANTS
from synopse.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

# The period picker's values in complete days (the crisis cell's page reads them as hours).
PERIOD_DAYS = {"period_48h": 2, "period_7d": 7, "period_30d": 30}


def fmt_published(cell: Published, policy: DisclosurePolicy) -> str:
    """A published count as text: '25', '< 10' when suppressed, 'non partagé' when not available."""
    if cell.value is not None:
        return fmt_int(cell.value)
    if cell.suppressed:
        return t("suppressed_short", threshold=policy.threshold)
    return t("not_shared")


def fmt_day(day: date) -> str:
    return fmt_day_month(day)


def disclosure_legend(policy: DisclosurePolicy) -> html.P:
    """The legend every protected view shows next to its figures."""
    return html.P(t("disclosure_legend", threshold=policy.threshold, base=policy.rounding_base),
                  className="disclosure-legend tile-footnote")


def _count(cell: Published, policy: DisclosurePolicy) -> html.Span | str:
    text = fmt_published(cell, policy)
    if cell.suppressed:  # the abbreviation is spelt out for screen readers and on hover
        return html.Span(text, title=t("suppressed_name", threshold=policy.threshold), className="suppressed")
    return text


def shared_facility_tile(tile: SharedFacility, last_day: date, policy: DisclosurePolicy) -> html.Article:
    """One facility: occupancy from published beds, beds, admissions and ED visits of the last complete day."""
    facility = tile.facility
    rate = tile.occupancy_rate
    style = occupancy_style(rate)
    title_id = f"tile-{facility.facility_id}"
    if not facility.beds_shared:
        beds: list[html.Span | str] = [t("shared_beds_not_shared")]
    elif facility.beds_total is None and facility.beds_occupied is None and facility.units_reporting == 0:
        beds = [t("beds_no_data", planned=fmt_int(facility.planned_beds))]
    else:
        beds = [t("shared_beds", occupied=fmt_published(tile.beds_occupied, policy),
                  total=fmt_int(facility.beds_total or 0))]
    change = publish_difference(tile.admissions, tile.admissions_before)
    change_text = (fmt_signed_int(change.value) if change.value is not None else t("not_available"))
    previous = date.fromordinal(last_day.toordinal() - 1)
    lines: list[html.Div | html.H3 | html.P] = [
        html.H3(facility.name, id=title_id, className="tile-title"),
        html.Div(
            [
                html.Span(t("occupancy") + " ", className="visually-hidden"),
                *([] if rate is None else [html.Span(fmt_percent(rate), className="tile-rate")]),
                *([components.level_badge(rate)] if facility.beds_shared else []),
            ],
            className="tile-occupancy",
        ),
        html.P(beds, className="tile-line"),
        html.P(
            [
                t("shared_admissions_day", day=fmt_day(last_day), count=""),
                _count(tile.admissions, policy),
                html.Span(t("shared_change_vs", change=change_text, day=fmt_day(previous)), className="tile-detail"),
            ],
            className="tile-line",
        ),
    ]
    if facility.has_emergency_department:
        lines.append(html.P([t("shared_ed_day", day=fmt_day(last_day), count=""), _count(tile.ed_visits, policy)],
                            className="tile-line"))
    else:
        lines.append(html.P(html.Span(t("ed_none"), className="tile-muted"), className="tile-line"))
    return html.Article(lines, className=f"tile level-{style.level.value}", style={"borderLeftColor": style.colour},
                        **components.aria(labelledby=title_id))


def shared_tiles(overview: SharedOverview, policy: DisclosurePolicy) -> list[html.Article] | html.P:
    if not overview.facilities:
        return html.P(t("shared_no_facility"), className="tile-muted")
    return [shared_facility_tile(tile, overview.last_day, policy) for tile in overview.facilities]


def _rate(cell: Published, population: int) -> html.Td:
    rate = published_rate(cell, population, PER_INHABITANTS)
    return html.Td(t("not_available") if rate is None else fmt_decimal(rate, 0), className="num")


def shared_commune_table(overview: SharedOverview, policy: DisclosurePolicy) -> html.Div:
    """Residents' admissions and ED visits per commune over the last complete week, rates from published counts."""
    if not overview.communes:
        return html.Div(html.P(t("shared_no_commune"), className="tile-muted"))
    head = html.Thead(html.Tr([
        html.Th(t("col_commune"), scope="col"),
        html.Th(t("col_population"), scope="col", className="num"),
        html.Th(t("col_admissions"), scope="col", className="num"),
        html.Th(t("col_per_100k"), scope="col", className="num"),
        html.Th(t("col_ed_visits"), scope="col", className="num"),
        html.Th(t("col_per_100k"), scope="col", className="num"),
    ]))
    body = html.Tbody([
        html.Tr([
            html.Th(row.name, scope="row"),
            html.Td(fmt_int(row.population), className="num"),
            html.Td(_count(row.admissions, policy), className="num"),
            _rate(row.admissions, row.population),
            html.Td(_count(row.ed_visits, policy), className="num"),
            _rate(row.ed_visits, row.population),
        ])
        for row in overview.communes
    ])
    first, last = overview.week
    caption = html.Caption(t("shared_week_caption", first=fmt_day(first), last=fmt_day(last)))
    return html.Div([html.Table([caption, head, body], className="data-table commune-table"),
                     disclosure_legend(policy)])


def shared_facility_options(overview: SharedOverview) -> list[dict[str, str]]:
    label = t("shared_all_facilities") if overview.restricted else t("all_territory")
    return [{"label": label, "value": ids.ALL_TERRITORY}] + [
        {"label": tile.facility.name, "value": tile.facility.facility_id} for tile in overview.facilities
    ]


def shared_activity_figure(activity: SharedActivity, title: str, policy: DisclosurePolicy) -> go.Figure:
    """Daily published admissions and ED visits (bars), suppressed days marked, occupancy from published beds."""
    if not activity.available:
        return empty_figure(t("shared_not_available"))
    if not activity.admissions:
        return empty_figure(t("chart_no_data"))
    x = [datetime.combine(day, time(12), tzinfo=DISPLAY_TZ).replace(tzinfo=None) for day in activity.days]
    figure = go.Figure()
    for name, cells, colour, pattern in (
        (t("shared_series_admissions"), activity.admissions, ADMISSIONS_COLOUR, ""),
        (t("shared_series_ed_visits"), activity.ed_visits, ED_VISITS_COLOUR, "/"),
    ):
        figure.add_trace(go.Bar(x=x, y=[c.value for c in cells], name=name, marker_color=colour,
                                marker_pattern_shape=pattern, hovertemplate="%{y:d}<extra>" + name + "</extra>"))
    hidden = [day for day, a, e in zip(x, activity.admissions, activity.ed_visits, strict=True)
              if a.suppressed or e.suppressed]
    if hidden:
        marker = t("suppressed_short", threshold=policy.threshold)
        figure.add_trace(go.Scatter(x=hidden, y=[0] * len(hidden), mode="markers+text", text=[marker] * len(hidden),
                                    textposition="top center", marker={"symbol": "x", "color": "#444"},
                                    name=t("suppressed_name", threshold=policy.threshold), hoverinfo="skip"))
    rates = [None if r is None else r * 100 for r in activity.occupancy]
    figure.add_trace(go.Scatter(x=x, y=rates, name=t("series_occupancy"), mode="lines+markers", yaxis="y2",
                                line={"color": OCCUPANCY_COLOUR, "width": 2, "dash": "dot"}, connectgaps=False,
                                hovertemplate="%{y:.0f}" + plot_format("percent") + "<extra>"
                                + t("series_occupancy") + "</extra>"))
    for level, colour in ((TENSION_FROM, OKABE_ITO["orange"]), (SATURATION_FROM, OKABE_ITO["vermillion"])):
        figure.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y2", y0=level * 100, y1=level * 100,
                         line={"color": colour, "width": 1, "dash": "dashdot"})
    top = max([100.0, *(r + 5 for r in rates if r is not None)])
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        template="plotly_white", font={"family": FONT_FAMILY, "size": 13}, separators=plot_format("separators"),
        barmode="group",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        margin={"l": 60, "r": 60, "t": 80, "b": 50},
        xaxis={"tickformat": plot_format("day_short"), "hoverformat": plot_format("day_hover")},
        yaxis={"title": {"text": t("shared_axis_count")}, "rangemode": "tozero", "tickformat": "d"},
        yaxis2={"title": {"text": t("axis_occupancy")}, "overlaying": "y", "side": "right", "range": [0, top],
                "showgrid": False, "ticksuffix": plot_format("percent")},
    )
    return figure


def shared_activity_summary(activity: SharedActivity, policy: DisclosurePolicy) -> str:
    """The chart in one sentence; a total with a suppressed day is itself suppressed."""
    if not activity.available:
        return t("shared_not_available")
    if not activity.admissions:
        return t("chart_no_data")
    return t(
        "shared_chart_summary",
        days=len(activity.days),
        admissions=fmt_published(publish_sum(activity.admissions), policy),
        visits=fmt_published(publish_sum(activity.ed_visits), policy),
    ) + " " + t("disclosure_legend", threshold=policy.threshold, base=policy.rounding_base)


def refresh_shared_overview(source: SharedSource, clock: Callable[[], datetime]) -> OverviewView:
    """Read the protected overview and build every part of the page but the chart."""
    wall_now = clock()
    try:
        overview = source.overview()
    except ServiceUnavailableError as exc:
        log.warning("dashboard refresh failed: %s", exc)
        keep = dash.no_update
        return OverviewView(components.unavailable_bar(wall_now), keep, keep, keep, keep)
    names = {tile.facility.facility_id: tile.facility.name for tile in overview.facilities}
    status = components.status_bar(overview.reference_time, overview.freshness, wall_now, names)
    status.append(html.Span(t("shared_data_until", day=fmt_day(overview.last_day)), className="last-data"))
    return OverviewView(
        status=status,
        facility_tiles=shared_tiles(overview, source.policy),
        commune_table=shared_commune_table(overview, source.policy),
        environment=components.environment_panel(overview.environment),
        facility_options=shared_facility_options(overview),
    )


def update_shared_activity(
    source: SharedSource, facility_value: str | None, period: str | None, options: list[dict[str, str]] | None = None
) -> tuple[go.Figure | Any, str]:
    """The protected chart of the picked facility (or all of the scope's) over complete days."""
    key = period if period in PERIOD_DAYS else ids.DEFAULT_PERIOD
    facility_id = None if facility_value in (None, ids.ALL_TERRITORY) else facility_value
    try:
        activity = source.activity(facility_id, PERIOD_DAYS[key])
    except ServiceUnavailableError as exc:
        log.warning("dashboard chart refresh failed: %s", exc)
        return dash.no_update, t("db_unavailable")
    # The title names the facility from the options the server sent, only when it is one of them.
    label = next((o.get("label", "") for o in options or [] if o.get("value") == facility_value), None)
    if label is None or not activity.available:
        label = t("shared_all_facilities") if facility_id is None else ""
    label = escape(label)  # the options come back from the browser: never markup in the chart's title
    title = t("shared_chart_title", scope=label, days=PERIOD_DAYS[key])
    return shared_activity_figure(activity, title, source.policy), shared_activity_summary(activity, source.policy)
