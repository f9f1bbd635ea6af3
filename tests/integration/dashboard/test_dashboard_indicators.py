"""The dashboard's queries on real PostgreSQL: the numbers match the events loaded through ingestion."""

from __future__ import annotations

import itertools
from datetime import timedelta

import psycopg
import pytest

from synopse.db.indicators import (
    commune_activity,
    facility_statuses,
    hourly_activity,
    latest_data_time,
    latest_environment,
    load_overview,
    set_statement_timeout,
    source_freshness,
)
from tests.integration.dashboard.dashboard_synthetic import HOUR, REFERENCE

pytestmark = pytest.mark.integration


def test_reference_time_is_the_newest_event(loaded_dsn: str) -> None:
    with psycopg.connect(loaded_dsn) as conn:
        assert latest_data_time(conn) == REFERENCE


def test_facility_tiles_count_what_was_loaded(loaded_dsn: str) -> None:
    with psycopg.connect(loaded_dsn) as conn:
        rows = {row.facility_id: row for row in facility_statuses(conn, REFERENCE)}
    assert "clinique-inconnue" not in rows  # not in the reference data: no tile
    confluent = rows["hp-confluent"]
    assert (confluent.beds_occupied, confluent.beds_total, confluent.units_reporting) == (346, 386, 3)
    assert confluent.occupancy_rate == pytest.approx(346 / 386)
    assert confluent.snapshot_at == HOUR  # the oldest unit's latest snapshot
    assert (confluent.admissions_24h, confluent.admissions_prev_24h) == (6, 3)
    assert (confluent.ed_visits_last_hour, confluent.ed_visits_24h) == (3, 6)
    hotel_dieu = rows["chu-nantes-hotel-dieu"]
    assert hotel_dieu.occupancy_rate == pytest.approx(1010 / 1040)
    assert (hotel_dieu.admissions_24h, hotel_dieu.admissions_prev_24h) == (4, 0)
    silent = rows["chu-nantes-bellier"]
    assert silent.beds_total is None and silent.occupancy_rate is None and silent.planned_beds == 210
    assert (silent.admissions_24h, silent.ed_visits_24h) == (0, 0)


def test_windows_follow_the_reference_instant(loaded_dsn: str) -> None:
    with psycopg.connect(loaded_dsn) as conn:
        day_before = {r.facility_id: r for r in facility_statuses(conn, REFERENCE - timedelta(days=1))}
    assert (day_before["hp-confluent"].admissions_24h, day_before["hp-confluent"].admissions_prev_24h) == (3, 1)


def test_commune_activity_by_residence_with_rates(loaded_dsn: str) -> None:
    with psycopg.connect(loaded_dsn) as conn:
        rows = commune_activity(conn, REFERENCE)
        today = {r.commune_code: r for r in commune_activity(conn, REFERENCE, days=1)}
    by_code = {r.commune_code: r for r in rows}
    assert len(rows) == 25 and rows[-1].commune_code is None  # 24 communes, then the "other" row
    assert rows[0].name == "Nantes"  # by descending population
    assert (by_code["44109"].admissions, by_code["44109"].ed_visits) == (9, 5)
    assert (by_code["44143"].admissions, by_code["44143"].ed_visits) == (1, 1)
    assert (by_code["44162"].admissions, by_code["44162"].ed_visits) == (4, 0)
    assert (by_code[None].admissions, by_code[None].ed_visits) == (2, 1)  # unknown + Paris
    assert sum(r.admissions for r in rows) == 16 and sum(r.ed_visits for r in rows) == 7
    assert by_code["44109"].admissions_per_100k == pytest.approx(9 * 100_000 / 323_000)
    assert by_code[None].admissions_per_100k is None
    assert today["44109"].admissions == 4  # since local midnight: 2 at hp-confluent + 2 at the unknown clinic


def test_hourly_series_for_a_facility_and_the_territory(loaded_dsn: str) -> None:
    with psycopg.connect(loaded_dsn) as conn:
        facility = hourly_activity(conn, hours=48, facility_id="hp-confluent")
        territory = hourly_activity(conn, hours=48)
    assert len(facility) == 48 and facility[-1].bucket == HOUR and facility[0].bucket == HOUR - timedelta(hours=47)
    assert all(b.bucket - a.bucket == timedelta(hours=1) for a, b in itertools.pairwise(facility))
    assert sum(p.admissions for p in facility) == 9 and sum(p.ed_visits for p in facility) == 7
    assert facility[-1].occupancy_rate == pytest.approx(346 / 386)
    assert facility[-2].occupancy_rate == pytest.approx(100 / 150)  # only medicine reported at 11:00
    assert facility[-3].occupancy_rate is None
    assert sum(p.admissions for p in territory) == 15  # hp-confluent 9 + Hôtel-Dieu 4 + unknown clinic 2
    assert territory[-1].beds_total == 386 + 1040


def test_latest_environment_per_indicator(loaded_dsn: str) -> None:
    with psycopg.connect(loaded_dsn) as conn:
        readings = {r.indicator: r for r in latest_environment(conn, REFERENCE)}
    assert set(readings) == {"temperature", "pm10", "no2"}
    temperature, pm10 = readings["temperature"], readings["pm10"]
    assert temperature.value_mean == 9.5 and temperature.bucket == HOUR and temperature.unit == "°C"
    assert temperature.station_name == "Nantes-Bouguenais (Météo-France)"
    assert (pm10.value_mean, pm10.value_max, pm10.stations, pm10.station_name) == (25.0, 30.0, 2, None)
    assert pm10.unit == "µg/m³"


def test_freshness_lists_every_source(loaded_dsn: str) -> None:
    with psycopg.connect(loaded_dsn) as conn:
        sources = source_freshness(conn)
    assert len(sources) == 9
    weather = next(s for s in sources if s.source_id == "07222")
    assert weather.station_kind == "weather" and weather.events_total == 2


def test_an_empty_store_lists_facilities_without_inventing_numbers(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        set_statement_timeout(conn)
        overview = load_overview(conn)
        assert hourly_activity(conn, hours=48) == []
    assert overview.reference_time is None
    assert len(overview.facilities) == 8
    assert all(f.occupancy_rate is None and f.admissions_24h == 0 for f in overview.facilities)
    assert overview.environment == [] and overview.freshness == []


def test_a_slow_query_is_cancelled_by_the_statement_timeout(loaded_dsn: str) -> None:
    with psycopg.connect(loaded_dsn) as conn:
        set_statement_timeout(conn, timedelta(milliseconds=50))
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(1)")


def test_a_source_clock_running_ahead_does_not_pull_now_into_the_future(pg_dsn: str) -> None:
    from datetime import UTC, datetime

    from tests.integration.dashboard.dashboard_synthetic import load_events, visit

    load_events(pg_dsn, [visit(datetime.now(UTC) + timedelta(days=1), "hp-confluent")])
    with psycopg.connect(pg_dsn) as conn:
        reference = latest_data_time(conn)
    assert reference is not None and reference <= datetime.now(UTC)
