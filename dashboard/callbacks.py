"""Thin callbacks of the overview page: plain functions from a row source and inputs to component trees.

The seam is :class:`IndicatorSource`: :class:`PoolSource` reads the database through
:mod:`synopse.db.indicators`; a test gives a fake with canned rows. :func:`register_callbacks` only wires
those plain functions to Dash ids, so that every decision is tested without a server.
Access: the callbacks ask a provider for the source of the request being served. An exact scope (crisis
cell, administrators) gets a :class:`PoolSource` reading with that scope; a protected one (partners, viewers)
gets a :class:`~dashboard.shared_data.SharedSource` and the protected view of the same page
(:mod:`dashboard.shared_view`).
A database that cannot be read does not blank the page: the tiles keep their last values and the
status bar says the data could not be refreshed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import dash
import plotly.graph_objects as go
import psycopg
from dash import Input, Output, State
from psycopg_pool import ConnectionPool, PoolTimeout

from dashboard import components, ids
from dashboard.components import OverviewView
from dashboard.figures import activity_figure, activity_summary
from dashboard.shared_data import SharedSource
from dashboard.shared_view import refresh_shared_overview, update_shared_activity
from dashboard.text import t
from synopse.db.indicators import (
    DEFAULT_STATEMENT_TIMEOUT,
    EVERYTHING,
    hourly_activity,
    load_overview,
    set_statement_timeout,
)
from synopse.domain.access import Scope
from synopse.domain.indicators import HourlyPoint, Overview
from synopse.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Waiting longer than this for a pooled connection means the database or the pool is saturated;
# better to say so on the page than to hold the web worker. Well under the 15 s minimum refresh.
POOL_WAIT = timedelta(seconds=5)


def wall_clock() -> datetime:
    """The current instant (UTC): the default clock, replaced by a fixed one in tests."""
    return datetime.now(UTC)


class IndicatorSource(Protocol):
    """Where the callbacks read their rows."""

    def overview(self) -> Overview: ...

    def activity(self, facility_id: str | None, hours: int) -> list[HourlyPoint]: ...


class PoolSource:
    """Reads the indicators through a connection pool, one short transaction per refresh."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        *,
        now: datetime | None = None,
        statement_timeout: timedelta = DEFAULT_STATEMENT_TIMEOUT,
        scope: Scope = EVERYTHING,
    ) -> None:
        """Read through ``pool``.

        Args:
            pool: A pool opened (and later closed) by the entry point.
            now: A fixed reference instant for the windows; None follows the newest data time.
            statement_timeout: Longest time one query may take before it is cancelled.
            scope: What the reader may see (an exact scope: the queries refuse a protected one).
        """
        self._pool = pool
        self._now = now
        self._statement_timeout = statement_timeout
        self.scope = scope

    def overview(self) -> Overview:
        try:
            with self._pool.connection(timeout=POOL_WAIT.total_seconds()) as conn:
                set_statement_timeout(conn, self._statement_timeout)
                return load_overview(conn, self._now, scope=self.scope)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ServiceUnavailableError(f"cannot read the overview: {exc}") from exc

    def activity(self, facility_id: str | None, hours: int) -> list[HourlyPoint]:
        try:
            with self._pool.connection(timeout=POOL_WAIT.total_seconds()) as conn:
                set_statement_timeout(conn, self._statement_timeout)
                return hourly_activity(conn, hours=hours, facility_id=facility_id, now=self._now, scope=self.scope)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ServiceUnavailableError(f"cannot read the hourly activity: {exc}") from exc


def facility_options(overview: Overview) -> list[dict[str, str]]:
    """The facility picker's options: the whole territory first, then the facilities by name."""
    return [{"label": t("all_territory"), "value": ids.ALL_TERRITORY}] + [
        {"label": f.name, "value": f.facility_id} for f in overview.facilities
    ]


def refresh_overview(source: IndicatorSource, clock: Clock = wall_clock) -> OverviewView:
    """Read the overview and build every part of the page but the chart."""
    wall_now = clock()
    try:
        overview = source.overview()
    except ServiceUnavailableError as exc:
        log.warning("dashboard refresh failed: %s", exc)
        keep = dash.no_update
        return OverviewView(components.unavailable_bar(wall_now), keep, keep, keep, keep)
    names = {f.facility_id: f.name for f in overview.facilities}
    return OverviewView(
        status=components.status_bar(overview.reference_time, overview.freshness, wall_now, names),
        facility_tiles=components.facility_tiles(overview.facilities, overview.reference_time),
        commune_table=components.commune_table(overview.communes),
        environment=components.environment_panel(overview.environment),
        facility_options=facility_options(overview),
    )


def _scope_label(facility_value: str | None, options: list[dict[str, str]] | None) -> str:
    for option in options or []:
        if option.get("value") == facility_value:
            return option.get("label", facility_value or "")
    return t("all_territory")


def update_activity(
    source: IndicatorSource,
    facility_value: str | None,
    period: str | None,
    options: list[dict[str, str]] | None = None,
) -> tuple[go.Figure | Any, str]:
    """The chart and its one-sentence summary for the picked facility ("whole territory") and period."""
    period_key = period if period in ids.PERIOD_HOURS else ids.DEFAULT_PERIOD
    facility_id = None if facility_value in (None, ids.ALL_TERRITORY) else facility_value
    try:
        points = source.activity(facility_id, ids.PERIOD_HOURS[period_key])
    except ServiceUnavailableError as exc:
        log.warning("dashboard chart refresh failed: %s", exc)
        return dash.no_update, t("db_unavailable")
    title = t("chart_title", scope=_scope_label(facility_value, options), period=t(period_key))
    return activity_figure(points, title), activity_summary(points)


# Gives the source of the request being served: exact (the crisis cell's) or protected (partners, viewers).
SourceProvider = Callable[[], "IndicatorSource | SharedSource"]


def register_callbacks(app: dash.Dash, sources: SourceProvider, clock: Clock = wall_clock) -> None:
    """Wire the plain functions above (or their protected twins) to the page's component ids."""

    def _refresh(_n_intervals: int | None) -> tuple[Any, ...]:
        source = sources()
        if isinstance(source, SharedSource):
            return refresh_shared_overview(source, clock).as_tuple()
        return refresh_overview(source, clock).as_tuple()

    def _chart(
        _n_intervals: int | None, facility_value: str | None, period: str | None, options: list[dict[str, str]] | None
    ) -> tuple[Any, str]:
        source = sources()
        if isinstance(source, SharedSource):
            return update_shared_activity(source, facility_value, period, options)
        return update_activity(source, facility_value, period, options)

    app.callback(
        Output(ids.STATUS, "children"),
        Output(ids.FACILITY_TILES, "children"),
        Output(ids.COMMUNE_TABLE, "children"),
        Output(ids.ENVIRONMENT_PANEL, "children"),
        Output(ids.FACILITY_PICKER, "options"),
        Input(ids.REFRESH, "n_intervals"),
    )(_refresh)
    app.callback(
        Output(ids.ACTIVITY_CHART, "figure"),
        Output(ids.CHART_SUMMARY, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.FACILITY_PICKER, "value"),
        Input(ids.PERIOD_PICKER, "value"),
        State(ids.FACILITY_PICKER, "options"),
    )(_chart)
