"""The forecasting job on TimescaleDB: same tables and views, series read from the continuous aggregates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from forecasting.jobs import run_forecasts
from synopse.config import Settings, TimescaleMode
from synopse.db import forecast_inputs as inputs
from synopse.db import forecasts as db
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.domain.forecasts import Metric
from tests.integration.forecasting.forecast_synthetic import FacilityPlan, load_activity
from tests.services.timescaledb import TimescaleServer

pytestmark = pytest.mark.integration

END = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_a_run_on_timescaledb(timescaledb_server: TimescaleServer, schema: str) -> None:
    with timescaledb_server.connect(schema, autocommit=True) as conn:
        migrate(conn, timescale=TimescaleMode.REQUIRE)
    with timescaledb_server.connect(schema, autocommit=False) as conn:
        seed_territory(conn)
        # Occupancy and a short series only: the daily series come from the continuous aggregates.
        load_activity(conn, [FacilityPlan("hp-confluent", "44109", 70, 6.0, occupied_beds=300.0, beds_total=386),
                             FacilityPlan("sante-atlantique", "44162", 9, 4.0)], END)
        counts = inputs.daily_counts(conn, Metric.ADMISSIONS, date(2026, 2, 20), date(2026, 3, 1))
        assert {(c.scope, c.scope_id) for c in counts} >= {("facility", "hp-confluent"), ("territory", "all"),
                                                           ("commune", "44109"), ("facility", "sante-atlantique")}
        capacity = {(c.scope, c.scope_id): c.beds for c in inputs.capacities(conn, END)}
        assert capacity[("facility", "hp-confluent")] == 386.0

        settings = Settings(forecast={"horizon_days": 7, "backfill_origins": 5, "workers": 2, "regressors": ""})
        summary = run_forecasts(settings, as_of=END, conn=conn)
        assert summary.series_total == summary.ok + summary.fallback + summary.skipped > 0
        run = db.get_run(conn, summary.run_id)
        assert run is not None and run.status in ("succeeded", "partial") and run.origin_date == date(2026, 3, 1)
        outcomes = {(s.metric, s.scope_id): s for s in db.series_runs(conn, run.run_id)}
        beds = outcomes[("bed_occupancy", "hp-confluent")]
        assert beds.status == "ok", beds.reason
        assert outcomes[("admissions", "sante-atlantique")].reason == (
            "short history: 9 days < 42 needed by the main model")
        rows = db.forecast_rows(conn, run.run_id, "bed_occupancy", "facility", "hp-confluent")
        assert len(rows) == 7 and all(max(r.quantiles) <= 386 * 1.2 + 1e-6 for r in rows)
        view = conn.execute(
            "SELECT count(*) FROM capacity_forecast_daily WHERE facility_id = 'hp-confluent' AND run_id = %s",
            (run.run_id,),
        ).fetchone()
        assert view == (7,)
