"""What subscribers receive: Alertmanager webhook v4 JSON, e-mail text, Kafka events, CAP 1.2 and its Atom feed.

Boundary: pure builders from an :class:`AlertView` (the alert as one subscriber may see it, counts already
suppressed for partners); no I/O. The JSON payload is built once, when the notification is queued, and stored
in the outbox, so that every retry sends the same bytes under the same signature and idempotency key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from synopse.domain.alerts import Severity, split_scope_key
from synopse.domain.disclosure import suppress_small_counts

# Alertmanager's "no end time yet" value for a firing alert.
AM_ZERO_TIME = "0001-01-01T00:00:00Z"
CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
SIGNATURE_HEADER = "X-Synopse-Signature-256"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Synopse-Event"
# Details that are counts of people (ED visits): suppressed for partners when small; with them what derives
# from them (the excess over the expected value would give the count back).
COUNT_DETAILS = ("observed", "expected", "upper_bound")
_COUNT_INDICATORS = frozenset({"ed_visits_hourly", "ed_visits_daily"})


def iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fingerprint(rule_id: str, scope_key: str) -> str:
    """Stable id of the alert *instance* (rule and scope) across episodes, as Alertmanager's fingerprint."""
    return hashlib.sha256(f"{rule_id}\x00{scope_key}".encode()).hexdigest()[:16]


def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AlertView:
    """One alert at one state change, as one audience may see it."""

    alert_id: str
    rule_id: str
    rule_name: str
    scope_key: str
    scope_name: str
    indicator: str
    severity: Severity
    status: str  # firing or resolved (Alertmanager's two statuses)
    event: str  # firing, changed, resolved
    starts_at: datetime
    ends_at: datetime | None
    summary: str
    instruction: str
    details: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    suppressed: tuple[str, ...] = ()


def restrict_for_partner(view: AlertView, threshold: int) -> AlertView:
    """Apply small-count suppression to the count details of a view (partners' copy)."""
    if view.indicator not in _COUNT_INDICATORS:
        return view
    counts = {key: view.details.get(key) for key in COUNT_DETAILS if isinstance(view.details.get(key), int | float)}
    result = suppress_small_counts(counts, threshold, derived={"observed": ("expected", "upper_bound")})
    if not result.any:
        return view
    details = {**view.details, **{key: None for key in result.suppressed}}
    summary = f"{view.rule_name} — {view.scope_name} (small counts suppressed)"
    return AlertView(**{**view.__dict__, "details": details, "summary": summary,
                        "suppressed": tuple(sorted(result.suppressed))})


def _labels(view: AlertView) -> dict[str, str]:
    level, scope_id = split_scope_key(view.scope_key)
    return {
        **view.labels,
        "alertname": view.rule_id,
        "rule_id": view.rule_id,
        "severity": view.severity.value,
        "indicator": view.indicator,
        "scope_level": level.value,
        "scope_id": scope_id,
    }


def _annotations(view: AlertView) -> dict[str, str]:
    out = {
        "summary": view.summary,
        "severity_label": view.severity.label,
        "severity_colour": view.severity.colour,
        "scope_name": view.scope_name,
    }
    if view.instruction:
        out["instruction"] = view.instruction
    for key, value in view.details.items():
        if value is not None and not isinstance(value, dict | list):
            out[key] = str(value)
    if view.suppressed:
        out["suppressed"] = ",".join(view.suppressed)
    return out


