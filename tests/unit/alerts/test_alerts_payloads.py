"""Payload contracts: Alertmanager webhook v4, HMAC signature, CAP 1.2 read by a third-party library, Atom."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from cap_tools.models import Alert as CapAlert
from cap_tools.models import MsgType, ResponseType
from cap_tools.models import Severity as CapSeverity
from xsdata.formats.dataclass.parsers import XmlParser

from alerts.delivery import body_bytes
from alerts.payloads import (
    AM_ZERO_TIME,
    AlertView,
    CapMessage,
    alertmanager_webhook,
    atom_feed,
    cap_document,
    email_message,
    restrict_for_partner,
    sign,
)
from synopse.domain.alerts import Severity

T0 = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)


def view(**changes: object) -> AlertView:
    base = AlertView(
        alert_id="7d2f0c1e-0000-4000-8000-000000000001", rule_id="ed-aberration-respiratory-ears-c2",
        rule_name="Excès respiratoire", scope_key="commune:44109", scope_name="Nantes",
        indicator="ed_visits_daily", severity=Severity.WARNING, status="firing", event="firing", starts_at=T0,
        ends_at=None, summary="Excès respiratoire — Nantes: 7 visits vs 2.1 expected", instruction="Vérifier.",
        details={"observed": 7.0, "expected": 2.1, "upper_bound": 5.2, "algorithm": "ears_c2",
                 "params": {"baseline": 7}},
        labels={"team": "cellule"},
    )
    return AlertView(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_alertmanager_v4_shape() -> None:
    payload = alertmanager_webhook(view(), receiver="ars", external_url="http://synopse", notification_id="n-1")
    assert payload["version"] == "4" and payload["status"] == "firing" and payload["receiver"] == "ars"
    assert set(payload) >= {"groupKey", "truncatedAlerts", "groupLabels", "commonLabels", "commonAnnotations",
                            "externalURL", "alerts"}
    alert = payload["alerts"][0]
    assert alert["labels"]["alertname"] == "ed-aberration-respiratory-ears-c2"
    assert alert["labels"]["severity"] == "warning" and alert["labels"]["team"] == "cellule"
    assert alert["endsAt"] == AM_ZERO_TIME and alert["startsAt"] == "2026-01-15T08:00:00Z"
    assert all(isinstance(v, str) for v in alert["annotations"].values())  # Alertmanager: strings only
    assert alert["annotations"]["severity_label"] == "Vigilance"
    resolved = alertmanager_webhook(view(status="resolved", event="resolved", ends_at=T0), receiver="ars",
                                    external_url="http://synopse", notification_id="n-2")
    assert resolved["alerts"][0]["endsAt"] == "2026-01-15T08:00:00Z"
    assert resolved["alerts"][0]["fingerprint"] == alert["fingerprint"]


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = body_bytes({"b": 1, "a": "é"})
    assert body == '{"a":"é","b":1}'.encode()
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret", body) == "sha256=" + expected


def test_partner_copy_hides_small_counts_and_what_derives_from_them() -> None:
    restricted = restrict_for_partner(view(), 10)
    assert restricted.details["observed"] is None and restricted.details["expected"] is None
    assert restricted.details["upper_bound"] is None and restricted.suppressed == ("expected", "observed",
                                                                                  "upper_bound")
    assert "7" not in restricted.summary
    payload = alertmanager_webhook(restricted, receiver="p", external_url="http://s", notification_id="n")
    assert "observed" not in payload["alerts"][0]["annotations"]
    assert payload["alerts"][0]["annotations"]["suppressed"] == "expected,observed,upper_bound"
    assert payload["synopse"]["details"]["observed"] is None  # null, never a sentinel number
    big = view(details={"observed": 40.0, "expected": 20.0, "upper_bound": 30.0})
    assert restrict_for_partner(big, 10) == big
    occupancy = view(indicator="occupancy_rate", details={"observed": 0.5})
    assert restrict_for_partner(occupancy, 10) == occupancy  # a rate is not a count of people


def test_cap_documents_parse_with_a_third_party_cap_library() -> None:
    first = CapMessage("synopse-a-1", T0, "Alert", None)
    xml = cap_document(view(), first, sender="synopse@nantes-metropole.fr", web="http://s/cap/a.xml")
    alert = XmlParser().from_bytes(xml, CapAlert)
    assert alert.identifier == "synopse-a-1" and alert.msg_type is MsgType.ALERT
    info = alert.infos[0]
    assert info.severity is CapSeverity.MODERATE
    assert info.areas[0].geocodes[0].value.value == "44109"
    reference = "synopse@nantes-metropole.fr,synopse-a-1,2026-01-15T08:00:00+00:00"
    update = CapMessage("synopse-a-9", T0, "Update", reference)
    xml = cap_document(view(event="resolved", status="resolved", ends_at=T0), update,
                       sender="synopse@nantes-metropole.fr", web="http://s/cap/a.xml")
    resolved = XmlParser().from_bytes(xml, CapAlert)
    assert resolved.msg_type is MsgType.UPDATE
    assert resolved.infos[0].response_types == [ResponseType.ALL_CLEAR]
    assert len(resolved.references_to_list()) == 1


def test_atom_feed_links_each_cap_document() -> None:
    entry = (view(), CapMessage("synopse-a-1", T0, "Alert", None), "http://s/cap/alerts/a.xml")
    feed = ET.fromstring(atom_feed([entry], feed_url="http://s/cap/feed.atom", updated=T0))  # noqa: S314 - ours
    ns = {"a": "http://www.w3.org/2005/Atom"}
    links = feed.findall("a:entry/a:link", ns)
    assert [link.get("type") for link in links] == ["application/cap+xml"]
    assert links[0].get("href") == "http://s/cap/alerts/a.xml"


def test_email_names_the_state_and_the_grade() -> None:
    message = email_message(restrict_for_partner(view(), 10), notification_id="n-1", external_url="http://s")
    assert message["subject"].startswith("[Synopse] ALERTE Vigilance")
    assert "(masqué : petit effectif)" in message["body"] and message["message_id"] == "<n-1@synopse>"
    json.dumps(message)
