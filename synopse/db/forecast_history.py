"""Forecasts stored by earlier runs, read back to be scored once their target days are observed.

Boundary: SQL only (the caller owns the transaction). The prospective scores of the forecasting job compare
what the platform published at each earlier origin with what was then observed; this module finds those
forecasts: for each origin day, the newest finished run of that day (a day refreshed several times keeps
its last forecast, the one the dashboard showed last).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import Connection
from psycopg.rows import class_row


@dataclass(frozen=True)
class PastForecast:
    metric: str
    scope: str
    scope_id: str
    origin_date: date
    horizon: int
    quantiles: list[float]


def past_forecasts(
    conn: Connection[Any], *, origins_from: date, origins_before: date, targets_until: date, horizons: Sequence[int]
) -> list[PastForecast]:
    """Forecasts at ``horizons`` of runs with an origin in [``origins_from``, ``origins_before``) and a target
    day up to ``targets_until``, the newest finished (succeeded or partial) run of each origin day."""
    with conn.cursor(row_factory=class_row(PastForecast)) as cur:
        cur.execute(
            """WITH latest AS (
                   SELECT DISTINCT ON (origin_date) run_id, origin_date
                   FROM forecast_runs
                   WHERE status IN ('succeeded', 'partial') AND origin_date >= %s AND origin_date < %s
                   ORDER BY origin_date, started_at DESC
               )
               SELECT f.metric, f.scope, f.scope_id, l.origin_date, f.horizon, f.quantiles
               FROM forecasts f JOIN latest l USING (run_id)
               WHERE f.horizon = ANY(%s) AND f.target_date <= %s
               ORDER BY f.metric, f.scope, f.scope_id, l.origin_date, f.horizon""",
            (origins_from, origins_before, list(horizons), targets_until),
        )
        return cur.fetchall()