def alertmanager_webhook(
    view: AlertView, *, receiver: str, external_url: str, notification_id: str
) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) body with one alert; Synopse extras under ``synopse``."""
    labels = _labels(view)
    alert = {
        "status": view.status,
        "labels": labels,
        "annotations": _annotations(view),
        "startsAt": iso(view.starts_at),
        "endsAt": iso(view.ends_at) if view.ends_at else AM_ZERO_TIME,
        "generatorURL": f"{external_url}/alerts/{view.alert_id}",
        "fingerprint": fingerprint(view.rule_id, view.scope_key),
    }
    group_labels = {"alertname": view.rule_id}
    return {
        "version": "4",
        "groupKey": "{}:" + "{alertname=\"" + view.rule_id + "\"}",
        "truncatedAlerts": 0,
        "status": view.status,
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": external_url,
        "alerts": [alert],
        "synopse": {
            "notification_id": notification_id,
            "alert_id": view.alert_id,
            "event": view.event,
            "details": view.details,
            "suppressed": list(view.suppressed),
        },
    }


def kafka_event(view: AlertView, *, notification_id: str) -> dict[str, Any]:
    """The message of the alerts topic: one state change."""
    return {
        "notification_id": notification_id,
        "alert_id": view.alert_id,
        "event": view.event,
        "status": view.status,
        "rule_id": view.rule_id,
        "scope_key": view.scope_key,
        "scope_name": view.scope_name,
        "indicator": view.indicator,
        "severity": view.severity.value,
        "severity_label": view.severity.label,
        "starts_at": iso(view.starts_at),
        "ends_at": iso(view.ends_at),
        "summary": view.summary,
        "details": view.details,
        "labels": _labels(view),
        "suppressed": list(view.suppressed),
    }


def email_message(view: AlertView, *, notification_id: str, external_url: str) -> dict[str, Any]:
    """Subject and plain-text body of the e-mail (stored in the outbox; sent as is)."""
    state = {"firing": "ALERTE", "changed": "ALERTE (niveau modifié)", "resolved": "FIN D'ALERTE"}[view.event]
    lines = [
        f"{state} — {view.severity.label} ({view.severity.value})",
        "",
        view.summary,
        "",
        f"Règle : {view.rule_name} ({view.rule_id})",
        f"Périmètre : {view.scope_name} ({view.scope_key})",
        f"Début : {iso(view.starts_at)}",
    ]
    if view.ends_at:
        lines.append(f"Fin : {iso(view.ends_at)}")
    for key, value in view.details.items():
        if not isinstance(value, dict | list):
            shown = "(masqué : petit effectif)" if value is None and key in view.suppressed else value
            lines.append(f"{key} : {shown}")
    if view.instruction:
        lines += ["", view.instruction]
    lines += ["", f"{external_url}/alerts/{view.alert_id}", f"Réf. notification : {notification_id}"]
    subject = f"[Synopse] {state} {view.severity.label} : {view.rule_name} — {view.scope_name}"
    return {"subject": subject, "body": "\n".join(lines), "message_id": f"<{notification_id}@synopse>"}


# ------------------------------------------------------------------------------------------------- CAP 1.2


@dataclass(frozen=True)
class CapMessage:
    """One CAP message of an alert: its identifier, type and the earlier message it updates."""

    identifier: str
    sent: datetime
    msg_type: str  # Alert, Update
    references: str | None  # "sender,identifier,sent" of the first message, for updates


_CATEGORY = {"pm10_daily_mean": "Env", "heat_wave": "Met"}
_URGENCY = {"firing": "Immediate", "changed": "Immediate", "resolved": "Past"}


def cap_document(view: AlertView, message: CapMessage, *, sender: str, web: str) -> bytes:
    """A CAP 1.2 <alert> for one state of one alert (status Actual, scope Public)."""
    ET.register_namespace("", CAP_NAMESPACE)

    def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{CAP_NAMESPACE}}}{tag}")
        element.text = text
        return element

    root = ET.Element(f"{{{CAP_NAMESPACE}}}alert")
    sub(root, "identifier", message.identifier)
    sub(root, "sender", sender)
    sub(root, "sent", message.sent.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    sub(root, "status", "Actual")
    sub(root, "msgType", message.msg_type)
    sub(root, "scope", "Public")
    if message.references:
        sub(root, "references", message.references)
    info = ET.SubElement(root, f"{{{CAP_NAMESPACE}}}info")
    sub(info, "language", "fr-FR")
    sub(info, "category", _CATEGORY.get(view.indicator, "Health"))
    sub(info, "event", view.rule_name)
    if view.event == "resolved":
        sub(info, "responseType", "AllClear")
    sub(info, "urgency", _URGENCY[view.event])
    sub(info, "severity", view.severity.cap_severity)
    sub(info, "certainty", "Likely" if view.indicator.startswith("forecast") else "Observed")
    sub(info, "effective", view.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    sub(info, "senderName", "Synopse — Nantes Métropole")
    sub(info, "headline", view.summary[:160])
    sub(info, "description", view.summary + (" — petits effectifs masqués" if view.suppressed else ""))
    if view.instruction:
        sub(info, "instruction", view.instruction)
    sub(info, "web", web)
    shown = [(k, str(v)) for k, v in view.details.items() if v is not None and not isinstance(v, dict | list)]
    for name, value in (("severity_label", view.severity.label), ("severity_colour", view.severity.colour), *shown):
        parameter = ET.SubElement(info, f"{{{CAP_NAMESPACE}}}parameter")
        sub(parameter, "valueName", name)
        sub(parameter, "value", value)
    area = ET.SubElement(info, f"{{{CAP_NAMESPACE}}}area")
    sub(area, "areaDesc", view.scope_name)
    level, scope_id = split_scope_key(view.scope_key)
    if level.value == "commune":
        geocode = ET.SubElement(area, f"{{{CAP_NAMESPACE}}}geocode")
        sub(geocode, "valueName", "INSEE")
        sub(geocode, "value", scope_id)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


def atom_feed(entries: list[tuple[AlertView, CapMessage, str]], *, feed_url: str, updated: datetime) -> bytes:
    """An Atom feed of current alerts; each entry links to its CAP document (the usual CAP feed form)."""
    ET.register_namespace("", ATOM_NAMESPACE)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NAMESPACE}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM_NAMESPACE}}}feed")
    sub(feed, "id", feed_url)
    sub(feed, "title", "Synopse — alertes en cours (CAP 1.2)")
    sub(feed, "updated", iso(updated) or "")
    sub(feed, "link", href=feed_url, rel="self")
    author = sub(feed, "author")
    sub(author, "name", "Synopse")
    for view, message, cap_url in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:synopse:cap:{message.identifier}")
        sub(entry, "title", f"{view.severity.label} — {view.summary}"[:200])
        sub(entry, "updated", iso(message.sent) or "")
        sub(entry, "summary", view.summary)
        sub(entry, "link", href=cap_url, rel="alternate", type="application/cap+xml")
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document
