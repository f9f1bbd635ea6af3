"""The pages' callbacks as plain functions over a fake source: routing, access, refresh only what changed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dash
import pytest
from dash.exceptions import PreventUpdate

from dashboard import callbacks_pages as cb
from dashboard.pages import alerts as alerts_page
from dashboard.pages import detail as detail_page
from dashboard.pages import router
from dashboard.text import FR
from synopse.db.pages import EnvironmentDay, ObservedDay, ScoreRow
from synopse.domain.access import Principal, Role
from synopse.errors import ServiceUnavailableError
from tests.unit.dashboard.dash_tree import text, walk

CRISIS = Principal("cellule", Role.CRISIS_CELL, user_id=1)
VIEWER = Principal("lecteur", Role.VIEWER, user_id=2)
DAY0 = date(2025, 1, 1)


class FakeSource:
    def __init__(self) -> None:
        self.detail_calls: list[tuple[str, str, int, str]] = []
        self.actions: list[tuple[str, str, str, int]] = []
        self.comments: list[tuple[str, str, str]] = []
        self.refused: list[tuple[str, str, str]] = []
        self.fail = False
        self.scores: list[ScoreRow] | None = None

    def places(self) -> list[dict[str, str]]:
        return cb.place_options([("hp", "HP Confluent")], [("44109", "Nantes")])

    def detail(self, place: str, metric: str, days: int, indicator: str) -> cb.DetailData:
        if self.fail:
            raise ServiceUnavailableError("down")
        self.detail_calls.append((place, metric, days, indicator))
        observed = [ObservedDay(DAY0 + timedelta(days=i), 10 + (i * 7) % 5, 3, 100.0, 120) for i in range(days)]
        env = [EnvironmentDay(DAY0 + timedelta(days=i), indicator, float((i * 3) % 7)) for i in range(days)]
        return cb.DetailData(observed, None, 120.0, env)

    def map_data(self) -> cb.MapData:
        return cb.MapData([], [])

    def alerts(self) -> cb.AlertsData | None:
        return None

    def quality(self) -> list[ScoreRow] | None:
        return self.scores

    def health(self) -> cb.HealthData:
        return cb.HealthData(None, [], None, {})

    def act(self, principal: Principal, action: str, alert_id: str, comment: str, hours: int) -> bool:
        self.actions.append((action, alert_id, comment, hours))
        return alert_id != "gone"

    def comment(self, principal: Principal, alert_id: str, body: str) -> bool:
        if self.fail:
            raise ServiceUnavailableError("down")
        if alert_id == "gone":
            return False
        self.comments.append((principal.name, alert_id, body))
        return True

    def refuse(self, principal: Principal, action: str, alert_id: str) -> None:
        self.refused.append((principal.name, action, alert_id))


def test_detail_sends_everything_then_nothing_while_data_is_unchanged() -> None:
    source = FakeSource()
    first = cb.update_detail(source, "facility:hp", "admissions", "period_30d", "pm10", None)
    assert source.detail_calls == [("facility:hp", "admissions", 30, "pm10")]
    assert len(first) == 10 and first[0] is not dash.no_update
    assert "Prévisions : pas encore disponible" in text(first[7])
    # The tables go as payloads of lazy table alternatives: formatted cells, no component yet.
    table, env_table, lag_table = first[2], first[6], first[9]
    assert table["summary"] == "Voir les données en tableau" and len(table["rows"]) == 30
    assert table["rows"][0] == ["2025-01-01", "10,0", "—", "—", "—"]
    assert env_table["headers"][2] == "PM10" and env_table["rows"][1] == ["2025-01-02", "12", "3,0"]
    assert "PM10" in env_table["summary"] and [row[0] for row in lag_table["rows"]] == [str(i) for i in range(8)]
    again = cb.update_detail(source, "facility:hp", "admissions", "period_30d", "pm10", first[8])
    assert again == (dash.no_update,) * 10
    other = cb.update_detail(source, "facility:hp", "ed_visits", "period_30d", "pm10", first[8])
    assert other[0] is not dash.no_update


def test_a_lazy_table_is_built_when_first_opened_then_follows_the_data() -> None:
    payload = cb.update_detail(FakeSource(), "facility:hp", "admissions", "period_30d", "pm10", None)[2]
    # Not opened yet: the summary only (new data), nothing at all for a stray call.
    assert cb.fill_table(payload, None, False) == (payload["summary"], dash.no_update)
    # The click that opens it: the accessible table (caption, column headers, each day a row header).
    summary, table = cb.fill_table(payload, 1, True)
    assert summary == "Voir les données en tableau"
    assert text(table).startswith(payload["caption"])
    headers = [n for n in walk(table) if type(n).__name__ == "Th"]
    assert [h.scope for h in headers[:5]] == ["col"] * 5 and headers[5].scope == "row"
    assert len([n for n in walk(table) if type(n).__name__ == "Tr"]) == 1 + 30
    assert "10,0" in text(table) and "2025-01-30" in text(table)
    # Closing it or clicking in it: the table is already there. New data while it was opened once: rebuilt.
    assert cb.fill_table(payload, 2, True) == (dash.no_update, dash.no_update)
    assert text(cb.fill_table(payload, 2, False)[1]) == text(table)
    # A payload forged in the browser builds nothing.
    for forged in (None, "x", {"summary": 3}, {**payload, "rows": [["a", {"props": 1}]]}, {**payload, "rows": "x"}):
        with pytest.raises(PreventUpdate):
            cb.fill_table(forged, 1, True)


def test_detail_falls_back_on_defaults_for_forged_inputs_and_survives_a_down_database() -> None:
    source = FakeSource()
    cb.update_detail(source, None, "drop table", "period_9999d", "../etc", None)
    assert source.detail_calls == [(detail_page.TERRITORY, "bed_occupancy", 90, "temperature")]
    source.fail = True
    view = cb.update_detail(source, None, None, None, None, None)
    assert view[1] == FR["db_unavailable"] and view[0] is dash.no_update


def test_router_serves_each_page_and_closes_them_to_protected_scopes() -> None:
    for path, heading in ((router.DETAIL_PATH, "detail_heading"), (router.MAP_PATH, "map_heading"),
                          (router.ALERTS_PATH, "alerts_heading"), (router.QUALITY_PATH, "quality_heading"),
                          (router.HEALTH_PATH, "health_heading")):
        assert FR[heading] in text(cb.render(path + "/", "", CRISIS, 15, lambda: "overview"))
        assert FR["shared_not_available"] in text(cb.render(path, "", VIEWER, 15, lambda: "overview"))
    assert cb.render("/", "", VIEWER, 15, lambda: "overview") == "overview"
    assert cb.render("/", "", CRISIS, 15, lambda: "overview", initial=True) is dash.no_update
    assert FR["page_not_found"] in text(cb.render("/nope", "", CRISIS, 15, lambda: None))


def test_detail_opened_from_the_map_keeps_its_place() -> None:
    page = cb.render(router.DETAIL_PATH, "?place=commune:44109", CRISIS, 15, lambda: None)
    picker = next(n for n in walk(page) if getattr(n, "id", None) == detail_page.PLACE)
    assert picker.value == "commune:44109"
    assert "commune:44109" in [o["value"] for o in picker.options]


def test_drill_target_from_a_click() -> None:
    assert cb.drill_target({"points": [{"customdata": "commune:44109"}]}) == "/detail?place=commune:44109"
    assert cb.drill_target({"points": [{"customdata": "facility:hp"}]}) == "/detail?place=facility:hp"
    clicks: list[dict[str, Any] | None] = [None, {"points": []}, {"points": [{"customdata": "javascript:alert(1)"}]}]
    for click in clicks:
        with pytest.raises(PreventUpdate):
            cb.drill_target(click)


def test_acting_on_alerts_needs_the_role_an_alert_and_a_known_action() -> None:
    source = FakeSource()
    assert cb.act_on_alert(source, VIEWER, "ack", "a1", "x", 1) == FR["alerts_no_permission"]
    assert cb.act_on_alert(source, CRISIS, "ack", None, "x", 1) == FR["alerts_pick_first"]
    assert cb.act_on_alert(source, CRISIS, "ack", "a1", "  vu  ", 1) == FR["alerts_acked_done"]
    assert cb.act_on_alert(source, CRISIS, "silence", "a1", "", 999) == FR["alerts_silenced_done"].format(
        hours=alerts_page.SILENCE_HOURS[0])  # a forged duration falls back on the shortest
    assert cb.act_on_alert(source, CRISIS, "ack", "gone", "", 1) == FR["alerts_unknown"]
    assert source.actions[:2] == [("ack", "a1", "vu", 1), ("silence", "a1", "", 1)]
    assert source.refused == [("lecteur", "ack", "a1")]  # a refused action is audited
    with pytest.raises(PreventUpdate):
        cb.act_on_alert(source, CRISIS, "delete", "a1", "", 1)


def test_commenting_needs_the_role_some_text_and_an_alert() -> None:
    source = FakeSource()
    assert cb.alert_form(source, CRISIS, "comment", "a1", "  pris en charge par l'équipe B  ", 1) == (
        FR["alerts_commented_done"], "")  # posted: the comment box is emptied
    assert source.comments == [("cellule", "a1", "pris en charge par l'équipe B")]
    assert cb.alert_form(source, CRISIS, "comment", "a1", "   ", 1) == (FR["alerts_comment_empty"], dash.no_update)
    assert cb.alert_form(source, CRISIS, "comment", None, "x", 1) == (FR["alerts_pick_first"], dash.no_update)
    assert cb.alert_form(source, CRISIS, "comment", "gone", "x", 1) == (FR["alerts_unknown"], dash.no_update)
    too_long = "x" * (alerts_page.COMMENT_MAX + 1)
    assert cb.alert_form(source, CRISIS, "comment", "a1", too_long, 1)[0] == FR["alerts_comment_too_long"].format(
        max=alerts_page.COMMENT_MAX)
    assert len(source.comments) == 1 and source.actions == []  # a comment is neither an ack nor a silence
    source.fail = True
    assert cb.alert_form(source, CRISIS, "comment", "a1", "x", 1) == (FR["db_unavailable"], dash.no_update)


def test_a_forged_comment_from_a_viewer_or_a_partner_is_refused_audited_and_answered_with_nothing() -> None:
    source = FakeSource()
    partner = Principal("partenaire", Role.PARTNER, user_id=3, organisation_id=1, organisation="ars")
    for who in (VIEWER, partner):
        with pytest.raises(PreventUpdate):
            cb.alert_form(source, who, "comment", "a1", "forged", 1)
    assert source.comments == [] and source.actions == []
    assert source.refused == [("lecteur", "comment", "a1"), ("partenaire", "comment", "a1")]
    for principal, action in ((None, "comment"), (CRISIS, "delete"), (CRISIS, None)):
        with pytest.raises(PreventUpdate):
            cb.alert_form(source, principal, action, "a1", "x", 1)
    assert len(source.refused) == 2


def test_the_form_empties_the_comment_box_after_an_ack_but_keeps_it_after_a_refusal() -> None:
    source = FakeSource()
    assert cb.alert_form(source, CRISIS, "ack", "a1", "vu", 1) == (FR["alerts_acked_done"], "")
    assert cb.alert_form(source, CRISIS, "ack", "gone", "vu", 1) == (FR["alerts_unknown"], dash.no_update)


def test_missing_tables_become_notices() -> None:
    source = FakeSource()
    assert "pas encore disponible" in text(cb.update_alerts(source, True, None)[0])
    table, digest = cb.update_quality(source, None)
    assert "Scores des prévisions : pas encore disponible" in text(table)
    assert cb.update_quality(source, digest) == (dash.no_update, dash.no_update) or digest == "missing"
    source.scores = []
    assert "Aucun score" in text(cb.update_quality(source, "missing")[0])
    topics, _, _ = cb.update_health(source, lambda: datetime(2025, 1, 1, tzinfo=UTC), None)
    assert "Santé du pipeline" in text(topics)


def test_every_text_key_the_pages_use_exists() -> None:
    root = Path(cb.__file__).resolve().parent
    files = [root / "callbacks_pages.py", root / "components_pages.py", root / "figures_pages.py",
             *(root / "pages" / f"{name}.py" for name in ("router", "_common", "detail", "map", "alerts", "quality",
                                                          "health"))]
    keys = {key for f in files for key in re.findall(r'\b(?:t|not_available)\(\s*"([a-z0-9_]+)"', f.read_text())}
    keys |= {key for f in files for key in re.findall(r'"((?:[a-z0-9]+_)+[a-z0-9]+)"', f.read_text()) if key in FR}
    assert len(keys) > 100
    assert sorted(k for k in keys if k not in FR) == []
    for prefix, values in (("metric_", ("bed_occupancy", "admissions", "ed_visits")),
                           ("axis_", ("bed_occupancy", "admissions", "ed_visits")),
                           ("severity_", ("info", "warning", "severe", "critical")),
                           ("alert_status_", ("pending", "firing", "resolved")),
                           ("delivery_", ("queued", "delivered", "failed", "dead"))):
        assert all(prefix + v in FR for v in values)


def test_detail_summary_speaks_of_capacity_outlook_and_saturation() -> None:
    from synopse.db.pages import ForecastDay, Outlook
    from synopse.domain.forecasts import QUANTILE_LEVELS

    observed = [ObservedDay(DAY0, 5, 3, 350.0, 386)]
    forecast = [ForecastDay(DAY0 + timedelta(days=1), 1, [300 + 100 * q for q in QUANTILE_LEVELS])]
    data = cb.DetailData(observed, forecast, 386.0, [], Outlook(386.0, 0.35, DAY0 + timedelta(days=5)))
    summary = cb.detail_summary(data, "bed_occupancy")
    assert summary.startswith("Dernière valeur observée : 350,0. Capacité : 386 lits.")
    assert "médiane 350,0" in summary and "35\u202f%" in summary and "06/01/2025" in summary
    no_saturation = cb.detail_summary(cb.DetailData(observed, [], 386.0, [], Outlook(386.0, 0.02, None)),
                                      "bed_occupancy")
    assert "Aucune prévision calculée" in no_saturation and "Pas de saturation attendue" in no_saturation
    assert "Capacité" not in cb.detail_summary(data, "admissions")  # beds only make sense for occupied beds
