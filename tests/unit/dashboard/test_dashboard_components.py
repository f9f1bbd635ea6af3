"""Tiles, tables and panels built from rows: what an operator reads, in words and not only colours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from dashboard.components import (
    admissions_change,
    commune_table,
    environment_panel,
    facility_tile,
    status_bar,
)
from dashboard.status import OKABE_ITO
from synopse.domain.indicators import CommuneActivity, EnvironmentReading, FacilityStatus, SourceFreshness
from tests.unit.dashboard.dash_tree import find, text

NOW = datetime(2025, 1, 15, 12, 40, tzinfo=UTC)

CONFLUENT = FacilityStatus(
    facility_id="hp-confluent", name="Hôpital Privé du Confluent", commune_code="44109",
    has_emergency_department=True, planned_beds=386, beds_total=100, beds_occupied=86, units_reporting=3,
    snapshot_at=NOW - timedelta(minutes=20), admissions_24h=6, admissions_prev_24h=3,
    ed_visits_last_hour=3, ed_visits_24h=1234,
)


def test_a_tile_shows_rate_level_word_beds_and_counts() -> None:
    tile = facility_tile(CONFLUENT, NOW)
    shown = text(tile)
    assert "Hôpital Privé du Confluent" in shown
    assert "86\u202f%" in shown and "tension" in shown
    assert "Lits occupés : 86 / 100" in shown
    assert "Admissions 24 h : 6" in shown and "↑ +3 (+100\u202f%) vs 24 h précédentes" in shown
    assert "Urgences 24 h : 1\u202f234" in shown and "dernière heure complète : 3" in shown
    assert tile.style["borderLeftColor"] == OKABE_ITO["orange"]
    assert "level-tension" in tile.className


def test_a_facility_without_snapshot_shows_no_data_and_never_zero_percent() -> None:
    silent = replace(CONFLUENT, beds_total=None, beds_occupied=None, units_reporting=0, snapshot_at=None)
    tile = facility_tile(silent, NOW)
    assert find(tile, "tile-rate") == []  # no number at all, so no "0 %"
    assert "pas de données" in text(find(tile, "level-badge"))
    assert "%" not in text(find(tile, "tile-occupancy"))
    assert "capacité prévue 386" in text(tile)


def test_a_facility_reporting_zero_staffed_beds_is_no_data_too() -> None:
    closed = replace(CONFLUENT, beds_total=0, beds_occupied=0)
    assert "pas de données" in text(facility_tile(closed, NOW))


def test_levels_at_the_edges() -> None:
    assert "normal" in text(facility_tile(replace(CONFLUENT, beds_occupied=84), NOW))
    assert "saturation" in text(facility_tile(replace(CONFLUENT, beds_occupied=97), NOW))


def test_a_facility_without_emergency_department_says_so() -> None:
    shown = text(facility_tile(replace(CONFLUENT, has_emergency_department=False), NOW))
    assert "Pas de service d'urgences" in shown and "Urgences 24 h" not in shown


def test_an_old_bed_snapshot_is_flagged() -> None:
    old = replace(CONFLUENT, snapshot_at=NOW - timedelta(hours=5))
    tile = facility_tile(old, NOW)
    assert find(tile, "tile-stale")
    assert "Instantané lits ancien" in text(tile)


def test_admissions_change_wording() -> None:
    assert admissions_change(5, 0) == "↑ +5 vs 24 h précédentes"  # no percentage of zero
    assert admissions_change(2, 4) == "↓ −2 (−50\u202f%) vs 24 h précédentes"
    assert admissions_change(3, 3) == "= stable vs 24 h précédentes"


def test_commune_table_counts_rates_and_the_other_row() -> None:
    rows = [
        CommuneActivity("44109", "Nantes", 323_000, 9, 5),
        CommuneActivity(None, None, None, 2, 1),
    ]
    table = commune_table(rows)
    shown = text(table)
    assert "Nantes 323\u202f000 9 3 5 2" in shown  # 9 / 323,000 * 100,000 = 2.8 -> 3; 5 -> 1.5 -> 2
    assert "Autres communes ou inconnue — 2 — 1 —" in shown
    assert find(table, "row-other")


def test_environment_panel_orders_indicators_and_shows_units() -> None:
    at = NOW.replace(minute=0)
    readings = [
        EnvironmentReading("pm10", at, 25.0, 30.0, 2, None),
        EnvironmentReading("temperature", at, 9.46, 9.46, 1, "Nantes-Bouguenais"),
    ]
    shown = text(environment_panel(readings))
    assert shown.index("Température") < shown.index("PM10")
    assert "9,5\u00a0°C" in shown and "Nantes-Bouguenais, 15/01 13:00" in shown
    assert "25\u00a0µg/m³" in shown and "moyenne de 2 stations (max 30)" in shown
    assert text(environment_panel([])) == "Aucune mesure récente"


def test_status_bar_badge_follows_the_wall_clock() -> None:
    fresh = status_bar(NOW, [], NOW + timedelta(minutes=10))
    late = status_bar(NOW, [], NOW + timedelta(hours=2, minutes=5))
    assert "Dernières données : 15/01/2025 13:40" in text(fresh)
    assert "Flux à jour" in text(fresh) and find(fresh, "badge-ok")
    assert "Flux en retard de 2 h 05" in text(late) and find(late, "badge-late")
    assert "Aucune donnée" in text(status_bar(None, [], NOW))


def test_status_bar_counts_late_sources() -> None:
    sources = [
        SourceFreshness("synopse.bed_snapshots.v1", "hp-confluent", NOW - timedelta(hours=3), NOW, 5, None),
        SourceFreshness("synopse.emergency_visits.v1", "hp-confluent", NOW, NOW, 9, None),
    ]
    shown = text(status_bar(NOW, sources, NOW, {"hp-confluent": "Hôpital Privé du Confluent"}))
    assert "1 source(s) en retard sur 2" in shown
    assert "Lits Hôpital Privé du Confluent" in shown and "en retard" in shown
