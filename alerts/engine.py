"""The evaluator: one cycle reads the rules' series, advances every alert's lifecycle, and queues notifications.

Boundary: everything a cycle writes (alert states, state-change events, outbox rows) goes through the caller's
transaction, so a state change and the notifications announcing it commit together or not at all; delivery
is the notifier's job (``alerts.delivery``). The lifecycle itself is the pure ``synopse.domain.alerts.step``.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import Connection

from alerts.observe import PipelineMemory, Snapshot, observe, tables_read
from alerts.payloads import AlertView, alertmanager_webhook, email_message, kafka_event, restrict_for_partner
from synopse.db import alert_delivery as outbox
from synopse.db import alerts as db
from synopse.domain.alert_records import AlertRow, Share, Silence, Subscriber
from synopse.domain.alerts import (
    AlertState,
    EventKind,
    Rule,
    RuleError,
    ScopeLevel,
    Severity,
    Status,
    parse_rule,
    split_scope_key,
    step,
)

logger = logging.getLogger(__name__)


@dataclass
class CycleReport:
    rules: int = 0
    observations: int = 0
    events: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    notifications: int = 0


def load_rules(conn: Connection[Any]) -> list[Rule]:
    """The enabled rules of the store; a stored rule that no longer validates is skipped and logged."""
    rules = []
    for stored in db.load_rules(conn, enabled_only=True):
        try:
            rules.append(parse_rule(stored.definition))
        except RuleError as exc:
            logger.error("stored rule skipped: %s", exc, extra={"rule_id": stored.rule_id})
    return [rule for rule in rules if rule.enabled]


def _state(row: AlertRow) -> AlertState:
    return AlertState(row.rule_id, row.scope_key, str(row.alert_id), Status(row.status), Severity(row.severity),
                      row.pending_since, row.firing_since, row.clear_since, row.resolved_at, row.value, row.details)


# The shareable indicator (access model, synopse.domain.access) behind each alert indicator of the whole
# metropolis or a station: a partner sees such an alert when that indicator is shared with it.
_SHARED_INDICATOR = {
    "occupancy_rate": ("beds",), "ed_visits_hourly": ("ed_visits",), "ed_visits_daily": ("ed_visits",),
    "pm10_daily_mean": ("pm10",), "heat_wave": ("temperature", "temperature_daily_min", "temperature_daily_max"),
}


def shared_with(shares: Iterable[Share], scope_key: str, indicator: str) -> bool:
    """True when a partner's shares cover this alert, as the dashboard's access model reads them: a facility's
    or a commune's alerts when that facility or commune is shared; metropolis-wide and station alerts when their
    indicator is shared. Platform (pipeline) alerts never are."""
    level, scope_id = split_scope_key(scope_key)
    if level is ScopeLevel.PLATFORM:
        return False
    if level in (ScopeLevel.FACILITY, ScopeLevel.COMMUNE):
        return any(share.kind == level.value and share.ref == scope_id for share in shares)
    wanted = _SHARED_INDICATOR.get(indicator, ())
    return any(share.kind == "indicator" and share.ref in wanted for share in shares)


def subscriber_matches(sub: Subscriber, rule: Rule, severity: Severity, scope_key: str,
                       shares: dict[int, list[Share]]) -> bool:
    if Severity(sub.min_severity).rank > severity.rank:
        return False
    if sub.rule_ids is not None and rule.id not in sub.rule_ids:
        return False
    if sub.organisation_id is not None:
        return shared_with(shares.get(sub.organisation_id, []), scope_key, rule.indicator_name)
    return True


def summarise(rule: Rule, state: AlertState, scope_name: str) -> str:
    """One line a person reads first: what, where, how much."""
    d, v = state.details, state.value
    indicator = rule.indicator_name
    if v is None:
        what = "no value"
    elif indicator == "occupancy_rate":
        what = f"occupancy {v:.0%} ({d.get('beds_occupied')}/{d.get('beds_total')} beds)"
    elif indicator == "ed_visits_hourly":
        what = f"{v:.0f} ED visits in an hour"
    elif indicator == "pm10_daily_mean":
        what = f"PM10 daily mean {v:.0f} µg/m³ ({d.get('day')})"
    elif indicator == "heat_wave":
        what = f"IBMn {d.get('ibmn')} °C / IBMx {d.get('ibmx')} °C over {len(d.get('days', []))} days"
    elif indicator == "ed_visits_daily":
        what = (f"{d.get('algorithm')}: {v:.0f} ED visits vs {d.get('expected', 0):.1f} expected "
                f"(upper bound {d.get('upper_bound', 0):.1f})")
    elif indicator == "freshness":
        what = f"feed late: silent for {v / 60:.0f} min"
    elif indicator == "forecast_exceed_probability":
        what = f"{v:.0%} probability of exceeding capacity within {d.get('within_days')} days"
    elif indicator == "forecast_days_to_saturation":
        what = f"saturation expected on {d.get('saturation_date')}"
    else:
        what = f"{indicator} {v:g}"
    prefix = "resolved: " if state.status is Status.RESOLVED else ""
    return f"{prefix}{rule.name} — {scope_name}: {what}"


class Evaluator:
    """Advances every alert one cycle at a time; keeps only the dead-letter rate's memory between cycles."""

    def __init__(self, *, external_url: str, small_count_threshold: int = 10,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.external_url = external_url.rstrip("/")
        self.small_count_threshold = small_count_threshold
        self.new_id = new_id
        self.memory = PipelineMemory()
        self.lasting: dict[tuple[Any, ...], tuple[float, Any]] = {}  # series cached across cycles (observe.py)

    def evaluate(self, conn: Connection[Any], rules: list[Rule], *, now: datetime | None = None,
                 tables: set[str] | None = None) -> CycleReport:
        """One cycle: every rule (``tables`` None), or only the rules reading one of ``tables`` (live path)."""
        now = now or db.database_now(conn)
        report = CycleReport()
        selected = [rule for rule in rules if tables is None or tables & tables_read(rule)]
        report.rules = len(selected)
        open_rows = db.open_alerts(conn)
        by_rule: dict[str, dict[str, AlertRow]] = defaultdict(dict)
        for row in open_rows:
            by_rule[row.rule_id][row.scope_key] = row
        context = _Context(self, conn, now)
        snap = Snapshot(conn, now, self.lasting)
        writes = context.writes
        for rule in selected:
            rows = by_rule.get(rule.id, {})
            current = {key: Severity(row.severity) for key, row in rows.items()}
            for seen in observe(rule, snap, current, self.memory):
                report.observations += 1
                found = rows.get(seen.key)
                state = _state(found) if found is not None else None
                new, event = step(state, seen, rule_id=rule.id, now=now, pending_for=rule.pending_for,
                                  keep_firing_for=rule.keep_firing_for, new_alert_id=self.new_id())
                if new is None:
                    if state is not None:
                        writes.deletes.append(state.alert_id)
                    continue
                if new == state:
                    continue
                writes.alerts.append((new, rule.indicator_name, summarise(rule, new, context.name(new.key))))
                if event is not None:
                    report.events[event.value] += 1
                    report.notifications += context.announce(rule, new, event, found.notified if found else False)
        if tables is None:
            report.notifications += self._settle_orphans_and_silences(context, rules, open_rows, report)
        writes.flush(conn, now)
        return report

    def _settle_orphans_and_silences(self, context: _Context, rules: list[Rule], open_rows: list[AlertRow],
                                     report: CycleReport) -> int:
        """Resolve alerts whose rule was removed or disabled; announce firing alerts a silence had muted."""
        by_id = {rule.id: rule for rule in rules}
        sent = 0
        for row in open_rows:
            rule = by_id.get(row.rule_id)
            if rule is None:
                if row.status == "pending":
                    context.writes.deletes.append(str(row.alert_id))
                    continue
                stored = db.load_rules(context.conn)
                definition = next((s.definition for s in stored if s.rule_id == row.rule_id), None)
                state = _state(row)
                resolved = AlertState(**{**state.__dict__, "status": Status.RESOLVED, "resolved_at": context.now,
                                         "details": {**state.details, "note": "rule removed or disabled"}})
                context.writes.alerts.append((resolved, row.indicator, f"resolved: rule removed or disabled — "
                                              f"{row.summary}"))
                if definition is not None and row.notified:
                    try:
                        sent += context.announce(parse_rule(definition), resolved, EventKind.RESOLVED, True)
                    except RuleError:
                        logger.warning("cannot announce the end of an alert of an invalid rule",
                                       extra={"rule_id": row.rule_id})
                report.events["resolved"] += 1
            elif row.status == "firing" and not row.notified and not context.silenced(rule, row.scope_key):
                sent += context.announce(rule, _state(row), EventKind.FIRING, False)
                report.events["firing"] += 1
        return sent


# Event ids are reserved from the sequence this many at a time (one round trip per block).
_EVENT_ID_BLOCK = 256


@dataclass
class _Writes:
    """What a cycle writes, flushed at its end in a few pipelined batches (in foreign-key order)."""

    alerts: list[tuple[AlertState, str, str]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    events: list[tuple[int, str, str, datetime, str, float | None, bool]] = field(default_factory=list)
    notifications: list[tuple[str, str, str, int, str, dict[str, Any]]] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    _ids: list[int] = field(default_factory=list)

    def event_id(self, conn: Connection[Any]) -> int:
        if not self._ids:
            self._ids = db.reserve_event_ids(conn, _EVENT_ID_BLOCK)[::-1]
        return self._ids.pop()

    def flush(self, conn: Connection[Any], at: datetime) -> None:
        with conn.pipeline():
            db.delete_alerts(conn, self.deletes)
            db.save_alerts(conn, self.alerts, at)
            db.insert_events(conn, self.events)
            outbox.enqueue_many(conn, self.notifications)
            db.set_notified_many(conn, self.notified)


class _Context:
    """What one cycle loads lazily for the announcements: silences, subscribers, shares, scope names."""

    def __init__(self, evaluator: Evaluator, conn: Connection[Any], now: datetime) -> None:
        self.evaluator = evaluator
        self.conn = conn
        self.now = now
        self._silences: list[Silence] | None = None
        self._subscribers: list[Subscriber] | None = None
        self._shares: dict[int, list[Share]] | None = None
        self._names: dict[str, str] | None = None
        self.writes = _Writes()

    def name(self, key: str) -> str:
        if self._names is None:
            self._names = db.scope_names(self.conn)
        level, scope_id = split_scope_key(key)
        if level is ScopeLevel.METROPOLIS:
            return "Nantes Métropole"
        if level is ScopeLevel.PLATFORM:
            return f"Synopse pipeline ({scope_id})"
        return self._names.get(key, scope_id)

    def silenced(self, rule: Rule, key: str) -> bool:
        if self._silences is None:
            self._silences = db.active_silences(self.conn, self.now)
        return any(s.matches(rule.id, key, rule.indicator_name, self.now) for s in self._silences)

    def subscribers(self) -> tuple[list[Subscriber], dict[int, list[Share]]]:
        if self._subscribers is None or self._shares is None:
            self._subscribers = outbox.list_subscribers(self.conn)
            self._shares = defaultdict(list)
            for share in outbox.list_shares(self.conn):
                self._shares[share.organisation_id].append(share)
        return self._subscribers, self._shares

    def announce(self, rule: Rule, state: AlertState, event: EventKind, notified: bool) -> int:
        """Record the state change and queue one notification per subscriber entitled to it."""
        silenced = self.silenced(rule, state.key) and event is not EventKind.RESOLVED
        event_id = self.writes.event_id(self.conn)
        self.writes.events.append((event_id, state.alert_id, event.value, self.now, state.severity.value,
                                   state.value, silenced))
        if silenced or (event is EventKind.RESOLVED and not notified):
            return 0
        subscribers, shares = self.subscribers()
        already = outbox.subscribers_notified(self.conn, state.alert_id) if notified else set()
        targets: list[tuple[Subscriber, EventKind]] = []
        for sub in subscribers:
            if event is EventKind.RESOLVED:
                if sub.subscriber_id in already:
                    targets.append((sub, event))
            elif sub.subscriber_id in already:
                targets.append((sub, event))
            elif subscriber_matches(sub, rule, state.severity, state.key, shares):
                targets.append((sub, EventKind.FIRING))
        view = self._view(rule, state, event)
        queued = 0
        for sub, kind in targets:
            notification_id = self.evaluator.new_id()
            audience = view if kind is event else AlertView(**{**view.__dict__, "event": kind.value})
            if sub.is_partner:
                audience = restrict_for_partner(audience, self.evaluator.small_count_threshold)
            payload = self._payload(sub, audience, notification_id)
            self.writes.notifications.append((notification_id, sub.subscriber_id, state.alert_id, event_id,
                                              kind.value, payload))
            queued += 1
        if event is not EventKind.RESOLVED and not notified:
            self.writes.notified.append(state.alert_id)
        logger.info("alert %s", event.value, extra={"rule_id": rule.id, "scope_key": state.key,
                                                    "severity": state.severity.value, "notifications": queued})
        return queued

    def _view(self, rule: Rule, state: AlertState, event: EventKind) -> AlertView:
        name = self.name(state.key)
        return AlertView(
            alert_id=state.alert_id, rule_id=rule.id, rule_name=rule.name, scope_key=state.key, scope_name=name,
            indicator=rule.indicator_name, severity=state.severity,
            status="resolved" if event is EventKind.RESOLVED else "firing", event=event.value,
            starts_at=state.firing_since or state.pending_since, ends_at=state.resolved_at,
            summary=summarise(rule, state, name), instruction=rule.instruction, details=state.details,
            labels=dict(rule.labels),
        )

    def _payload(self, sub: Subscriber, view: AlertView, notification_id: str) -> dict[str, Any]:
        url = self.evaluator.external_url
        if sub.kind == "webhook":
            return alertmanager_webhook(view, receiver=sub.name, external_url=url, notification_id=notification_id)
        if sub.kind == "email":
            return email_message(view, notification_id=notification_id, external_url=url)
        return kafka_event(view, notification_id=notification_id)
