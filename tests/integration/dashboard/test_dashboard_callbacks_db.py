"""The page's callbacks over a real pool: what the tiles and the chart say matches the loaded events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
import psycopg
import pytest
from psycopg_pool import ConnectionPool

from dashboard import ids
from dashboard.callbacks import PoolSource, refresh_overview, update_activity
from tests.integration.dashboard.dashboard_synthetic import REFERENCE
from tests.unit.dashboard.dash_tree import find, text

pytestmark = pytest.mark.integration


def _tile(tiles: list[Any], name: str) -> str:
    return next(text(tile) for tile in tiles if name in text(tile))


def test_refresh_shows_the_loaded_numbers(pool: ConnectionPool[Any]) -> None:
    view = refresh_overview(PoolSource(pool), clock=lambda: REFERENCE + timedelta(minutes=10))
    confluent = _tile(view.facility_tiles, "Hôpital Privé du Confluent")
    assert "90\u202f%" in confluent and "tension" in confluent and "Lits occupés : 346 / 386" in confluent
    assert "Admissions 24 h : 6" in confluent and "Urgences 24 h : 6" in confluent
    hotel_dieu = _tile(view.facility_tiles, "Hôtel-Dieu")
    assert "97\u202f%" in hotel_dieu and "saturation" in hotel_dieu
    assert "pas de données" in _tile(view.facility_tiles, "Bellier")
    assert "Dernières données : 15/01/2025 13:40" in text(view.status) and find(view.status, "badge-ok")
    assert "Nantes 323\u202f000 9" in text(view.commune_table)
    assert "9,5\u00a0°C" in text(view.environment)
    assert len(view.facility_options) == 9


def test_chart_over_the_pool(pool: ConnectionPool[Any]) -> None:
    figure, summary = update_activity(PoolSource(pool), "hp-confluent", "period_48h")
    admissions, visits, occupancy = figure.data
    assert sum(admissions.y) == 9 and sum(visits.y) == 7
    assert occupancy.y[-1] == pytest.approx(100 * 346 / 386)
    assert "9 admissions" in summary
    figure, _ = update_activity(PoolSource(pool), ids.ALL_TERRITORY, "period_7d")
    assert len(figure.data[0].y) == 7 * 24 and sum(figure.data[0].y) == 16  # with the one 48 h ago


def test_dropped_connections_show_an_outage_then_recover(pool: ConnectionPool[Any], loaded_dsn: str) -> None:
    source = PoolSource(pool)
    dbname = psycopg.conninfo.conninfo_to_dict(loaded_dsn)["dbname"]
    with psycopg.connect(loaded_dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
    outage = refresh_overview(source, clock=lambda: REFERENCE)
    assert "injoignable" in text(outage.status) and outage.facility_tiles is dash.no_update
    pool.check()  # what the pool does in the background: replace the broken connections
    assert len(refresh_overview(source, clock=lambda: REFERENCE).facility_tiles) == 8
