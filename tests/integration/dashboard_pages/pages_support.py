"""Helpers of the pages' integration and browser tests: an alert with a notification, written with SQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from synopse.domain.forecasts import QUANTILE_LEVELS


def insert_firing_alert(dsn: str, at: datetime, *, facility: str = "hp-confluent") -> str:
    """A firing ED-visits alert on ``facility`` (observed 42 vs 20 expected, threshold 31) with a delivered
    notification to one internal webhook subscriber; returns the alert id."""
    alert_id = str(uuid.uuid4())
    details = {"algorithm": "ears_c2", "observed": 42, "expected": 20.0, "upper_bound": 31.0}
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """INSERT INTO alerts (alert_id, rule_id, scope_key, indicator, status, severity, pending_since,
                                   firing_since, value, details, summary, notified)
               VALUES (%s, 'ed-visits-surge', %s, 'ed_visits', 'firing', 'severe', %s, %s, 42, %s,
                       'ears_c2: 42 ED visits vs 20.0 expected (upper bound 31.0)', true)""",
            (alert_id, f"facility:{facility}", at - timedelta(minutes=30), at, Jsonb(details)),
        )
        row = conn.execute(
            "INSERT INTO alert_events (alert_id, kind, at, severity, value) VALUES (%s, 'firing', %s, 'severe', 42)"
            " RETURNING event_id", (alert_id, at),
        ).fetchone()
        assert row is not None
        conn.execute(
            """INSERT INTO alert_subscribers (subscriber_id, name, kind, target)
               VALUES ('cellule-webhook', 'Cellule de crise (webhook)', 'webhook', 'http://127.0.0.1:9/hook')
               ON CONFLICT DO NOTHING""")
        conn.execute(
            """INSERT INTO alert_notifications (notification_id, subscriber_id, alert_id, event_id, event_kind,
                                                payload, status, attempts, delivered_at)
               VALUES (%s, 'cellule-webhook', %s, %s, 'firing', '{}', 'delivered', 1, %s)""",
            (str(uuid.uuid4()), alert_id, row[0], at),
        )
    return alert_id


def insert_forecast(dsn: str, facility: str, origin: date) -> str:
    """A finished run forecasting ``facility``'s occupied beds two days ahead (median 350, quantiles 300 + 100 q),
    with a capacity outlook (35 % chance of exceeding it, saturation on the fifth day) and one score."""
    run_id = str(uuid.uuid4())
    quantiles = [300 + 100 * level for level in QUANTILE_LEVELS]
    with psycopg.connect(dsn) as conn:
        conn.execute(
            """INSERT INTO forecast_runs (run_id, finished_at, as_of, origin_date, trigger, status, model,
                                          model_version, horizon_days, quantile_levels, series_total, series_ok)
               VALUES (%s, now(), now(), %s, 'manual', 'succeeded', 'prophet', 't', 2, %s, 1, 1)""",
            (run_id, origin, list(QUANTILE_LEVELS)))
        conn.execute(
            """INSERT INTO forecast_series_runs (run_id, metric, scope, scope_id, status, model)
               VALUES (%s, 'bed_occupancy', 'facility', %s, 'ok', 'prophet')""", (run_id, facility))
        for horizon in (1, 2):
            conn.execute(
                """INSERT INTO forecasts (run_id, metric, scope, scope_id, target_date, horizon, quantiles)
                   VALUES (%s, 'bed_occupancy', 'facility', %s, %s, %s, %s)""",
                (run_id, facility, origin + timedelta(days=horizon), horizon, quantiles))
        conn.execute(
            """INSERT INTO capacity_outlooks (run_id, scope, scope_id, capacity_beds, capacity_source, occupied_now,
                                              max_p_exceed, saturation_date)
               VALUES (%s, 'facility', %s, 386, 'snapshots', 346, 0.35, %s)""",
            (run_id, facility, origin + timedelta(days=5)))
        conn.execute(
            """INSERT INTO forecast_scores (run_id, metric, scope, scope_id, kind, horizon, origins, wis, wis_baseline,
                                            relative_wis, mae, coverage_50, coverage_90)
               VALUES (%s, 'bed_occupancy', 'facility', %s, 'backtest', 1, 30, 6.2, 10, 0.62, 8, 0.5, 0.88)""",
            (run_id, facility))
    return run_id
