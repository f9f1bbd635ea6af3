"""Pure HTML builders of the pages: table alternatives, notices, alert cards, verdicts, health states."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dash import html

from dashboard import components_pages as cp
from dashboard.text import use_language
from synopse.db.alerts import AlertComment
from synopse.db.pages import ScoreRow, TopicHealth
from synopse.domain.alert_records import AlertListing
from tests.unit.dashboard.dash_tree import text, walk

NOW = datetime(2025, 1, 15, 12, tzinfo=UTC)


def _alert(**changes: object) -> AlertListing:
    values: dict[str, object] = dict(
        alert_id=uuid.uuid4(), rule_id="ed-surge", scope_key="facility:hp", indicator="ed_visits", status="firing",
        severity="severe", pending_since=NOW, firing_since=NOW, resolved_at=None, value=42.0,
        details={"observed": 42, "expected": 20.25, "upper_bound": 31.0}, summary="42 vs 20 attendus",
        acked_by=None, acked_at=None, ack_comment=None)
    values.update(changes)
    return AlertListing(**values)  # type: ignore[arg-type]


def test_table_alternative_is_a_collapsible_captioned_table() -> None:
    details = cp.table_alternative("Légende", ["Jour", "Valeur"], [["2025-01-01", 3.25], ["2025-01-02", None]])
    assert isinstance(details, html.Details)
    assert "Voir les données en tableau" in text(details)
    assert "3,2" in text(details) or "3,3" in text(details)
    assert "—" in text(details)  # a missing value is a dash, never 0
    assert [th.scope for th in walk(details) if isinstance(th, html.Th)] == ["col", "col", "row", "row"]


def test_not_available_names_what_is_missing() -> None:
    notice = cp.not_available("what_forecasts")
    assert text(notice) == "ℹ  Prévisions : pas encore disponible sur cette installation."
    assert notice.role == "status"


def test_alert_card_shows_observed_expected_threshold_why_and_ack() -> None:
    card = cp.alert_card(_alert(), {"facility:hp": "HP Confluent"})
    shown = text(card)
    assert "grave" in shown and "■" in shown and "HP Confluent" in shown
    assert "Observé 42 Attendu 20,2 Seuil 31" in shown or "Observé 42 Attendu 20,3 Seuil 31" in shown
    assert "42 vs 20 attendus" in shown and "Non acquittée" in shown
    acked = cp.alert_card(_alert(acked_by="cellule", acked_at=NOW, ack_comment="vu"), {})
    assert "Acquittée par cellule" in text(acked) and "« vu »" in text(acked)


def test_alert_card_lists_its_comments_with_author_and_time() -> None:
    alert = _alert()
    comments = [AlertComment(1, alert.alert_id, NOW, "cellule", "crisis_cell", "Renfort demandé"),
                AlertComment(2, alert.alert_id, NOW + timedelta(minutes=5), "admin", "administrator", "Vu")]
    card = cp.alert_card(alert, {}, comments)
    shown = text(card)
    assert "Commentaires (2)" in shown
    assert "cellule  ·  15/01/2025 13:00 Renfort demandé" in shown and "admin  ·  15/01/2025 13:05 Vu" in shown
    times = [n for n in walk(card) if isinstance(n, html.Time)]
    assert [t.dateTime for t in times] == [NOW.isoformat(), (NOW + timedelta(minutes=5)).isoformat()]
    assert "Commentaires" not in text(cp.alert_card(alert, {}))  # no empty thread
    listed = cp.alert_list([alert, _alert()], {}, "alerts_none_firing", {str(alert.alert_id): comments[:1]})
    assert isinstance(listed, list) and "Commentaires (1)" in text(listed[0]) and "Commentaires" not in text(listed[1])
    with use_language("en"):
        assert "cellule  ·  2025-01-15 13:00 Renfort demandé" in text(cp.alert_card(alert, {}, comments))


def test_trust_verdict_reads_relative_wis_then_coverage() -> None:
    def score(wis: float | None, cov90: float) -> ScoreRow:
        return ScoreRow("admissions", "facility", "hp", "backtest", 7, 20, wis, 0.5, cov90)
    assert cp.trust_verdict(score(0.7, 0.9)).startswith("✓")
    assert cp.trust_verdict(score(0.7, 0.6)).startswith("▲")
    assert cp.trust_verdict(score(1.2, 0.9)).startswith("✖")
    assert cp.trust_verdict(score(None, 0.9)) == "non évaluable"
    assert "J+7" in text(cp.scores_table([score(0.7, 0.9)]))


def test_topic_table_flags_dead_letters_lag_and_stale_workers() -> None:
    def topic(dead: int, lag: int, lag_at: datetime | None) -> TopicHealth:
        return TopicHealth("g", "synopse.admissions.v1", 3, 100, dead, lag, NOW, NOW, lag_at)
    shown = text(cp.topic_table([topic(0, 5, NOW), topic(2, 5, NOW), topic(0, 5, NOW - timedelta(hours=1))], NOW))
    assert shown.count("✓ normal") == 1 and "⚠ à surveiller" in shown and "aucun consommateur actif" in shown
