"""What a partner's subscription receives: the access model's shares, read the way the dashboard reads them."""

from __future__ import annotations

from alerts.engine import shared_with, subscriber_matches
from synopse.domain.alert_records import Share, Subscriber
from synopse.domain.alerts import Severity, parse_rule

SHARES = [Share(7, "facility", "hp-confluent"), Share(7, "commune", "44143"), Share(7, "indicator", "pm10")]


def test_facilities_and_communes_by_their_share_the_metropolis_by_indicator() -> None:
    assert shared_with(SHARES, "facility:hp-confluent", "occupancy_rate")
    assert not shared_with(SHARES, "facility:sante-atlantique", "occupancy_rate")
    assert shared_with(SHARES, "commune:44143", "ed_visits_daily")
    assert not shared_with(SHARES, "commune:44109", "ed_visits_daily")
    assert shared_with(SHARES, "metropolis:nantes-metropole", "pm10_daily_mean")
    assert not shared_with(SHARES, "metropolis:nantes-metropole", "occupancy_rate")  # "beds" is not shared
    assert not shared_with(SHARES, "platform:synopse-streams", "consumer_lag")


def test_subscriber_filters_by_severity_rules_and_organisation() -> None:
    rule = parse_rule({"id": "occ", "name": "Occ", "kind": "threshold", "indicator": "occupancy_rate",
                       "scope": {"level": "facility"}, "levels": [{"severity": "warning", "enter": 0.85}]})

    def sub(**kw: object) -> Subscriber:
        base = {"subscriber_id": "s", "name": "s", "kind": "webhook", "target": "http://x", "secret": None,
                "organisation_id": None, "organisation": None, "min_severity": "info", "rule_ids": None,
                "enabled": True, "breaker_failures": 0, "breaker_open_until": None}
        return Subscriber(**{**base, **kw})  # type: ignore[arg-type]

    shares = {7: SHARES}
    assert subscriber_matches(sub(), rule, Severity.WARNING, "facility:x", shares)
    assert not subscriber_matches(sub(min_severity="severe"), rule, Severity.WARNING, "facility:x", shares)
    assert not subscriber_matches(sub(rule_ids=["other"]), rule, Severity.WARNING, "facility:x", shares)
    partner = sub(organisation_id=7, organisation="ars-pdl")
    assert subscriber_matches(partner, rule, Severity.WARNING, "facility:hp-confluent", shares)
    assert not subscriber_matches(partner, rule, Severity.WARNING, "facility:x", shares)
    assert not subscriber_matches(sub(organisation_id=8), rule, Severity.WARNING, "facility:hp-confluent", shares)
