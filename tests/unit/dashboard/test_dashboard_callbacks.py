"""Callbacks as plain functions over a fake row source; the layout and the app's wiring without a server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dash
from psycopg_pool import ConnectionPool

from dashboard import ids
from dashboard.app import create_app
from dashboard.callbacks import refresh_overview, update_activity
from dashboard.pages.overview import layout
from synopse.config import Settings
from synopse.domain.indicators import FacilityStatus, HourlyPoint, Overview
from synopse.errors import ServiceUnavailableError
from tests.unit.dashboard.dash_tree import find, text

NOW = datetime(2025, 1, 15, 12, 40, tzinfo=UTC)


def _facility(facility_id: str, name: str, occupied: int | None) -> FacilityStatus:
    return FacilityStatus(facility_id, name, "44109", True, 100, None if occupied is None else 100, occupied,
                          1, NOW, 1, 1, 0, 2)


@dataclass
class FakeSource:
    """Canned rows; records what the callbacks asked for; fails on demand."""

    overview_rows: Overview
    points: list[HourlyPoint] = field(default_factory=list)
    down: bool = False
    asked: list[tuple[str | None, int]] = field(default_factory=list)

    def overview(self) -> Overview:
        if self.down:
            raise ServiceUnavailableError("down")
        return self.overview_rows

    def activity(self, facility_id: str | None, hours: int) -> list[HourlyPoint]:
        if self.down:
            raise ServiceUnavailableError("down")
        self.asked.append((facility_id, hours))
        return self.points


def _source() -> FakeSource:
    facilities = [_facility("a-clinic", "Clinique A", 97), _facility("b-hospital", "Hôpital B", None)]
    return FakeSource(Overview(NOW, facilities, [], [], []), [HourlyPoint(NOW.replace(minute=0), 2, 3, 50.0, 100)])


def test_refresh_builds_tiles_status_and_picker_options() -> None:
    view = refresh_overview(_source(), clock=lambda: NOW + timedelta(minutes=5))
    tiles = view.facility_tiles
    assert len(tiles) == 2
    assert "saturation" in text(tiles[0]) and "pas de données" in text(tiles[1])
    assert "Flux à jour" in text(view.status)
    assert view.facility_options[0] == {"label": "Tout le territoire", "value": ids.ALL_TERRITORY}
    assert [o["value"] for o in view.facility_options[1:]] == ["a-clinic", "b-hospital"]


def test_replayed_old_data_shows_the_late_badge() -> None:
    view = refresh_overview(_source(), clock=lambda: NOW + timedelta(days=400))
    assert find(view.status, "badge-late")


def test_a_database_outage_keeps_the_last_tiles_and_says_so() -> None:
    source = _source()
    source.down = True
    view = refresh_overview(source, clock=lambda: NOW)
    assert "Base de données injoignable" in text(view.status)
    assert view.facility_tiles is dash.no_update and view.facility_options is dash.no_update
    figure, summary = update_activity(source, ids.ALL_TERRITORY, "period_48h")
    assert figure is dash.no_update and "injoignable" in summary


def test_chart_asks_for_the_picked_scope_and_period() -> None:
    source = _source()
    options = [
        {"label": "Tout le territoire", "value": ids.ALL_TERRITORY},
        {"label": "Clinique A", "value": "a-clinic"},
    ]
    figure, summary = update_activity(source, ids.ALL_TERRITORY, "period_7d", options)
    assert figure.layout.title.text == "Tout le territoire — 7 jours"
    figure, _ = update_activity(source, "a-clinic", "period_30d", options)
    assert figure.layout.title.text == "Clinique A — 30 jours"
    update_activity(source, None, "nonsense")  # a bad period falls back to the default
    assert source.asked == [(None, 168), ("a-clinic", 720), (None, 48)]
    assert "2 admissions" in summary


def test_layout_has_every_id_labelled_inputs_and_the_refresh_pace() -> None:
    page = layout(refresh_s=30)
    found = {getattr(n, "id", None) for n in _components(page)}
    assert {ids.STATUS, ids.FACILITY_TILES, ids.COMMUNE_TABLE, ids.ENVIRONMENT_PANEL, ids.FACILITY_PICKER,
            ids.PERIOD_PICKER, ids.ACTIVITY_CHART, ids.CHART_SUMMARY, ids.REFRESH} <= found
    interval = next(n for n in _components(page) if getattr(n, "id", None) == ids.REFRESH)
    assert interval.interval == 30_000
    labels = [n for n in _components(page) if type(n).__name__ == "Label"]
    assert any(label.htmlFor == ids.FACILITY_PICKER for label in labels)
    legends = [n for n in _components(page) if type(n).__name__ == "Legend"]
    assert [text(legend) for legend in legends] == ["Période"]


def test_create_app_wires_two_callbacks_without_touching_the_database() -> None:
    pool: ConnectionPool = ConnectionPool("dbname=never-opened", open=False)  # no connection is made
    app = create_app(Settings(), pool)
    # the overview's two, the other pages' nine and one per lazy table alternative (dashboard.callbacks_pages)
    assert len(app.callback_map) == 2 + 9 + 3
    assert app.config.external_stylesheets == [] and app.config.external_scripts == []
    assert app.title == "Synopse — Nantes Métropole"


def _components(node: object) -> list[Any]:
    from tests.unit.dashboard.dash_tree import walk

    return [n for n in walk(node) if not isinstance(n, str | int | float)]
