"""Pure HTML builders of the detail, map, alerts, forecast-quality and data-health pages: rows in, components out.

No I/O: each function maps rows to Dash components. Every chart gets a table alternative
(:func:`table_alternative`, a collapsible ``<details>``); a missing table of another component becomes a
"not available yet" notice (:func:`not_available`) rather than an error. The detail page's long tables (a row per
day, up to a year) are filled when first opened (:func:`lazy_table_alternative`): each of their cells is a Dash
component, and building and sending a few thousand of them on every refresh cost more than the page's reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from dash import dcc, html

from dashboard.components import aria
from dashboard.status import OKABE_ITO, source_is_late
from dashboard.text import fmt_datetime, fmt_decimal, fmt_duration, fmt_int, fmt_percent, t, topic_name
from synopse.db.alerts import AlertComment
from synopse.db.pages import ScoreRow, TopicHealth
from synopse.domain.alert_records import AlertListing, Notification, Subscriber
from synopse.domain.indicators import SourceFreshness

Cell = str | int | float | None

# Severity of an alert: a word, a symbol and an Okabe-Ito colour (never colour alone).
SEVERITY_STYLES: dict[str, tuple[str, str]] = {
    "info": ("ℹ", OKABE_ITO["sky_blue"]),
    "warning": ("▲", OKABE_ITO["orange"]),
    "severe": ("■", OKABE_ITO["vermillion"]),
    "critical": ("✖", OKABE_ITO["reddish_purple"]),
}
# Relative WIS: under 1 the model beats the baseline. Past this it is clearly worse than the naive forecast.
RELATIVE_WIS_POOR = 1.0
# A 90 % interval covering less than this is overconfident: do not read the band as 90 %.
COVERAGE_90_LOW = 0.8
# A consumer lag above this many messages means the dashboard shows stale data.
LAG_HIGH = 1000
# A lag measurement older than this means no worker holds the partition (the workers write it every few seconds).
LAG_STALE_AFTER = timedelta(minutes=2)


def not_available(what_key: str) -> html.P:
    """The notice of a page part whose table has not landed yet (another component's migration)."""
    return html.P(["ℹ ", t("not_available_yet", what=t(what_key))], className="notice notice-unavailable",
                  role="status")


def _cell(value: Cell) -> str:
    if value is None:
        return t("not_available")
    if isinstance(value, float):
        return fmt_decimal(value, 1)
    if isinstance(value, int):
        return fmt_int(value)
    return value


def data_table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], class_name: str = "") -> html.Table:
    """An accessible table: a caption, column headers with ``scope``, the first cell of a row as its header."""
    body = [
        html.Tr([html.Th(_cell(row[0]) if not isinstance(row[0], html.Span) else row[0], scope="row"),
                 *[html.Td(c if isinstance(c, html.Span | html.Div) else _cell(c)) for c in row[1:]]])
        for row in rows
    ]
    return html.Table(
        [html.Caption(caption), html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])), html.Tbody(body)],
        className=f"data-table {class_name}".strip(),
    )


def table_alternative(
    caption: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], summary: str | None = None
) -> html.Details:
    """A chart's data as a collapsible table (screen readers, exact values, copy-paste)."""
    return html.Details(
        [html.Summary(summary or t("show_table")), data_table(caption, headers, rows)], className="table-alternative"
    )


# The parts of a table alternative filled on demand, by the id of its ``<details>``.
def lazy_ids(name: str) -> tuple[str, str, str]:
    """(summary, body, data) ids of the lazy table alternative ``name`` (the id of its ``<details>``)."""
    return f"{name}-summary", f"{name}-body", f"{name}-data"


def lazy_table_alternative(name: str) -> html.Div:
    """A table alternative whose table is built when the reader first opens it, then kept up to date.

    A native ``<details>`` (keyboard: Tab to its summary, Enter) with an empty body, and a store holding the
    table's formatted cells (:func:`table_payload`, written by the page's refresh). Opening it (the click that
    toggles a ``<details>``, mouse or keyboard) asks :func:`lazy_table_body` for the table; while it is open the
    table follows the data. Its caption, headers and ``scope`` attributes are those of :func:`data_table`.
    """
    summary, body, data = lazy_ids(name)
    return html.Div([
        html.Details([html.Summary(t("show_table"), id=summary), html.Div(id=body)], id=name,
                     className="table-alternative"),
        dcc.Store(id=data),
    ])


def table_payload(
    caption: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]], summary: str | None = None
) -> dict[str, Any]:
    """What a lazy table alternative shows, cells already formatted in the request's language (JSON-safe)."""
    return {"summary": summary or t("show_table"), "caption": caption, "headers": list(headers),
            "rows": [[_cell(c) for c in row] for row in rows]}


