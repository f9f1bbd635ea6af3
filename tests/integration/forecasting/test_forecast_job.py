"""The forecasting job against PostgreSQL: a run on synthetic activity, read back with its record and outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from forecasting.commands import app
from forecasting.jobs import run_forecasts
from synopse.config import Settings
from synopse.db import forecasts as db
from synopse.domain.forecasts import QUANTILE_LEVELS, RunStatus
from synopse.errors import DataUnavailableError
from tests.integration.forecasting.forecast_synthetic import FacilityPlan, load_activity

pytestmark = pytest.mark.integration

END = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Paris: March 1 is the last complete day
PLANS = [
    FacilityPlan("chu-nantes-hotel-dieu", "44109", 120, 40.0, occupied_beds=470.0, beds_total=620),
    FacilityPlan("hp-confluent", "44109", 10, 8.0),  # ten days: too short for the main model
    FacilityPlan("clinique-jules-verne", "44109", 120, 3.0, constant=True),
]


def _settings(dsn: str, **forecast: object) -> Settings:
    # Two weeks ahead and four calibration origins fitted on a first run keep the test quick.
    return Settings(db={"dsn": dsn}, forecast={"horizon_days": 14, "backfill_origins": 4, "backfill_per_run": 4,
                                               "workers": 2, **forecast})


def test_a_run_stores_forecasts_capacity_scores_and_its_record(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        load_activity(conn, PLANS, END)
    settings = _settings(pg_dsn)
    summary = run_forecasts(settings, trigger="schedule")
    assert summary.status is RunStatus.PARTIAL and summary.origin_date == date(2026, 3, 1)
    assert summary.series_total == summary.ok + summary.fallback + summary.skipped

    with psycopg.connect(pg_dsn) as conn:
        run = db.latest_run(conn)
        assert run is not None and run.run_id == summary.run_id
        assert (run.status, run.trigger, run.origin_date) == ("partial", "schedule", date(2026, 3, 1))
        assert run.as_of == END
        assert run.model == "synopse-ensemble" and run.horizon_days == 14 and run.finished_at is not None
        assert run.quantile_levels == list(QUANTILE_LEVELS) and run.parameters["horizon_days"] == 14
        assert run.duration_s is not None and run.duration_s > 0

        outcomes = {(s.metric, s.scope, s.scope_id): s for s in db.series_runs(conn, run.run_id)}
        main = outcomes[("admissions", "facility", "chu-nantes-hotel-dieu")]
        assert (main.status, main.model, main.reason) == ("ok", "synopse-ensemble", None)
        assert (main.data_start, main.data_end, main.observations) == (date(2025, 11, 2), date(2026, 3, 1), 120)
        assert main.parameters["prophet"]["fitted"]["k"]  # fitted parameters as JSON
        short = outcomes[("admissions", "facility", "hp-confluent")]
        assert (short.status, short.model) == ("fallback", "hub-baseline")
        assert short.reason == "short history: 10 days < 42 needed by the main model"
        constant = outcomes[("admissions", "facility", "clinique-jules-verne")]
        assert constant.status == "fallback" and constant.reason == "constant series (every value is 3)"
        assert {("admissions", "territory", "all"), ("admissions", "commune", "44109"),
                ("ed_visits", "facility", "chu-nantes-hotel-dieu"),
                ("bed_occupancy", "facility", "chu-nantes-hotel-dieu"), ("bed_occupancy", "territory", "all")} <= set(
            outcomes)
        assert run.series_ok == sum(s.status == "ok" for s in outcomes.values())
        # Beds occupied in a facility and in the territory are also projected from their admissions; a
        # commune's admissions are counted by residence, so its beds are not.
        for scope, place in (("facility", "chu-nantes-hotel-dieu"), ("territory", "all")):
            beds = outcomes[("bed_occupancy", scope, place)]
            assert beds.status == "ok" and "flow" in beds.parameters["weights"], beds.reason
        commune_beds = outcomes[("bed_occupancy", "commune", "44109")]
        assert commune_beds.status == "ok" and "flow" not in commune_beds.parameters["weights"]

        rows = db.forecast_rows(conn, run.run_id, "admissions", "facility", "chu-nantes-hotel-dieu")
        assert [r.horizon for r in rows] == list(range(1, 15))
        assert rows[0].target_date == date(2026, 3, 2)
        assert all(len(r.quantiles) == 23 and r.quantiles == sorted(r.quantiles) for r in rows)
        assert 10 < rows[0].median < 100
        low, high = rows[6].interval(0.9)
        assert low <= rows[6].median <= high

        outlooks = {(o.scope, o.scope_id): o for o in db.capacity_outlooks(conn, run.run_id)}
        hotel = outlooks[("facility", "chu-nantes-hotel-dieu")]
        assert (hotel.capacity_beds, hotel.capacity_source) == (620.0, "snapshots")
        assert hotel.occupied_now is not None and 300 < hotel.occupied_now < 620
        days = [d for d in db.capacity_days(conn, run.run_id) if d.scope_id == "chu-nantes-hotel-dieu"]
        assert len(days) == 14 and all(0 <= d.p_exceed_capacity <= 1 for d in days)
        alerts_view = conn.execute(
            "SELECT count(*), min(day), max(day) FROM capacity_forecast_daily WHERE facility_id = %s",
            ("chu-nantes-hotel-dieu",),
        ).fetchone()
        assert alerts_view == (14, date(2026, 3, 2), date(2026, 3, 15))

        scores = [s for s in db.forecast_scores(conn, run.run_id) if s.scope_id == "chu-nantes-hotel-dieu"]
        assert ("admissions", 7) in {(s.metric, s.horizon) for s in scores}
        assert all(s.kind == "backtest" and s.origins >= 1 and s.wis >= 0 for s in scores)
        stored = conn.execute("SELECT count(*) FROM forecast_projections").fetchone()
        assert stored is not None and stored[0] == summary.ok * 5  # four calibration origins and today

    # The same data again: the stored projections calibrate it, nothing is refitted for the past.
    again = run_forecasts(settings)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM forecast_projections").fetchone() == (summary.ok * 5,)
        latest = conn.execute("SELECT DISTINCT run_id FROM latest_forecasts").fetchall()
        assert latest == [(again.run_id,)]

    # The next day: the projections stored a week apart (from other weekdays) calibrate it; only today's is new.
    next_day = run_forecasts(settings, as_of=END + timedelta(days=1))
    assert next_day.origin_date == date(2026, 3, 2)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM forecast_projections").fetchone() == (
            summary.ok * 5 + next_day.ok,)


def test_a_series_out_of_time_gets_the_simple_model(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        load_activity(conn, PLANS[:1], END)
    # A hundredth of a second cannot fit Prophet even once (a fit alone takes ~0.2 s here): every main-model
    # series runs out of time, whatever the machine's load.
    summary = run_forecasts(_settings(pg_dsn, series_timeout_s=0.01, regressors=""))
    assert summary.ok == 0 and summary.fallback == summary.series_total
    with psycopg.connect(pg_dsn) as conn:
        reasons = {s.reason for s in db.series_runs(conn, summary.run_id)}
        assert reasons == {"time limit: time limit of 0.01 s exceeded"}
        assert len(db.forecast_rows(conn, summary.run_id)) == 14 * summary.series_total


def test_an_empty_store_says_so(pg_dsn: str) -> None:
    with pytest.raises(DataUnavailableError, match="no data in the store"):
        run_forecasts(_settings(pg_dsn))
    with psycopg.connect(pg_dsn) as conn:
        assert db.latest_run(conn, finished_only=False) is None


def test_the_run_command(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(pg_dsn) as conn:
        load_activity(conn, PLANS[1:], END)  # short and constant series only: the simple model, quickly
    monkeypatch.setenv("SYNOPSE_DB__DSN", pg_dsn)
    monkeypatch.setenv("SYNOPSE_FORECAST__HORIZON_DAYS", "7")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert "partial" in result.stdout and "simple model" in result.stdout
    assert "short history" in result.stdout and "constant series" in result.stdout
    monkeypatch.setenv("SYNOPSE_FORECAST__HORIZON_DAYS", "0")
    bad = CliRunner().invoke(app, ["run"])
    assert bad.exit_code == 2 and "SYNOPSE_FORECAST__HORIZON_DAYS" in bad.output


def test_the_scheduler_runs_on_new_data_and_on_schedule(pg_dsn: str) -> None:
    from forecasting.scheduler import due, run_schedule

    settings = _settings(pg_dsn, horizon_days=7)
    assert due(settings) is None  # no data yet: nothing to do
    with psycopg.connect(pg_dsn) as conn:
        load_activity(conn, PLANS[1:], END)
    assert due(settings) == "new_data"
    runs: list[object] = []
    assert run_schedule(settings, on_run=runs.append, max_runs=1) == 1
    with psycopg.connect(pg_dsn) as conn:
        latest = db.latest_run(conn)
        assert latest is not None and latest.trigger == "new_data"
    assert due(settings) is None  # current
    later = latest.started_at + timedelta(hours=settings.forecast.refresh_hours)
    assert due(settings, now=later) == "schedule"
    with psycopg.connect(pg_dsn) as conn:  # a new complete day of data
        conn.execute("UPDATE source_freshness SET last_event_at = last_event_at + interval '1 day'")
        conn.commit()
    assert due(settings) == "new_data"


def test_published_forecasts_are_scored_once_observed(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        load_activity(conn, PLANS[1:], END)  # the simple model only: quick
    settings = _settings(pg_dsn, horizon_days=7, regressors="")
    week_before = run_forecasts(settings, as_of=END - timedelta(days=8))
    assert week_before.origin_date == date(2026, 2, 21)
    with psycopg.connect(pg_dsn) as conn:
        kinds = {s.kind for s in db.forecast_scores(conn, week_before.run_id)}
        assert "prospective" not in kinds  # nothing published before it
    now = run_forecasts(settings)  # origin 2026-03-01: the 7-day target of 2026-02-21 (02-28) is observed
    with psycopg.connect(pg_dsn) as conn:
        scores = [s for s in db.forecast_scores(conn, now.run_id) if s.kind == "prospective"]
        by_series = {(s.metric, s.scope, s.scope_id, s.horizon): s for s in scores}
        constant = by_series[("admissions", "facility", "clinique-jules-verne", 7)]
        # Three a day, forecast as three a day by the baseline it fell back to: a perfect score, one origin.
        assert (constant.origins, constant.wis, constant.mae, constant.coverage_90) == (1, 0.0, 0.0, 1.0)
        territory = by_series[("admissions", "territory", "all", 7)]
        assert territory.origins == 1 and territory.wis >= 0 and territory.wis_baseline >= 0
        assert {s.horizon for s in scores} == {7}
