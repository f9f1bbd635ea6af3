"""The alerts service's HTTP side: the CAP 1.2 feed (Atom) of current alerts, each alert's CAP document, health.

Boundary: reads the alert tables through ``synopse.db.alerts`` and renders with ``alerts.payloads``. Platform
(pipeline) alerts are not published; counts of people are always small-count suppressed here, because the
feed is meant for civil-protection partners (put it behind the platform's authenticating proxy).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from aiohttp import web
from psycopg_pool import ConnectionPool

from alerts.engine import load_rules
from alerts.payloads import AlertView, CapMessage, atom_feed, cap_document, restrict_for_partner
from synopse.config import AlertSettings
from synopse.db import alerts as db
from synopse.domain.alert_records import AlertListing, AlertRow
from synopse.domain.alerts import Rule, ScopeLevel, Severity, split_scope_key

CAP_CONTENT_TYPE = "application/cap+xml"
ATOM_CONTENT_TYPE = "application/atom+xml"
# A resolved alert stays in the feed for a day with its all-clear message, so a reader polling a few times a
# day still sees it end.
RESOLVED_KEPT = timedelta(days=1)


def _view(row: AlertListing | AlertRow, rule: Rule | None, names: dict[str, str], threshold: int) -> AlertView:
    level, scope_id = split_scope_key(row.scope_key)
    scope_name = "Nantes Métropole" if level is ScopeLevel.METROPOLIS else names.get(row.scope_key, scope_id)
    view = AlertView(
        alert_id=str(row.alert_id), rule_id=row.rule_id, rule_name=rule.name if rule else row.rule_id,
        scope_key=row.scope_key, scope_name=scope_name, indicator=row.indicator, severity=Severity(row.severity),
        status="resolved" if row.status == "resolved" else "firing",
        event="resolved" if row.status == "resolved" else "firing",
        starts_at=row.firing_since or row.pending_since, ends_at=row.resolved_at, summary=row.summary,
        instruction=rule.instruction if rule else "", details=row.details,
    )
    return restrict_for_partner(view, threshold)


def _message(events: list[tuple[int, str, datetime, str]], alert_id: str, sender: str) -> CapMessage:
    first_id, _, first_at, _ = events[0]
    last_id, last_kind, last_at, _ = events[-1]
    identifier = f"synopse-{alert_id}-{last_id}"
    if len(events) == 1 and last_kind == "firing":
        return CapMessage(identifier, last_at, "Alert", None)
    first_sent = first_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    references = f"{sender},synopse-{alert_id}-{first_id},{first_sent}"
    return CapMessage(identifier, last_at, "Update", references)


class FeedReader:
    """What the HTTP handlers read, in worker threads (short queries on the service's pool)."""

    def __init__(
        self, settings: AlertSettings, pool: ConnectionPool, base_url: str, *, small_count_threshold: int
    ) -> None:
        self.settings = settings
        self.small_count_threshold = small_count_threshold
        self.pool = pool
        self.base_url = base_url.rstrip("/")

    def entries(self) -> list[tuple[AlertView, CapMessage, str]]:
        now = datetime.now(UTC)
        with self.pool.connection() as conn:
            rules = {rule.id: rule for rule in load_rules(conn)}
            names = db.scope_names(conn)
            rows = db.list_alerts(conn, statuses=["firing", "resolved"], limit=500)
            out = []
            for row in rows:
                if row.scope_key.startswith("platform:"):
                    continue
                if row.status == "resolved" and (row.resolved_at is None or now - row.resolved_at > RESOLVED_KEPT):
                    continue
                events = db.alert_events(conn, str(row.alert_id))
                if not events:
                    continue
                message = _message(events, str(row.alert_id), self.settings.sender)
                view = _view(row, rules.get(row.rule_id), names, self.small_count_threshold)
                out.append((view, message, f"{self.base_url}/cap/alerts/{row.alert_id}.xml"))
        return out

    def document(self, alert_id: UUID) -> bytes | None:
        with self.pool.connection() as conn:
            listing = db.get_alert(conn, alert_id)
            if listing is None or listing.scope_key.startswith("platform:"):
                return None
            events = db.alert_events(conn, str(alert_id))
            if not events:
                return None
            rules = {rule.id: rule for rule in load_rules(conn)}
            view = _view(listing, rules.get(listing.rule_id), db.scope_names(conn), self.small_count_threshold)
        message = _message(events, str(alert_id), self.settings.sender)
        web_url = f"{self.base_url}/cap/alerts/{alert_id}.xml"
        return cap_document(view, message, sender=self.settings.sender, web=web_url)


def build_app(reader: FeedReader, health: dict[str, Any]) -> web.Application:
    async def feed(request: web.Request) -> web.Response:
        entries = await asyncio.to_thread(reader.entries)
        body = atom_feed(entries, feed_url=f"{reader.base_url}/cap/feed.atom", updated=datetime.now(UTC))
        return web.Response(body=body, content_type=ATOM_CONTENT_TYPE, charset="utf-8")

    async def document(request: web.Request) -> web.Response:
        try:
            alert_id = UUID(request.match_info["alert_id"])
        except ValueError as exc:
            raise web.HTTPNotFound() from exc
        body = await asyncio.to_thread(reader.document, alert_id)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type=CAP_CONTENT_TYPE, charset="utf-8")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response(health)

    app = web.Application()
    app.router.add_get("/cap/feed.atom", feed)
    app.router.add_get("/cap/alerts/{alert_id}.xml", document)
    app.router.add_get("/health", healthz)
    return app
