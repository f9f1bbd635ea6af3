"""The dashboard's queries on TimescaleDB: the continuous aggregates give the same answers as the views.

Checked twice: before any refresh (real-time aggregation reads the raw rows) and after materialising
every bucket (the aggregates' own tables answer).
"""

from __future__ import annotations

import pytest
from psycopg import sql

from synopse.config import TimescaleMode
from synopse.db.indicators import hourly_activity, load_overview, set_statement_timeout
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.domain.indicators import Overview
from tests.integration.dashboard.dashboard_synthetic import REFERENCE, exact_events, load_events
from tests.services.timescaledb import TimescaleServer

pytestmark = pytest.mark.integration

AGGREGATES = (
    "admissions_hourly", "admissions_commune_daily", "emergency_visits_hourly", "emergency_visits_commune_daily",
    "bed_occupancy_hourly", "environment_hourly", "environment_daily",
)


def _assert_exact_answers(overview: Overview, series: list) -> None:
    facilities = {f.facility_id: f for f in overview.facilities}
    confluent = facilities["hp-confluent"]
    assert overview.reference_time == REFERENCE
    assert (confluent.beds_occupied, confluent.beds_total) == (346, 386)
    assert (confluent.admissions_24h, confluent.admissions_prev_24h) == (6, 3)
    assert (confluent.ed_visits_last_hour, confluent.ed_visits_24h) == (3, 6)
    communes = {c.commune_code: c for c in overview.communes}
    assert (communes["44109"].admissions, communes["44109"].ed_visits) == (9, 5)
    assert (communes[None].admissions, communes[None].ed_visits) == (2, 1)
    environment = {e.indicator: e for e in overview.environment}
    assert (environment["pm10"].value_mean, environment["pm10"].stations) == (25.0, 2)
    assert len(series) == 48 and sum(p.admissions for p in series) == 9 and sum(p.ed_visits for p in series) == 7
    assert series[-1].occupancy_rate == pytest.approx(346 / 386)


def test_same_answers_on_continuous_aggregates(timescaledb_server: TimescaleServer, schema: str) -> None:
    with timescaledb_server.connect(schema, autocommit=True) as conn:
        migrate(conn, timescale=TimescaleMode.REQUIRE)
    with timescaledb_server.connect(schema, autocommit=False) as conn:
        seed_territory(conn)
    load_events(timescaledb_server.dsn, exact_events(), schema=schema)

    with timescaledb_server.connect(schema, autocommit=False) as conn:
        set_statement_timeout(conn)
        _assert_exact_answers(load_overview(conn), hourly_activity(conn, hours=48, facility_id="hp-confluent"))

    with timescaledb_server.connect(schema, autocommit=True) as conn:
        for name in AGGREGATES:
            conn.execute(sql.SQL("CALL refresh_continuous_aggregate({}, NULL, NULL)").format(sql.Literal(name)))
    with timescaledb_server.connect(schema, autocommit=False) as conn:
        _assert_exact_answers(load_overview(conn), hourly_activity(conn, hours=48, facility_id="hp-confluent"))