def lazy_table_body(payload: Any) -> html.Table:
    """The table of a :func:`table_payload` (sent back by the browser: anything malformed is refused)."""
    if not isinstance(payload, dict):
        raise ValueError("no table payload")
    caption, headers, rows = payload.get("caption"), payload.get("headers"), payload.get("rows")
    if not (isinstance(caption, str) and isinstance(headers, list) and isinstance(rows, list)
            and all(isinstance(h, str) for h in headers)
            and all(isinstance(r, list) and r and all(isinstance(c, str) for c in r) for r in rows)):
        raise ValueError("malformed table payload")
    return data_table(caption, headers, rows)


def severity_badge(severity: str) -> html.Span:
    symbol, colour = SEVERITY_STYLES.get(severity, ("•", "#8C8C8C"))
    return html.Span([html.Span(symbol, **aria(hidden="true")), " ", t(f"severity_{severity}")],
                     className=f"badge severity-{severity}", style={"backgroundColor": colour})


def _detail_number(details: dict[str, Any], key: str) -> str:
    value = details.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return t("not_available")
    return fmt_int(int(value)) if isinstance(value, int) or float(value).is_integer() else fmt_decimal(float(value), 1)


def comment_thread(comments: Sequence[AlertComment], title_id: str) -> html.Section:
    """An alert's comments, oldest first: who, when (local time, machine-readable in ``<time>``), what."""
    heading_id = f"{title_id}-comments"
    return html.Section([
        html.H4(t("alert_comments_heading", n=len(comments)), id=heading_id, className="alert-comments-title"),
        html.Ol([
            html.Li([
                html.P([html.Strong(c.author), " · ",
                        html.Time(fmt_datetime(c.at), dateTime=c.at.isoformat())],
                       className="alert-comment-meta", title=t("alert_comment_by", who=c.author,
                                                               when=fmt_datetime(c.at))),
                html.P(c.body, className="alert-comment-body"),
            ], className="alert-comment")
            for c in comments
        ], className="alert-comment-list"),
    ], className="alert-comments", **aria(labelledby=heading_id))


def alert_card(alert: AlertListing, names: dict[str, str],
               comments: Sequence[AlertComment] = ()) -> html.Article:
    """One alert: severity, scope, observed vs expected vs threshold, why it fired, its acknowledgement, its
    comments."""
    title_id = f"alert-{alert.alert_id}"
    since = alert.firing_since or alert.pending_since
    acked = (t("alert_acked", who=alert.acked_by, when=fmt_datetime(alert.acked_at),
               comment=(t("ack_comment_quote", comment=alert.ack_comment) if alert.ack_comment else ""))
             if alert.acked_by and alert.acked_at else t("alert_not_acked"))
    return html.Article(
        [
            html.H3([severity_badge(alert.severity), " ", names.get(alert.scope_key, alert.scope_key)], id=title_id),
            html.P(t("alert_meta", rule=alert.rule_id, status=t(f"alert_status_{alert.status}"),
                     since=fmt_datetime(since)), className="alert-meta"),
            html.Dl([
                html.Dt(t("alert_observed")), html.Dd(_detail_number(alert.details, "observed")),
                html.Dt(t("alert_expected")), html.Dd(_detail_number(alert.details, "expected")),
                html.Dt(t("alert_threshold")),
                html.Dd(_detail_number(alert.details, "upper_bound" if "upper_bound" in alert.details
                                       else "threshold")),
            ], className="alert-figures"),
            html.P([html.Strong(t("alert_why") + " "), alert.summary or t("not_available")], className="alert-why"),
            html.P(acked, className="alert-ack"),
            *([comment_thread(comments, title_id)] if comments else []),
        ],
        className=f"alert-card alert-{alert.status}", **aria(labelledby=title_id),
    )


def alert_list(alerts: Sequence[AlertListing], names: dict[str, str], empty_key: str,
               comments: dict[str, list[AlertComment]] | None = None) -> list[html.Article] | html.P:
    if not alerts:
        return html.P(t(empty_key), className="tile-muted")
    return [alert_card(a, names, (comments or {}).get(str(a.alert_id), ())) for a in alerts]


def alert_options(alerts: Sequence[AlertListing], names: dict[str, str]) -> list[dict[str, str]]:
    """Options of the picker of the alert to act on (open alerts first)."""
    return [{"label": f"{t(f'severity_{a.severity}')} — {names.get(a.scope_key, a.scope_key)} ({a.rule_id})",
             "value": str(a.alert_id)} for a in alerts]


