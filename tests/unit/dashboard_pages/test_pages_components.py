"""Pure HTML builders of the pages: table alternatives, notices, alert cards, verdicts, health states."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.io.json
import pytest
from dash import html

from dashboard import components_pages as cp
from dashboard.pages import map as map_page
from dashboard.plain_html import element
from dashboard.text import Language, t, use_language
from synopse.db.alerts import AlertComment
from synopse.db.pages import CommunePoint, FacilityPoint, ScoreRow, TopicHealth
from synopse.domain.alert_records import AlertListing
from tests.unit.dashboard.dash_tree import as_component, nodes, text, walk

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
    assert [th.scope for th in nodes(details, html.Th)] == ["col", "col", "row", "row"]


def test_not_available_names_what_is_missing() -> None:
    notice = cp.not_available("what_forecasts")
    assert text(notice) == "ℹ  Prévisions : pas encore disponible sur cette installation."
    assert nodes(notice, html.P)[0].role == "status"


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
    assert [t.dateTime for t in nodes(card, html.Time)] == [NOW.isoformat(), (NOW + timedelta(minutes=5)).isoformat()]
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


def _json(value: Any) -> Any:
    """What the browser gets: the JSON Dash writes of a callback's output."""
    return json.loads(plotly.io.json.to_json_plotly(value))


def test_plain_elements_are_the_json_of_their_components() -> None:
    assert _json(element("Td", "3", className="num")) == _json(html.Td("3", className="num"))
    assert _json(element("Div", id="x")) == _json(html.Div(id="x"))  # no children: null, as a component
    assert text(element("P", ["a ", element("Strong", "b")])) == "a  b"
    with pytest.raises(TypeError):  # a misspelt prop is refused when rebuilt as the component
        as_component(element("Td", "3", classname="num"))
    with pytest.raises(AttributeError):  # so is a tag dash.html does not have
        as_component(element("Cell", "3"))


def test_map_tables_list_every_commune_and_facility_with_links_statuses_and_gaps() -> None:
    communes = [CommunePoint("44109", "Nantes", 320000, 47.21, -1.55, 320, 100),
                CommunePoint("44999", "Sans habitants", 0, 47.3, -1.6, 2, 0)]
    facilities = [FacilityPoint("hp", "HP <Confluent> & co", "44109", 47.2, -1.54, 100, 97),
                  FacilityPoint("ls", "La Seilleraye", "44109", 47.25, -1.5, None, None)]
    # Cells of both tables, row by row: a commune without inhabitants has no rate, a facility without beds no rate.
    cases: list[tuple[Language, list[str]]] = [
        ("fr", ["Nantes", "320 000", "320", "100", "Sans habitants", "0", "2", "—",
                "HP <Confluent> & co", "97 %", "■ saturation", "La Seilleraye", "—", "○ pas de données"]),
        ("en", ["Nantes", "320,000", "320", "100", "Sans habitants", "0", "2", "—",
                "HP <Confluent> & co", "97%", "■ saturation", "La Seilleraye", "—", "○ no data"]),
    ]
    for language, expected in cases:
        with use_language(language):
            plain = map_page.map_tables(communes, facilities)
            captions = [t("map_communes_caption"), t("map_facilities_caption")]
        rebuilt = as_component(plain)  # every tag and prop is one dash.html knows
        # Shown open: its links are the keyboard's way to the detail pages.
        assert isinstance(rebuilt, html.Details) and nodes(rebuilt, html.Details)[0].open is True
        assert _json(plain) == _json(rebuilt)
        cells = [text(cell).replace("\u202f", " ") for tbody in nodes(rebuilt, html.Tbody)
                 for cell in walk(tbody) if isinstance(cell, html.Th | html.Td)]
        assert cells == expected, language
        links = [(a.children, a.href) for a in nodes(rebuilt, html.A)]
        assert links == [("Nantes", "/detail?place=commune:44109"), ("Sans habitants", "/detail?place=commune:44999"),
                         ("HP <Confluent> & co", "/detail?place=facility:hp"),
                         ("La Seilleraye", "/detail?place=facility:ls")]
        headers = [th.scope for th in nodes(rebuilt, html.Th)]
        assert headers == ["col"] * 4 + ["row"] * 2 + ["col"] * 3 + ["row"] * 2
        assert [c.children for c in nodes(rebuilt, html.Caption)] == captions
