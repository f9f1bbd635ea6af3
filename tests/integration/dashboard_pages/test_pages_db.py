"""The pages' queries and plain callbacks against a real PostgreSQL loaded with known events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import dash
import plotly.graph_objects as go
import plotly.io.json
import psycopg
import pytest
from dash.exceptions import PreventUpdate
from psycopg_pool import ConnectionPool

from dashboard import callbacks_pages as cb
from dashboard.pages import router
from dashboard.text import t
from synopse.db import pages
from synopse.db.connection import open_pool
from synopse.domain.access import Principal, Role
from synopse.domain.territory import COMMUNES, FACILITIES
from tests.integration.dashboard.dashboard_synthetic import REFERENCE, exact_events, load_events
from tests.integration.dashboard_pages.pages_support import insert_firing_alert, insert_forecast
from tests.unit.dashboard.dash_tree import text

pytestmark = pytest.mark.integration

CRISIS = Principal("cellule", Role.CRISIS_CELL, user_id=1)
VIEWER = Principal("lecteur", Role.VIEWER, user_id=2)
PARTNER = Principal("partenaire", Role.PARTNER, user_id=3, organisation_id=1, organisation="ars")


@pytest.fixture
def loaded(pg_dsn: str) -> str:
    load_events(pg_dsn, exact_events())
    return pg_dsn


@pytest.fixture
def pool(loaded: str) -> Iterator[ConnectionPool[Any]]:
    opened = open_pool(loaded, min_size=1, max_size=2, timeout_s=10)
    try:
        yield opened
    finally:
        opened.close()


def test_detail_reads_observed_days_capacity_and_says_forecasts_are_missing(pool: ConnectionPool[Any]) -> None:
    source = cb.PoolPageSource(pool, now=REFERENCE)
    data = source.detail("facility:hp-confluent", "admissions", 30, "temperature")
    assert len(data.observed) == 30 and data.observed[-1].day == date(2025, 1, 15)
    # Jan 15 local day: five admissions (the cancelled one excluded); Jan 14 local: three.
    assert data.observed[-1].admissions == 5
    assert data.observed[-2].admissions == 3
    assert data.capacity == 150 + 220 + 16
    assert data.forecast == [] and data.outlook is None  # the forecast tables exist, no run yet
    assert [e.indicator for e in data.environment] == ["temperature"]
    view = cb.update_detail(source, "facility:hp-confluent", "admissions", "period_30d", "temperature", None)
    assert "Aucune prévision calculée" in view[1]


def test_detail_draws_the_latest_finished_forecast_and_the_capacity_outlook(
    loaded: str, pool: ConnectionPool[Any]
) -> None:
    insert_forecast(loaded, "hp-confluent", date(2025, 1, 15))
    source = cb.PoolPageSource(pool, now=REFERENCE)
    data = source.detail("facility:hp-confluent", "bed_occupancy", 30, "temperature")
    assert [f.target_date for f in data.forecast or []] == [date(2025, 1, 16), date(2025, 1, 17)]
    assert data.forecast is not None and data.forecast[0].quantiles[11] == 350.0  # the median
    assert data.outlook is not None and data.outlook.max_p_exceed == 0.35
    figure, summary, table, *_ = cb.update_detail(source, "facility:hp-confluent", "bed_occupancy", "period_30d",
                                                  "temperature", None)
    assert "Prévision (médiane)" in [trace["name"] for trace in figure["data"] if "name" in trace]
    assert table["rows"][-2][0] == "2025-01-16" and table["rows"][-2][2] == "350,0"  # the table's forecast rows
    assert "médiane 350" in summary and "35" in summary and "20/01/2025" in summary


def test_pages_say_not_available_when_the_forecast_tables_are_absent(loaded: str, pool: ConnectionPool[Any]) -> None:
    with psycopg.connect(loaded) as conn:
        conn.execute("DROP TABLE forecast_runs, forecasts, forecast_scores, capacity_outlooks CASCADE")
    source = cb.PoolPageSource(pool, now=REFERENCE)
    view = cb.update_detail(source, "territory", "admissions", "period_30d", "temperature", None)
    assert "Prévisions : pas encore disponible" in text(view[7])
    table, digest = cb.update_quality(source, None)
    assert "pas encore disponible" in text(table) and digest == "missing"


def test_commune_detail_counts_residents(pool: ConnectionPool[Any]) -> None:
    data = cb.PoolPageSource(pool, now=REFERENCE).detail("commune:44143", "admissions", 30, "pm10")
    # One resident of 44143 admitted on Jan 15 (hp-confluent); no facility located in Rezé reports beds.
    assert data.observed[-1].admissions == 1


def test_map_lists_every_commune_and_facility(pool: ConnectionPool[Any]) -> None:
    data = cb.PoolPageSource(pool, now=REFERENCE).map_data()
    assert len(data.communes) == len(COMMUNES) == 24
    assert {f.facility_id for f in data.facilities} == {f.facility_id for f in FACILITIES}
    nantes = next(c for c in data.communes if c.commune_code == "44109")
    assert nantes.admissions >= 5
    # The page's answer: a figure plotly accepts as it is (one trace of communes, one per facility), the tables.
    source = cb.PoolPageSource(pool, now=REFERENCE)
    figure, tables, digest = cb.update_map(source, None)
    validated = go.Figure(figure)
    assert json.loads(plotly.io.json.to_json_plotly(validated)) == json.loads(plotly.io.json.to_json_plotly(figure))
    assert len(validated.data) == 1 + len(FACILITIES)
    assert validated.data[0].customdata[0].startswith("commune:") and validated.data[0].marker.color[0] >= 0
    assert all(name in text(tables) for name in [c.name for c in COMMUNES] + [f.name for f in FACILITIES])
    assert cb.update_map(source, digest) == (dash.no_update,) * 3  # nothing changed: nothing sent


def test_alerts_page_lists_the_alert_and_the_ledger_and_acknowledges(loaded: str, pool: ConnectionPool[Any]) -> None:
    alert_id = insert_firing_alert(loaded, REFERENCE)
    source = cb.PoolPageSource(pool, now=REFERENCE)
    firing, _recent, options, ledger, permission, digest = cb.update_alerts(source, True, None)
    shown = text(firing)
    assert "Hôpital Privé du Confluent" in shown and "grave" in shown
    assert "Observé 42 Attendu 20 Seuil 31" in shown
    assert options[0]["value"] == alert_id
    assert "Cellule de crise (webhook)" in text(ledger)
    assert permission is None
    assert cb.update_alerts(source, True, digest) == (dash.no_update,) * 6  # nothing changed: nothing sent
    assert cb.act_on_alert(source, VIEWER, "ack", alert_id, "vu", 1) == t("alerts_no_permission")
    assert cb.act_on_alert(source, CRISIS, "ack", alert_id, "pris en charge", 1) == t("alerts_acked_done")
    assert cb.act_on_alert(source, CRISIS, "silence", alert_id, "", 8) == t("alerts_silenced_done", hours=8)
    with psycopg.connect(loaded) as conn:
        ack = conn.execute("SELECT acked_by, comment FROM alert_acks WHERE alert_id = %s", (alert_id,)).fetchone()
        silence = conn.execute("SELECT rule_id, scope_key FROM alert_silences").fetchone()
        audit = conn.execute("SELECT action, outcome FROM access_audit ORDER BY audit_id").fetchall()
    assert ack == ("cellule", "pris en charge")
    assert silence == ("ed-visits-surge", "facility:hp-confluent")
    # The viewer's refused ack is on record too.
    assert audit == [("alert.ack", "denied"), ("alert.ack", "ok"), ("alert.silence", "ok")]
    firing, *_ = cb.update_alerts(source, True, digest)
    assert "Acquittée par cellule" in text(firing)


def test_quality_lists_the_latest_scores_and_health_reads_the_pipeline(loaded: str, pool: ConnectionPool[Any]) -> None:
    source = cb.PoolPageSource(pool, now=REFERENCE)
    assert "Aucun score" in text(cb.update_quality(source, None)[0])
    insert_forecast(loaded, "hp-confluent", date(2025, 1, 15))
    table, _ = cb.update_quality(source, None)
    assert "J+1" in text(table) and "0,62" in text(table) and "✓ fiable" in text(table)
    topics, sources, _ = cb.update_health(source, lambda: REFERENCE, None)
    assert "Aucun flux" in text(topics)  # the view exists (migration 0046), no worker wrote yet
    assert "Lits" in text(sources)


def test_missing_relations_names_only_what_is_missing(pool: ConnectionPool[Any]) -> None:
    with pool.connection() as conn:
        assert pages.missing_relations(conn, ["alerts", "no_such_table", "communes"]) == ["no_such_table"]


def test_protected_principals_get_no_page_and_no_data() -> None:
    for principal in (VIEWER, PARTNER, None):
        page = cb.render(router.ALERTS_PATH, "", principal, 15, lambda: None)
        assert t("shared_not_available") in text(page)
        with pytest.raises(PreventUpdate):
            cb.exact_principal(principal)
    assert cb.exact_principal(CRISIS) is CRISIS