def ledger_table(notifications: Sequence[Notification], subscribers: Sequence[Subscriber]) -> html.Table | html.P:
    """The delivery ledger per subscriber: what was sent, when, how many attempts, the last error."""
    if not notifications:
        return html.P(t("ledger_empty"), className="tile-muted")
    names = {s.subscriber_id: s.name for s in subscribers}
    ordered = sorted(notifications, key=lambda n: (names.get(n.subscriber_id, n.subscriber_id), n.created_at))
    rows: list[list[Cell]] = [
        [names.get(n.subscriber_id, n.subscriber_id), n.event_kind, t(f"delivery_{n.status}"), n.attempts,
         fmt_datetime(n.created_at), fmt_datetime(n.delivered_at) if n.delivered_at else None, n.last_error]
        for n in ordered
    ]
    return data_table(t("ledger_caption"), [t(k) for k in (
        "ledger_subscriber", "ledger_event", "ledger_status", "ledger_attempts", "ledger_created",
        "ledger_delivered", "ledger_error")], rows, "ledger-table")


def scores_table(scores: Sequence[ScoreRow]) -> html.Table | html.P:
    """Backtest scores per series and horizon, with a plain verdict on how far to trust the projection."""
    if not scores:
        return html.P(t("scores_empty"), className="tile-muted")
    rows: list[list[Any]] = []
    for s in scores:
        verdict = trust_verdict(s)
        rows.append([
            f"{t(f'metric_{s.metric}') if s.metric in ('admissions', 'ed_visits', 'bed_occupancy') else s.metric}"
            f" — {s.scope_id}",
            t("horizon_days", n=s.horizon), s.origins,
            None if s.relative_wis is None else fmt_decimal(s.relative_wis, 2),
            fmt_percent(s.coverage_50), fmt_percent(s.coverage_90),
            html.Span(verdict, className="verdict"),
        ])
    return data_table(t("scores_caption"), [t(k) for k in (
        "scores_series", "scores_horizon", "scores_origins", "scores_relative_wis", "scores_coverage_50",
        "scores_coverage_90", "scores_verdict")], rows, "scores-table")


def trust_verdict(score: ScoreRow) -> str:
    """'✓ fiable', '▲ à prendre avec prudence' or '✖ peu fiable', from relative WIS and 90 % coverage."""
    if score.relative_wis is None:
        return t("trust_unknown")
    if score.relative_wis >= RELATIVE_WIS_POOR:
        return "✖ " + t("trust_poor")
    if score.coverage_90 < COVERAGE_90_LOW:
        return "▲ " + t("trust_caution")
    return "✓ " + t("trust_good")


def topic_table(topics: Sequence[TopicHealth], wall_now: datetime) -> html.Table | html.P:
    """Consumer lag and dead letters per consumer group and topic, with a text state per row."""
    if not topics:
        return html.P(t("health_no_topics"), className="tile-muted")
    rows: list[list[Cell]] = []
    for row in topics:
        stale = row.oldest_lag_at is None or wall_now - row.oldest_lag_at > LAG_STALE_AFTER
        if row.dead_lettered > 0 or (row.lag or 0) > LAG_HIGH or stale:
            state = "⚠ " + (t("health_stale_lag") if stale else t("health_attention"))
        else:
            state = "✓ " + t("health_ok")
        rows.append([topic_name(row.topic), row.consumer_group, row.lag, row.dead_lettered, row.events_in,
                     fmt_datetime(row.last_batch_at) if row.last_batch_at else None, state])
    return data_table(t("health_topics_caption"), [t(k) for k in (
        "source_col_topic", "health_group", "health_lag", "health_dead", "health_events", "health_last_batch",
        "source_col_state")], rows, "topics-table")


def freshness_table(freshness: Sequence[SourceFreshness], reference: datetime | None,
                    names: dict[str, str]) -> html.Table | html.P:
    """Freshness per source: last event, how long ago against the newest data, and a text state."""
    if not freshness or reference is None:
        return html.P(t("no_data_yet"), className="tile-muted")
    rows: list[list[Cell]] = [
        [names.get(s.source_id, s.source_id), topic_name(s.topic), fmt_datetime(s.last_event_at),
         fmt_duration(reference - s.last_event_at),
         ("⚠ " + t("source_late")) if source_is_late(s, reference) else ("✓ " + t("source_ok"))]
        for s in sorted(freshness, key=lambda s: (not source_is_late(s, reference), s.topic, s.source_id))
    ]
    return data_table(t("health_sources_caption"), [t(k) for k in (
        "source_col_source", "source_col_topic", "source_col_last", "health_age", "source_col_state")], rows,
        "sources-table")


def permission_notice() -> html.P:
    """Said to a user whose role may not act on alerts (instead of showing buttons that would be refused)."""
    return html.P(["🔒 ", t("alerts_no_permission")], className="notice", role="status")
