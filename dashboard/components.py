"""Pure builders of the page's HTML parts from query rows: status bar, facility tiles, commune table, environment.

No I/O and no Dash callback state: each function maps rows to components, so that it is tested by
looking at the tree it returns. Text comes from :mod:`dashboard.text`, levels from :mod:`dashboard.status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dash import html

from dashboard.status import (
    feed_delay,
    occupancy_style,
    snapshot_is_stale,
    source_is_late,
)
from dashboard.text import (
    INDICATOR_NAMES,
    fmt_datetime,
    fmt_decimal,
    fmt_duration,
    fmt_int,
    fmt_percent,
    fmt_signed_int,
    fmt_time,
    indicator_name,
    t,
    topic_name,
)
from synopse.domain.indicators import CommuneActivity, EnvironmentReading, FacilityStatus, SourceFreshness

# Decimals shown per unit: a tenth of a degree matters for heat; µg/m³, pollen indices and genome
# copies are not measured to better than a unit.
_UNIT_DIGITS = {"°C": 1, "µg/m³": 0, "index": 0, "gc/L": 0}
# How units read on screen (the pollen index is a 0-5 scale).
_UNIT_DISPLAY = {"index": "/ 5"}


@dataclass(frozen=True)
class OverviewView:
    """The parts the overview page's refresh sends, in its callback's output order (``dash.no_update`` keeps one).

    One type for the crisis cell's view and the protected view: both fill the same component ids.
    """

    status: Any
    facility_tiles: Any
    commune_table: Any
    environment: Any
    facility_options: Any

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.status, self.facility_tiles, self.commune_table, self.environment, self.facility_options)


def aria(**attributes: str) -> dict[str, Any]:
    """ARIA attributes as keyword arguments of a Dash component: ``aria(labelledby="x")``."""
    return {f"aria-{name}": value for name, value in attributes.items()}


def admissions_change(current: int, previous: int) -> str:
    """'↑ +6 (+17 %) vs 24 h précédentes'; without a percentage when the previous count is 0."""
    delta = current - previous
    if delta == 0:
        return t("change_none")
    arrow = "↑" if delta > 0 else "↓"
    pct = "" if previous == 0 else f" ({'+' if delta > 0 else ''}{fmt_percent(delta / previous)})"
    return t("change_vs_prev", arrow=arrow, delta=fmt_signed_int(delta), pct=pct)


def occupancy_text(status: FacilityStatus) -> str | None:
    """The rate as shown on the tile, '87 %'; None without a snapshot (the badge then says "pas de données")."""
    rate = status.occupancy_rate
    return None if rate is None else fmt_percent(rate)


def level_badge(rate: float | None) -> html.Span:
    """The level as a coloured badge carrying a symbol and a word (never colour alone)."""
    style = occupancy_style(rate)
    return html.Span(
        [html.Span(style.symbol, className="badge-symbol", **aria(hidden="true")), style.label],
        className=f"badge level-badge level-{style.level.value}",
        style={"backgroundColor": style.colour},
    )


def facility_tile(status: FacilityStatus, reference: datetime | None) -> html.Article:
    """One facility: occupancy with its level, beds, admissions 24 h with the trend, ED visits."""
    style = occupancy_style(status.occupancy_rate)
    rate_text = occupancy_text(status)
    title_id = f"tile-{status.facility_id}"
    if status.beds_total is not None and status.beds_occupied is not None:
        beds = t("beds", occupied=fmt_int(status.beds_occupied), total=fmt_int(status.beds_total))
    else:
        beds = t("beds_no_data", planned=fmt_int(status.planned_beds))
    if status.has_emergency_department:
        ed: list[html.Span | str] = [
            t("ed_24h", count=fmt_int(status.ed_visits_24h)),
            html.Span(t("ed_last_hour", count=fmt_int(status.ed_visits_last_hour)), className="tile-detail"),
        ]
    else:
        ed = [html.Span(t("ed_none"), className="tile-muted")]
    children: list[html.Div | html.H3 | html.P] = [
        html.H3(status.name, id=title_id, className="tile-title"),
        html.Div(
            [
                html.Span(t("occupancy") + " ", className="visually-hidden"),
                *([] if rate_text is None else [html.Span(rate_text, className="tile-rate")]),
                level_badge(status.occupancy_rate),
            ],
            className="tile-occupancy",
        ),
        html.P(beds, className="tile-line"),
        html.P(
            [
                t("admissions_24h", count=fmt_int(status.admissions_24h)),
                html.Span(
                    admissions_change(status.admissions_24h, status.admissions_prev_24h), className="tile-detail"
                ),
            ],
            className="tile-line",
        ),
        html.P(ed, className="tile-line"),
    ]
    if status.snapshot_at is not None:
        stale = snapshot_is_stale(status.snapshot_at, reference)
        key = "snapshot_stale" if stale else "snapshot_at"
        children.append(
            html.P(
                ("⚠ " if stale else "") + t(key, when=fmt_time(status.snapshot_at)),
                className="tile-footnote" + (" tile-stale" if stale else ""),
            )
        )
    return html.Article(
        children,
        className=f"tile level-{style.level.value}",
        style={"borderLeftColor": style.colour},
        **aria(labelledby=title_id),
    )


def facility_tiles(statuses: Sequence[FacilityStatus], reference: datetime | None) -> list[html.Article]:
    """The row of tiles, in the order of the rows (by name)."""
    return [facility_tile(status, reference) for status in statuses]


def _rate_cell(rate: float | None) -> html.Td:
    return html.Td(t("not_available") if rate is None else fmt_decimal(rate, 0), className="num")


def _per_100k_header(count_key: str) -> html.Th:
    # The count's name is read by screen readers but not shown: the column beside it says it.
    return html.Th(
        [html.Span(t(count_key) + " ", className="visually-hidden"), t("col_per_100k")], scope="col", className="num"
    )


def commune_table(rows: Sequence[CommuneActivity]) -> html.Table:
    """Admissions and ED visits per commune of residence, counts and rates per 100,000 inhabitants."""
    head = html.Thead(
        html.Tr(
            [
                html.Th(t("col_commune"), scope="col"),
                html.Th(t("col_population"), scope="col", className="num"),
                html.Th(t("col_admissions"), scope="col", className="num"),
                _per_100k_header("col_admissions"),
                html.Th(t("col_ed_visits"), scope="col", className="num"),
                _per_100k_header("col_ed_visits"),
            ]
        )
    )
    body = []
    for row in rows:
        other = row.commune_code is None
        body.append(
            html.Tr(
                [
                    html.Th(t("commune_other") if other else row.name, scope="row"),
                    html.Td(t("not_available") if row.population is None else fmt_int(row.population),
                            className="num"),
                    html.Td(fmt_int(row.admissions), className="num"),
                    _rate_cell(row.admissions_per_100k),
                    html.Td(fmt_int(row.ed_visits), className="num"),
                    _rate_cell(row.ed_visits_per_100k),
                ],
                className="row-other" if other else None,
            )
        )
    return html.Table(
        [html.Caption(t("communes_caption")), head, html.Tbody(body)], className="data-table commune-table"
    )


def _reading_value(reading: EnvironmentReading) -> str:
    digits = _UNIT_DIGITS.get(reading.unit, 1)
    unit = _UNIT_DISPLAY.get(reading.unit, reading.unit)
    return f"{fmt_decimal(reading.value_mean, digits)}\u00a0{unit}".strip()


def _reading_detail(reading: EnvironmentReading) -> str:
    when = fmt_time(reading.bucket)
    if reading.stations == 1 and reading.station_name:
        return t("env_one_station", station=reading.station_name, when=when)
    digits = _UNIT_DIGITS.get(reading.unit, 1)
    return t("env_many_stations", n=reading.stations, max=fmt_decimal(reading.value_max, digits), when=when)


def environment_panel(readings: Sequence[EnvironmentReading]) -> html.Ul | html.P:
    """The latest value of each indicator with its unit, where and when it was measured."""
    if not readings:
        return html.P(t("env_none"), className="tile-muted")
    order = {name: position for position, name in enumerate(INDICATOR_NAMES)}
    ordered = sorted(readings, key=lambda r: (order.get(r.indicator, len(order)), r.indicator))
    return html.Ul(
        [
            html.Li(
                [
                    html.Span(indicator_name(r.indicator), className="env-name"),
                    html.Span(_reading_value(r), className="env-value"),
                    html.Span(_reading_detail(r), className="env-detail"),
                ],
                className="env-item",
            )
            for r in ordered
        ],
        className="env-list",
    )


def _freshness_details(
    freshness: Sequence[SourceFreshness], reference: datetime, names: dict[str, str]
) -> html.Details:
    late = [s for s in freshness if source_is_late(s, reference)]
    summary = (
        t("sources_late", late=len(late), total=len(freshness))
        if late
        else t("sources_all_ok", total=len(freshness))
    )
    ordered = sorted(freshness, key=lambda s: (not source_is_late(s, reference), s.last_event_at))
    rows = [
        html.Tr(
            [
                html.Td(topic_name(s.topic)),
                html.Th(names.get(s.source_id, s.source_id), scope="row"),
                html.Td(fmt_datetime(s.last_event_at)),
                html.Td(
                    ("⚠ " + t("source_late")) if source_is_late(s, reference) else t("source_ok"),
                    className="source-late" if source_is_late(s, reference) else None,
                ),
            ]
        )
        for s in ordered
    ]
    table = html.Table(
        [
            html.Caption(t("sources_detail")),
            html.Thead(
                html.Tr([html.Th(t(k), scope="col") for k in (
                    "source_col_topic", "source_col_source", "source_col_last", "source_col_state")])
            ),
            html.Tbody(rows),
        ],
        className="data-table sources-table",
    )
    return html.Details(
        [html.Summary(summary, className="sources-late" if late else None), table], className="sources"
    )


def status_bar(
    reference: datetime | None,
    freshness: Sequence[SourceFreshness],
    wall_now: datetime,
    facility_names: dict[str, str] | None = None,
) -> list[html.Span | html.Details]:
    """Last data time, the late-feed badge against the wall clock, and per-source freshness."""
    if reference is None:
        return [html.Span(t("no_data_yet"), className="badge badge-late")]
    delay = feed_delay(reference, wall_now)
    badge = (
        html.Span(["⚠ ", t("feed_late", delay=fmt_duration(delay))], className="badge badge-late")
        if delay is not None
        else html.Span(["✓ ", t("feed_ok")], className="badge badge-ok")
    )
    parts: list[html.Span | html.Details] = [
        html.Span(t("last_data", when=fmt_datetime(reference)), className="last-data"),
        badge,
    ]
    if freshness:
        parts.append(_freshness_details(freshness, reference, facility_names or {}))
    return parts


def unavailable_bar(wall_now: datetime) -> list[html.Span]:
    """What the status bar says when the database cannot be read: the tiles keep their last values."""
    return [html.Span(["⚠ ", t("db_unavailable"), f" ({fmt_time(wall_now)})"], className="badge badge-error")]
