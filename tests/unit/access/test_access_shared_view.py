"""The protected view of the overview as plain functions: published cells in, page parts out, no number hidden."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dash

from dashboard import ids
from dashboard.shared_data import (
    SharedActivity,
    SharedOverview,
    SharedSource,
    last_complete_day,
    last_complete_week,
    publish_activity,
    publish_overview,
)
from dashboard.shared_view import fmt_published, refresh_shared_overview, update_shared_activity
from synopse.domain.disclosure import SUPPRESSED, UNAVAILABLE, CellStatus, DisclosurePolicy, Published
from synopse.domain.indicators import CommuneWeek, FacilityBeds, FacilityDay, SourceFreshness
from synopse.errors import ServiceUnavailableError
from tests.unit.dashboard.dash_tree import text

POLICY = DisclosurePolicy()
NOW = datetime(2025, 1, 15, 12, 40, tzinfo=UTC)  # a Wednesday
DAY, BEFORE = date(2025, 1, 14), date(2025, 1, 13)


def _facility(facility_id: str, name: str, occupied: int | None, total: int | None) -> FacilityBeds:
    return FacilityBeds(facility_id, name, "44109", True, 100, total, occupied, 1 if total else 0, NOW)


def _overview() -> SharedOverview:
    facilities = [_facility("a", "Clinique A", 121, 150), _facility("b", "Hôpital B", 7, 80)]
    days = [
        FacilityDay("a", DAY, 4, None, 120.0, 150), FacilityDay("a", BEFORE, 12, None, 118.0, 150),
        FacilityDay("b", DAY, 23, None, 7.0, 80), FacilityDay("b", BEFORE, 9, None, 7.0, 80),
    ]
    communes = [CommuneWeek("44143", "Rezé", 43_000, 6, None), CommuneWeek("44162", "Saint-Herblain", 48_500, 17, 0)]
    freshness = [
        SourceFreshness("synopse.admissions.v1", "a", NOW, NOW, 1234, None),
        SourceFreshness("synopse.bed_snapshots.v1", "a", NOW, NOW, 99, None),
    ]
    return publish_overview(reference=NOW, anchor=NOW, facilities=facilities, days=days, communes=communes,
                            environment=[], freshness=freshness, policy=POLICY, restricted=True)


@dataclass
class FakeShared(SharedSource):
    shown: SharedOverview
    activity_rows: SharedActivity
    down: bool = False
    policy: DisclosurePolicy = field(default_factory=DisclosurePolicy)
    asked: list[tuple[str | None, int]] = field(default_factory=list)

    def overview(self) -> SharedOverview:
        if self.down:
            raise ServiceUnavailableError("down")
        return self.shown

    def activity(self, facility_id: str | None, days: int) -> SharedActivity:
        self.asked.append((facility_id, days))
        return self.activity_rows


def test_complete_buckets() -> None:
    assert last_complete_day(NOW) == DAY
    assert last_complete_day(datetime(2025, 1, 14, 23, 30, tzinfo=UTC)) == DAY  # 00:30 on the 15th in Paris
    assert last_complete_week(NOW) == (date(2025, 1, 6), date(2025, 1, 12))
    sunday_night = datetime(2025, 1, 12, 22, 0, tzinfo=UTC)  # 23:00 on Sunday in Paris: that week is not over
    assert last_complete_week(sunday_night) == (date(2024, 12, 30), date(2025, 1, 5))
    monday_night = datetime(2025, 1, 12, 23, 30, tzinfo=UTC)  # 00:30 on Monday in Paris: it is
    assert last_complete_week(monday_night) == (date(2025, 1, 6), date(2025, 1, 12))


def test_the_overview_is_published_from_exact_cells() -> None:
    overview = _overview()
    a, b = overview.facilities
    assert (a.beds_occupied.value, a.admissions, a.admissions_before.value) == (120, SUPPRESSED, 10)
    assert a.ed_visits == UNAVAILABLE and a.occupancy_rate == 120 / 150
    assert (b.beds_occupied, b.admissions.value, b.admissions_before) == (SUPPRESSED, 25, SUPPRESSED)
    assert b.occupancy_rate is None
    assert [(c.admissions, c.ed_visits) for c in overview.communes] == [
        (SUPPRESSED, UNAVAILABLE), (Published(15, CellStatus.ROUNDED), Published(0, CellStatus.EXACT))]
    # Only the beds feed's freshness, without its running count.
    assert [(f.topic, f.events_total) for f in overview.freshness] == [("synopse.bed_snapshots.v1", 0)]


def test_refresh_shows_suppressed_counts_with_their_legend_and_no_exact_number() -> None:
    source = FakeShared(_overview(), publish_activity([], BEFORE, DAY, POLICY))
    view = refresh_shared_overview(source, clock=lambda: NOW)
    tiles = " ".join(" | ".join(text(tile) for tile in view.facility_tiles).split())
    assert "Admissions le 14/01 : < 10" in tiles and "≈ 120 / 150" in tiles and "80 %" in tiles  # whitespace normalised
    assert "Passages aux urgences le 14/01 : non partagé" in tiles and "Admissions le 14/01 : 25" in tiles
    assert "≈ < 10 / 80" in tiles and "— vs le 13/01" in tiles
    for exact in ("121", " 4 ", "23", " 7 "):
        assert exact not in tiles
    table = " ".join(text(view.commune_table).split())
    assert "du 06/01 au 12/01" in table and "Secret statistique" in table and "< 10" in table
    assert "Rezé 43 000 < 10 — non partagé —" in table and "Saint-Herblain 48 500 15 31 0 0" in table
    assert "Données publiées jusqu'au 14/01 inclus" in text(view.status)
    assert [o["value"] for o in view.facility_options] == [ids.ALL_TERRITORY, "a", "b"]
    assert view.facility_options[0]["label"] == "Tous les établissements partagés"
    source.down = True
    outage = refresh_shared_overview(source, clock=lambda: NOW)
    assert "injoignable" in text(outage.status) and outage.facility_tiles is dash.no_update


def test_beds_not_shared_say_so_without_a_level() -> None:
    hidden = FacilityBeds("c", "Clinique C", "44109", False, 60, None, None, 0, None, beds_shared=False)
    overview = publish_overview(reference=NOW, anchor=NOW, facilities=[hidden], days=[], communes=[],
                                environment=[], freshness=[], policy=POLICY, restricted=True)
    tile = text(refresh_shared_overview(FakeShared(overview, publish_activity([], DAY, DAY, POLICY)),
                                        clock=lambda: NOW).facility_tiles[0])
    assert "Lits : non partagé" in tile and "pas de données" not in tile and "60" not in tile


def test_an_empty_share_says_so() -> None:
    empty = publish_overview(reference=None, anchor=NOW, facilities=[], days=[], communes=[], environment=[],
                             freshness=[], policy=POLICY, restricted=True)
    view = refresh_shared_overview(FakeShared(empty, publish_activity([], DAY, DAY, POLICY)), clock=lambda: NOW)
    assert "Aucun établissement" in text(view.facility_tiles) and "Aucune commune" in text(view.commune_table)


def test_the_chart_sums_published_days_and_marks_suppressed_ones() -> None:
    rows = [FacilityDay("a", DAY, 4, 30, 120.0, 150), FacilityDay("a", BEFORE, 12, 31, 118.0, 150),
            FacilityDay("b", DAY, 23, 0, 7.0, 80), FacilityDay("b", BEFORE, 40, 0, 7.0, 80)]
    activity = publish_activity(rows, BEFORE, DAY, POLICY)
    assert [c.value for c in activity.admissions] == [50, None]  # 10 + 40; 4 is suppressed, so is the total
    assert [c.value for c in activity.ed_visits] == [30, 30]
    assert activity.occupancy == [None, None]  # the beds of b (7) are suppressed: so is the sum
    source = FakeShared(_overview(), activity)
    options = [{"label": "<b>Clinique</b>", "value": "a"}]
    figure, summary = update_shared_activity(source, "a", "period_7d", options)
    assert source.asked == [("a", 7)] and "&lt;b&gt;" in figure.layout.title.text  # no markup from the browser
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert list(bars[0].y) == [50, None] and "< 10" in summary and "Secret statistique" in summary
    marked = [trace for trace in figure.data if trace.type == "scatter" and trace.mode == "markers+text"]
    assert list(marked[0].text) == ["< 10"]
    update_shared_activity(source, None, "nonsense")
    assert source.asked[-1] == (None, 2)  # the default period, in complete days


def test_a_facility_outside_the_scope_gets_nothing() -> None:
    source = FakeShared(_overview(), publish_activity([], BEFORE, DAY, POLICY, available=False))
    figure, summary = update_shared_activity(source, "forged", "period_30d")
    assert figure.data == () and "n'est pas partagé" in summary
    assert "n'est pas partagé" in json.dumps(figure.layout.annotations[0].text, ensure_ascii=False)


def test_published_text() -> None:
    assert fmt_published(Published(1235, CellStatus.ROUNDED), POLICY) == "1\u202f235"
    assert fmt_published(SUPPRESSED, DisclosurePolicy(threshold=7)) == "< 7"
    assert fmt_published(UNAVAILABLE, POLICY) == "non partagé"
