"""Thin callbacks of the detail, map, alerts, forecast-quality and data-health pages: plain functions, wired last.

The seam is :class:`PageSource`: :class:`PoolPageSource` reads through ``synopse.db.pages`` (and the alert
engineer's ``synopse.db.alerts`` / ``synopse.db.alert_delivery``); tests give a fake. These pages show exact
values: only exact scopes (crisis cell, administrators) get a source; any other principal gets the "not shared"
notice from the router, and a forged callback returns nothing (:func:`exact_principal`). Acting on alerts
(acknowledge with a comment, silence) also requires ``can_act_on_alerts`` and is written to the audit log.
Commenting on an alert (an append-only thread, ``alert_comments``) needs the same role and is audited too; a
request from a principal without an exact scope (a forged callback: the page offers them no form) is refused,
answered with nothing, and recorded as ``denied`` in the audit log.
Refreshes come from each page's ``dcc.Interval`` (``settings.dashboard.refresh_s``) and send ``no_update``
when the data's fingerprint did not change, so an unchanged page is not redrawn.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol
from urllib.parse import parse_qs

import dash
import psycopg
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate
from psycopg_pool import ConnectionPool, PoolTimeout

from dashboard import components_pages as cp
from dashboard import figures_pages as fp
from dashboard import i18n
from dashboard.pages import alerts as alerts_page
from dashboard.pages import detail as detail_page
from dashboard.pages import health as health_page
from dashboard.pages import map as map_page
from dashboard.pages import quality as quality_page
from dashboard.pages import router
from dashboard.text import fmt_date, fmt_decimal, fmt_percent, indicator_name, t
from synopse.db import alert_delivery, alerts, pages
from synopse.db.access import record_audit
from synopse.db.alerts import AlertComment
from synopse.db.indicators import (
    DEFAULT_STATEMENT_TIMEOUT,
    LOCAL_TZ,
    latest_data_time,
    set_statement_timeout,
    source_freshness,
)
from synopse.db.pages import (
    CommunePoint,
    EnvironmentDay,
    FacilityPoint,
    ForecastDay,
    ObservedDay,
    ScoreRow,
    TopicHealth,
)
from synopse.domain.access import AuditEntry, Principal, can_act_on_alerts
from synopse.domain.alert_records import AlertListing, Notification, Subscriber
from synopse.domain.forecasts import TERRITORY_ID
from synopse.domain.indicators import SourceFreshness
from synopse.errors import ServiceUnavailableError

log = logging.getLogger(__name__)

POOL_WAIT = timedelta(seconds=5)  # as the overview: say the database is saturated rather than hold the worker
# Recent alerts shown under the firing ones: enough for a shift's history without a long page.
RECENT_ALERTS = 30
# Ledger rows shown: the latest notifications of every subscriber fit a screen.
LEDGER_ROWS = 100

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DetailData:
    observed: list[ObservedDay]
    forecast: list[ForecastDay] | None  # None: the forecast tables do not exist yet
    capacity: float | None
    environment: list[EnvironmentDay]
    outlook: pages.Outlook | None = None  # the forecast's capacity outlook of the place, when computed


@dataclass(frozen=True)
class MapData:
    communes: list[CommunePoint]
    facilities: list[FacilityPoint]


@dataclass(frozen=True)
class AlertsData:
    firing: list[AlertListing]
    recent: list[AlertListing]
    ledger: list[Notification]
    subscribers: list[Subscriber]
    names: dict[str, str] = field(default_factory=dict)
    comments: dict[str, list[AlertComment]] = field(default_factory=dict)  # by alert id, oldest first


@dataclass(frozen=True)
class HealthData:
    topics: list[TopicHealth] | None  # None: the pipeline-health view does not exist yet
    freshness: list[SourceFreshness]
    reference: datetime | None
    names: dict[str, str]


class PageSource(Protocol):
    """Where the pages read their rows and record the actions on alerts."""

    def places(self) -> list[dict[str, str]]: ...

    def detail(self, place: str, metric: str, days: int, indicator: str) -> DetailData: ...

    def map_data(self) -> MapData: ...

    def alerts(self) -> AlertsData | None: ...

    def quality(self) -> list[ScoreRow] | None: ...

    def health(self) -> HealthData: ...

    def act(self, principal: Principal, action: str, alert_id: str, comment: str, hours: int) -> bool: ...

    def comment(self, principal: Principal, alert_id: str, body: str) -> bool: ...

    def refuse(self, principal: Principal, action: str, alert_id: str) -> None: ...


def parse_place(place: str | None) -> tuple[str | None, str | None]:
    """'facility:<id>' -> (id, None); 'commune:<code>' -> (None, code); anything else: the territory."""
    if place and place.startswith("facility:"):
        return place.removeprefix("facility:"), None
    if place and place.startswith("commune:"):
        return None, place.removeprefix("commune:")
    return None, None


def _forecast_scope(place: str | None) -> tuple[str, str]:
    facility, commune = parse_place(place)
    if facility is not None:
        return "facility", facility
    if commune is not None:
        return "commune", commune
    return "territory", TERRITORY_ID


class PoolPageSource:
    """Reads the pages' rows through a connection pool, one short transaction per refresh."""

    def __init__(self, pool: ConnectionPool[Any], *, now: datetime | None = None) -> None:
        self._pool = pool
        self._now = now

    def _run(self, what: str, read: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        try:
            with self._pool.connection(timeout=POOL_WAIT.total_seconds()) as conn:
                set_statement_timeout(conn, DEFAULT_STATEMENT_TIMEOUT)
                return read(conn)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ServiceUnavailableError(f"cannot read {what}: {exc}") from exc

    def _last_day(self, conn: psycopg.Connection[Any]) -> date:
        reference = self._now or latest_data_time(conn) or datetime.now(UTC)
        return reference.astimezone(LOCAL_TZ).date()

    def places(self) -> list[dict[str, str]]:
        def read(conn: psycopg.Connection[Any]) -> list[dict[str, str]]:
            facilities = conn.execute("SELECT facility_id, name FROM facilities ORDER BY name").fetchall()
            communes = conn.execute("SELECT code, name FROM communes ORDER BY name").fetchall()
            return place_options([(r[0], r[1]) for r in facilities], [(r[0], r[1]) for r in communes])
        result: list[dict[str, str]] = self._run("the places", read)
        return result

    def detail(self, place: str, metric: str, days: int, indicator: str) -> DetailData:
        facility, commune = parse_place(place)
        scope, scope_id = _forecast_scope(place)

        def read(conn: psycopg.Connection[Any]) -> DetailData:
            last = self._last_day(conn)
            first = last - timedelta(days=days - 1)
            forecast: list[ForecastDay] | None = None
            outlook: pages.Outlook | None = None
            missing = pages.missing_relations(conn, [pages.LATEST_FORECASTS, pages.CAPACITY_OUTLOOKS,
                                                     pages.FORECAST_RUNS])
            if pages.LATEST_FORECASTS not in missing:
                forecast = pages.latest_forecast(conn, metric=metric, scope=scope, scope_id=scope_id)
            if not missing:
                outlook = pages.latest_outlook(conn, scope=scope, scope_id=scope_id)
            return DetailData(
                observed=pages.observed_daily(conn, first=first, last=last, facility_id=facility,
                                              commune_code=commune),
                forecast=forecast,
                capacity=pages.bed_capacity(conn, facility_id=facility, commune_code=commune),
                environment=pages.environment_days(conn, first=first, last=last, indicators=[indicator]),
                outlook=outlook,
            )
        result: DetailData = self._run("the detail", read)
        return result

    def map_data(self) -> MapData:
        def read(conn: psycopg.Connection[Any]) -> MapData:
            last = self._last_day(conn)
            return MapData(pages.commune_points(conn, first=last - timedelta(days=6), last=last),
                           pages.facility_points(conn))
        result: MapData = self._run("the map", read)
        return result

    def alerts(self) -> AlertsData | None:
        def read(conn: psycopg.Connection[Any]) -> AlertsData | None:
            if pages.missing_relations(conn, ["alerts", "alert_acks", "alert_notifications", "alert_subscribers"]):
                return None
            listing = alerts.list_alerts(conn, limit=RECENT_ALERTS + 50)
            firing = [a for a in listing if a.status in ("firing", "pending")]
            recent = [a for a in listing if a.status == "resolved"][:RECENT_ALERTS]
            comments: dict[str, list[AlertComment]] = {}
            if not pages.missing_relations(conn, ["alert_comments"]):  # migration 0055
                for row in alerts.list_comments(conn, [a.alert_id for a in firing + recent]):
                    comments.setdefault(str(row.alert_id), []).append(row)
            return AlertsData(
                firing=firing,
                recent=recent,
                ledger=alert_delivery.ledger(conn, limit=LEDGER_ROWS),
                subscribers=alert_delivery.list_subscribers(conn, enabled_only=False),
                names=alerts.scope_names(conn),
                comments=comments,
            )
        result: AlertsData | None = self._run("the alerts", read)
        return result

    def quality(self) -> list[ScoreRow] | None:
        def read(conn: psycopg.Connection[Any]) -> list[ScoreRow] | None:
            if pages.missing_relations(conn, [pages.FORECAST_SCORES, pages.FORECAST_RUNS]):  # migration 0010
                return None
            return pages.latest_scores(conn)
        result: list[ScoreRow] | None = self._run("the forecast scores", read)
        return result

    def health(self) -> HealthData:
        def read(conn: psycopg.Connection[Any]) -> HealthData:
            topics = None if pages.missing_relations(conn, [pages.PIPELINE_TOPICS]) else pages.topic_health(conn)
            names = {k.split(":", 1)[1]: v for k, v in alerts.scope_names(conn).items()}
            return HealthData(topics, source_freshness(conn), latest_data_time(conn), names)
        result: HealthData = self._run("the pipeline health", read)
        return result

    def act(self, principal: Principal, action: str, alert_id: str, comment: str, hours: int) -> bool:
        if not is_uuid(alert_id):  # a forged id: no such alert (and no SQL error)
            return False

        def write(conn: psycopg.Connection[Any]) -> bool:
            alert = alerts.get_alert(conn, alert_id)
            if alert is None:
                return False
            if action == "ack":
                alerts.acknowledge(conn, alert_id, by=principal.name, comment=comment)
            else:
                alerts.add_silence(conn, str(uuid.uuid4()), ends_at=datetime.now(UTC) + timedelta(hours=hours),
                                   created_by=principal.name, rule_id=alert.rule_id, scope_key=alert.scope_key,
                                   comment=comment)
            record_audit(conn, AuditEntry.by(principal, f"alert.{action}", alert_id,
                                             details={"hours": hours} if action == "silence" else {}))
            return True
        done: bool = self._run("the alert action", write)
        return done

    def comment(self, principal: Principal, alert_id: str, body: str) -> bool:
        """Append ``body`` to the alert's thread and audit it, in one transaction; False: no such alert."""
        if not is_uuid(alert_id):
            return False

        def write(conn: psycopg.Connection[Any]) -> bool:
            row = alerts.add_comment(conn, alert_id, author=principal.name, role=principal.role.value, body=body)
            if row is None:
                return False
            record_audit(conn, AuditEntry.by(principal, "alert.comment", alert_id,
                                             details={"comment_id": row.comment_id, "length": len(body)}))
            return True
        done: bool = self._run("the alert comment", write)
        return done

    def refuse(self, principal: Principal, action: str, alert_id: str) -> None:
        """Record a refused action on an alert (a role that may not act, or a forged request)."""
        def write(conn: psycopg.Connection[Any]) -> None:
            record_audit(conn, AuditEntry.by(principal, f"alert.{action}", alert_id, outcome="denied"))
        self._run("the audit log", write)


def is_uuid(value: str) -> bool:
    """Whether ``value`` is an alert id (a UUID): anything else from the browser is no alert."""
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def place_options(facilities: list[tuple[str, str]], communes: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The place picker: the territory, then facilities, then communes (labelled as such)."""
    return (
        [{"label": t("all_territory"), "value": detail_page.TERRITORY}]
        + [{"label": f"{name} ({t('place_facility')})", "value": f"facility:{fid}"} for fid, name in facilities]
        + [{"label": f"{name} ({t('place_commune')})", "value": f"commune:{code}"} for code, name in communes]
    )


def fingerprint(*parts: Any) -> str:
    """A short digest of what a page shows: equal digests mean nothing changed, so nothing is sent."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


def exact_principal(principal: Principal | None) -> Principal:
    """The principal of a request to these pages; anyone without an exact scope is refused (forged callbacks)."""
    if principal is None or not principal.scope.exact:
        raise PreventUpdate
    return principal


# ------------------------------------------------------------------------------------------- plain callbacks


def update_detail(
    source: PageSource, place: str | None, metric: str | None, period: str | None, indicator: str | None,
    previous: str | None,
) -> tuple[Any, ...]:
    """Chart, its sentence and table; environment chart, lag chart and sentence, the environment table; the
    forecast notice; the fingerprint; the lag table. Tables are payloads of lazy table alternatives
    (:func:`dashboard.components_pages.table_payload`): their cells, built into a table when opened.
    """
    place = place or detail_page.TERRITORY
    metric = metric if metric in fp.METRIC_VALUES else fp.METRIC_VALUES[0]
    period = period if period in detail_page.PERIOD_DAYS else detail_page.DEFAULT_PERIOD
    indicator = indicator if indicator in detail_page.ENVIRONMENT_INDICATORS else detail_page.DEFAULT_INDICATOR
    try:
        data = source.detail(place, metric, detail_page.PERIOD_DAYS[period], indicator)
    except ServiceUnavailableError as exc:
        log.warning("detail refresh failed: %s", exc)
        return (dash.no_update, t("db_unavailable"), *(dash.no_update,) * 8)
    digest = fingerprint(place, metric, period, indicator, data)
    if digest == previous:
        return (dash.no_update,) * 10
    title = t("detail_title", metric=t(f"metric_{metric}"))
    values = fp.metric_values(data.observed, metric)
    figure = fp.detail_figure(data.observed, data.forecast or [], data.capacity, metric, title, values)
    summary = detail_summary(data, metric, values)
    rows: list[list[cp.Cell]] = [[r.day.isoformat(), v, None, None, None] for r, v in zip(data.observed, values,
                                                                                       strict=True)]
    for f in data.forecast or []:
        rows.append([f.target_date.isoformat(), None, fp._quantile(f, 0.5), fp._quantile(f, 0.05),
                     fp._quantile(f, 0.95)])
    table = cp.table_payload(title, [t(k) for k in ("col_day", "series_observed", "series_forecast",
                                                    "col_q05", "col_q95")], rows)
    signal = {e.day: e.value for e in data.environment}
    outcome = {r.day: float(r.admissions) for r in data.observed}
    correlations = fp.lagged_correlation(signal, outcome)
    env_caption = t("env_table_caption", indicator=indicator_name(indicator))
    env_rows: list[list[cp.Cell]] = [[r.day.isoformat(), r.admissions, signal.get(r.day)] for r in data.observed]
    env_table = cp.table_payload(env_caption, [t("col_day"), t("series_admissions_daily"), indicator_name(indicator)],
                                 env_rows, t("show_table_named", what=env_caption))
    lag_table = cp.table_payload(t("lag_table_caption"), [t("axis_lag"), t("axis_correlation")],
                                 [[str(lag), None if r is None else fmt_decimal(r, 2)] for lag, r in correlations],
                                 t("show_table_named", what=t("lag_table_caption")))
    return (figure, summary, table, fp.environment_figure(data.observed, data.environment, indicator),
            fp.lag_figure(correlations), fp.lag_sentence(correlations, indicator), env_table,
            cp.not_available("what_forecasts") if data.forecast is None else None, digest, lag_table)


def fill_table(payload: Any, clicks: int | None, opened_now: bool) -> tuple[Any, Any]:
    """A lazy table alternative's summary and table: the table once the reader opened it, then at each change.

    ``clicks`` counts clicks on its ``<details>`` (the one that opens it, and any later one: closing it, or a
    click in the table); ``opened_now``: this call comes from such a click rather than from new data. Only the
    first click builds the table (later ones find it there); new data rebuilds it once it was opened.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("summary"), str):
        raise PreventUpdate
    if not clicks or (opened_now and clicks > 1):
        return (dash.no_update, dash.no_update) if opened_now else (payload["summary"], dash.no_update)
    try:
        return payload["summary"], cp.lazy_table_body(payload)
    except ValueError as exc:
        raise PreventUpdate from exc


def detail_summary(data: DetailData, metric: str, observed: list[float | None] | None = None) -> str:
    """The detail chart in one sentence: the last observed value, the capacity, the forecast's reach.

    ``observed``: the metric's daily values when the caller already has them (:func:`fp.metric_values`).
    """
    values = [v for v in (fp.metric_values(data.observed, metric) if observed is None else observed) if v is not None]
    last = t("not_available") if not values else fmt_decimal(values[-1], 1)
    parts = [t("detail_last_value", value=last)]
    if metric == "bed_occupancy" and data.capacity is not None:
        parts.append(t("detail_capacity", beds=fmt_decimal(data.capacity, 0)))
    if data.forecast:
        end = data.forecast[-1]
        parts.append(t("detail_forecast_to", day=fmt_date(end.target_date),
                       median=fmt_decimal(fp._quantile(end, 0.5), 1)))
    elif data.forecast is None:
        parts.append(t("not_available_yet", what=t("what_forecasts")))
    else:
        parts.append(t("detail_no_forecast"))
    if metric == "bed_occupancy" and data.outlook is not None:
        parts.append(t("detail_outlook", p=fmt_percent(data.outlook.max_p_exceed)))
        parts.append(t("detail_saturation", day=fmt_date(data.outlook.saturation_date))
                     if data.outlook.saturation_date else t("detail_no_saturation"))
    return " ".join(parts)


def update_map(source: PageSource, previous: str | None) -> tuple[Any, Any, str | Any]:
    """The map figure, its table alternative (with links to each commune's detail), the fingerprint."""
    try:
        data = source.map_data()
    except ServiceUnavailableError as exc:
        log.warning("map refresh failed: %s", exc)
        return dash.no_update, html.P(t("db_unavailable")), dash.no_update
    digest = fingerprint(data)
    if digest == previous:
        return dash.no_update, dash.no_update, dash.no_update
    return fp.map_figure(data.communes, data.facilities), map_page.map_tables(data.communes, data.facilities), digest


def drill_target(click: dict[str, Any] | None) -> str:
    """The detail page's address for a clicked commune or facility ('commune:44109' -> /detail?place=...)."""
    points = (click or {}).get("points") or []
    target = points[0].get("customdata") if points else None
    if not isinstance(target, str) or not target.startswith(("commune:", "facility:")):
        raise PreventUpdate
    return f"{router.DETAIL_PATH}?place={target}"


def update_alerts(source: PageSource, can_act: bool, previous: str | None) -> tuple[Any, ...]:
    """Firing list, recent list, the action picker's options, the ledger, the action form, the fingerprint."""
    try:
        data = source.alerts()
    except ServiceUnavailableError as exc:
        log.warning("alerts refresh failed: %s", exc)
        return (html.P(t("db_unavailable")),) + (dash.no_update,) * 5
    if data is None:
        missing = cp.not_available("what_alerts")
        return missing, None, [], None, None, "missing"
    digest = fingerprint(data, can_act)
    if digest == previous:
        return (dash.no_update,) * 6
    return (
        cp.alert_list(data.firing, data.names, "alerts_none_firing", data.comments),
        cp.alert_list(data.recent, data.names, "alerts_none_recent", data.comments),
        cp.alert_options(data.firing + data.recent, data.names),
        cp.ledger_table(data.ledger, data.subscribers),
        None if can_act else cp.permission_notice(),
        digest,
    )


class Outcome(NamedTuple):
    """What an action on an alert gave: the sentence for the user, and whether it was carried out."""

    message: str
    done: bool = False


def _refuse(source: PageSource, principal: Principal, action: str, alert_id: str | None) -> None:
    try:
        source.refuse(principal, action, alert_id or "")
    except ServiceUnavailableError as exc:
        log.warning("refused alert action not audited: %s", exc)


def perform_alert_action(
    source: PageSource, principal: Principal, action: str | None, alert_id: str | None, comment: str | None,
    hours: int | None,
) -> Outcome:
    """Comment on, acknowledge (with an optional comment) or silence the picked alert."""
    if action not in alerts_page.ACTIONS:
        raise PreventUpdate
    if not can_act_on_alerts(principal.role):
        _refuse(source, principal, action, alert_id)
        return Outcome(t("alerts_no_permission"))
    if not alert_id:
        return Outcome(t("alerts_pick_first"))
    text = (comment or "").strip()
    if len(text) > alerts_page.COMMENT_MAX:
        return Outcome(t("alerts_comment_too_long", max=alerts_page.COMMENT_MAX))
    if action == "comment" and not text:
        return Outcome(t("alerts_comment_empty"))
    hours = hours if hours in alerts_page.SILENCE_HOURS else alerts_page.SILENCE_HOURS[0]
    try:
        if action == "comment":
            done = source.comment(principal, alert_id, text)
        else:
            done = source.act(principal, action, alert_id, text, hours)
    except ServiceUnavailableError as exc:
        log.warning("alert action failed: %s", exc)
        return Outcome(t("db_unavailable"))
    if not done:
        return Outcome(t("alerts_unknown"))
    if action == "comment":
        return Outcome(t("alerts_commented_done"), True)
    return Outcome(t("alerts_acked_done") if action == "ack" else t("alerts_silenced_done", hours=hours), True)


def act_on_alert(
    source: PageSource, principal: Principal, action: str | None, alert_id: str | None, comment: str | None,
    hours: int | None,
) -> str:
    """Comment on, acknowledge or silence the picked alert; the sentence saying what happened."""
    return perform_alert_action(source, principal, action, alert_id, comment, hours).message


def alert_form(
    source: PageSource, principal: Principal | None, action: str | None, alert_id: str | None, comment: str | None,
    hours: int | None,
) -> tuple[str, Any]:
    """The alerts form's answer: the sentence, and the comment box emptied once its text was posted or attached.

    Only exact scopes see the form: any other principal's request is forged, refused with nothing sent back,
    and recorded as ``denied`` in the audit log.
    """
    if principal is None or action not in alerts_page.ACTIONS:
        raise PreventUpdate
    if not principal.scope.exact:
        log.warning("forged alert action refused", extra={"user": principal.name, "action": action})
        _refuse(source, principal, action, alert_id)
        raise PreventUpdate
    outcome = perform_alert_action(source, principal, action, alert_id, comment, hours)
    return outcome.message, "" if outcome.done else dash.no_update


def update_quality(source: PageSource, previous: str | None) -> tuple[Any, str | Any]:
    try:
        scores = source.quality()
    except ServiceUnavailableError as exc:
        log.warning("quality refresh failed: %s", exc)
        return html.P(t("db_unavailable")), dash.no_update
    if scores is None:
        return cp.not_available("what_scores"), "missing"
    digest = fingerprint(scores)
    if digest == previous:
        return dash.no_update, dash.no_update
    return cp.scores_table(scores), digest


def update_health(source: PageSource, clock: Clock, previous: str | None) -> tuple[Any, Any, str | Any]:
    try:
        data = source.health()
    except ServiceUnavailableError as exc:
        log.warning("health refresh failed: %s", exc)
        return html.P(t("db_unavailable")), dash.no_update, dash.no_update
    now = clock()
    digest = fingerprint(data, now.replace(second=0, microsecond=0))  # the lag's age moves with the clock
    if digest == previous:
        return dash.no_update, dash.no_update, dash.no_update
    topics = cp.not_available("what_pipeline") if data.topics is None else cp.topic_table(data.topics, now)
    return topics, cp.freshness_table(data.freshness, data.reference, data.names), digest


def render(pathname: str | None, search: str | None, principal: Principal | None, refresh_s: int,
           overview: Callable[[], Any], *, initial: bool = False) -> Any:
    """The page of an address; the pages of exact values only for exact scopes.

    The layout already holds the overview: at the page's first load on ``/`` nothing is sent (``initial``).
    """
    path = router.normalise(pathname)
    if path == router.OVERVIEW_PATH:
        return dash.no_update if initial else overview()
    if principal is None or not principal.scope.exact:
        return html.Main(html.P(t("shared_not_available"), className="notice"), id="main")
    places = parse_qs((search or "").lstrip("?")).get("place")
    place = places[0] if places else None
    if path == router.DETAIL_PATH:
        return detail_page.layout(refresh_s, place)
    if path == router.MAP_PATH:
        return map_page.layout(refresh_s)
    if path == router.ALERTS_PATH:
        return alerts_page.layout(refresh_s)
    if path == router.QUALITY_PATH:
        return quality_page.layout(refresh_s)
    if path == router.HEALTH_PATH:
        return health_page.layout(refresh_s)
    return html.Main(html.P(t("page_not_found")), id="main")


# ------------------------------------------------------------------------------------------------- wiring

SourceFor = Callable[[], PageSource]
PrincipalFor = Callable[[], "Principal | None"]


def validation_layout(refresh_s: int) -> list[Any]:
    """Every page's layout, so that Dash checks the callbacks' ids against all of them at start-up."""
    return [detail_page.layout(refresh_s), map_page.layout(refresh_s), alerts_page.layout(refresh_s),
            quality_page.layout(refresh_s), health_page.layout(refresh_s)]


def register_page_callbacks(
    app: dash.Dash, source: SourceFor, principal: PrincipalFor, refresh_s: int, overview: Callable[[], Any],
    clock: Clock = wall_clock,
) -> None:
    """Wire the router and the pages' plain functions to their component ids."""

    def _source() -> PageSource:
        exact_principal(principal())
        return source()

    app.callback(Output(router.CONTENT, "children"), Output(router.NAV, "children"), Output(i18n.SWITCH, "children"),
                 Input(router.URL, "pathname"), State(router.URL, "search"))(
        lambda pathname, search: (render(pathname, search, principal(), refresh_s, overview,
                                         initial=dash.ctx.triggered_id is None), router.nav_links(pathname),
                                  i18n.switch_links(router.normalise(pathname), search or "")))
    app.callback(Output(detail_page.PLACE, "options"), Input(detail_page.PLACE, "id"))(
        lambda _id: _source().places())
    app.callback(
        Output(detail_page.CHART, "figure"), Output(detail_page.SUMMARY, "children"),
        Output(cp.lazy_ids(detail_page.TABLE)[2], "data"), Output(detail_page.ENV_CHART, "figure"),
        Output(detail_page.LAG_CHART, "figure"), Output(detail_page.LAG_SENTENCE, "children"),
        Output(cp.lazy_ids(detail_page.ENV_TABLE)[2], "data"), Output(detail_page.FORECAST_NOTICE, "children"),
        Output(detail_page.STORE, "data"), Output(cp.lazy_ids(detail_page.LAG_TABLE)[2], "data"),
        Input(detail_page.REFRESH, "n_intervals"), Input(detail_page.PLACE, "value"),
        Input(detail_page.METRIC, "value"), Input(detail_page.PERIOD, "value"), Input(detail_page.INDICATOR, "value"),
        State(detail_page.STORE, "data"),
    )(lambda _n, place, metric, period, indicator, prev: update_detail(_source(), place, metric, period, indicator,
                                                                        prev))

    def _fill(payload: Any, clicks: int | None) -> tuple[Any, Any]:
        exact_principal(principal())
        return fill_table(payload, clicks, dash.ctx.triggered_id in detail_page.LAZY_TABLES)

    for name in detail_page.LAZY_TABLES:
        summary_id, body_id, data_id = cp.lazy_ids(name)
        app.callback(Output(summary_id, "children"), Output(body_id, "children"),
                     Input(data_id, "data"), Input(name, "n_clicks"), prevent_initial_call=True)(_fill)
    app.callback(Output(map_page.CHART, "figure"), Output(map_page.TABLE, "children"), Output(map_page.STORE, "data"),
                 Input(map_page.REFRESH, "n_intervals"), State(map_page.STORE, "data"))(
        lambda _n, prev: update_map(_source(), prev))
    app.callback(Output(router.URL, "href"), Input(map_page.CHART, "clickData"), prevent_initial_call=True)(
        drill_target)
    app.callback(
        Output(alerts_page.FIRING, "children"), Output(alerts_page.RECENT, "children"),
        Output(alerts_page.PICKER, "options"), Output(alerts_page.LEDGER, "children"),
        Output(alerts_page.PERMISSION, "children"), Output(alerts_page.STORE, "data"),
        Input(alerts_page.REFRESH, "n_intervals"), Input(alerts_page.FEEDBACK, "children"),
        State(alerts_page.STORE, "data"),
    )(lambda _n, _f, prev: update_alerts(_source(), can_act_on_alerts(exact_principal(principal()).role), prev))

    def _act(_comment: int | None, _ack: int | None, _silence: int | None, alert_id: str | None,
             comment: str | None, hours: int | None) -> tuple[str, Any]:
        action = alerts_page.BUTTON_ACTIONS.get(str(dash.ctx.triggered_id))
        return alert_form(source(), principal(), action, alert_id, comment, hours)

    app.callback(
        Output(alerts_page.FEEDBACK, "children"), Output(alerts_page.COMMENT, "value"),
        Input(alerts_page.COMMENT_BUTTON, "n_clicks"), Input(alerts_page.ACK, "n_clicks"),
        Input(alerts_page.SILENCE, "n_clicks"),
        State(alerts_page.PICKER, "value"), State(alerts_page.COMMENT, "value"), State(alerts_page.HOURS, "value"),
        prevent_initial_call=True,
    )(_act)
    app.callback(Output(quality_page.TABLE, "children"), Output(quality_page.STORE, "data"),
                 Input(quality_page.REFRESH, "n_intervals"), State(quality_page.STORE, "data"))(
        lambda _n, prev: update_quality(_source(), prev))
    app.callback(Output(health_page.TOPICS, "children"), Output(health_page.SOURCES, "children"),
                 Output(health_page.STORE, "data"),
                 Input(health_page.REFRESH, "n_intervals"), State(health_page.STORE, "data"))(
        lambda _n, prev: update_health(_source(), clock, prev))
