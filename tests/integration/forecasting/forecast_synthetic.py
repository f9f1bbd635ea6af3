"""Synthetic hospital activity written straight into the raw tables, for the forecasting job's tests.

Daily counts drawn with a seeded generator (a weekly pattern and a slow wave), expanded into events by SQL;
bed snapshots every six hours; a daily temperature. Small on purpose: a few facilities, a few months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg

# Weekday factors of admissions (Monday first): fewer scheduled admissions at weekends.
WEEKLY = np.array([1.15, 1.1, 1.05, 1.05, 1.0, 0.8, 0.85])


@dataclass(frozen=True)
class FacilityPlan:
    facility_id: str
    commune_code: str
    days: int  # days of history ending at the end date
    admissions_per_day: float
    constant: bool = False  # the same count every day
    occupied_beds: float | None = None  # bed snapshots of its medicine unit, if any
    beds_total: int = 0


def daily_counts(plan: FacilityPlan, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(plan.days)
    if plan.constant:
        return np.full(plan.days, round(plan.admissions_per_day), dtype=np.int64)
    wave = 1 + 0.35 * np.sin(2 * np.pi * t / 60)
    days = (np.arange(plan.days) - plan.days) % 7
    mean = plan.admissions_per_day * wave * WEEKLY[days]
    return rng.poisson(mean)


def load_activity(conn: psycopg.Connection[Any], plans: list[FacilityPlan], end: datetime, seed: int = 7) -> None:
    """Write admissions, ED visits, bed snapshots and temperatures for ``plans``, ending the day before ``end``."""
    rng = np.random.default_rng(seed)
    last_day = end.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    days, facilities, counts, communes = [], [], [], []
    snaps: list[tuple[str, datetime, int, int]] = []
    for plan in plans:
        values = daily_counts(plan, rng)
        for i, n in enumerate(values):
            day = last_day - timedelta(days=plan.days - 1 - i) + timedelta(hours=10)  # daytime in Paris
            days.append(day)
            facilities.append(plan.facility_id)
            counts.append(int(n))
            communes.append(plan.commune_code)
            if plan.occupied_beds is not None:
                level = plan.occupied_beds * (1 + 0.25 * np.sin(2 * np.pi * i / 60))
                for hour in (0, 6, 12, 18):
                    snaps.append((plan.facility_id, day - timedelta(hours=10) + timedelta(hours=hour),
                                  plan.beds_total, int(max(0, level + rng.normal(0, 2)))))
    with conn.transaction():
        conn.execute(
            """INSERT INTO admissions (event_id, admitted_at, facility_id, care_unit, age_band, reason, patient_key,
                                       commune_code)
               SELECT gen_random_uuid(), d.day + make_interval(mins => g %% 600), d.facility, 'medicine', '15-74',
                      'respiratory', md5(d.facility || g::text || d.day::text) || md5(g::text), d.commune
               FROM unnest(%s::timestamptz[], %s::text[], %s::int[], %s::text[]) AS d (day, facility, n, commune)
               CROSS JOIN LATERAL generate_series(1, d.n) AS g""",
            (days, facilities, counts, communes),
        )
        conn.execute(
            """INSERT INTO emergency_visits (event_id, arrived_at, facility_id, age_band, reason, commune_code)
               SELECT gen_random_uuid(), d.day + make_interval(mins => g %% 600), d.facility, '15-74', 'respiratory',
                      d.commune
               FROM unnest(%s::timestamptz[], %s::text[], %s::int[], %s::text[]) AS d (day, facility, n, commune)
               CROSS JOIN LATERAL generate_series(1, 2 * d.n) AS g""",
            (days, facilities, counts, communes),
        )
        if snaps:
            conn.execute(
                """INSERT INTO bed_snapshots (facility_id, care_unit, observed_at, beds_total, beds_occupied, event_id)
                   SELECT s.facility, 'medicine', s.at, s.total, s.occupied, gen_random_uuid()
                   FROM unnest(%s::text[], %s::timestamptz[], %s::int[], %s::int[]) AS s (facility, at, total, occupied)
                   ON CONFLICT DO NOTHING""",
                ([s[0] for s in snaps], [s[1] for s in snaps], [s[2] for s in snaps], [s[3] for s in snaps]),
            )
        span = max(plan.days for plan in plans)
        temperature_days = [last_day - timedelta(days=i) + timedelta(hours=13) for i in range(span)]
        conn.execute(
            """INSERT INTO environment_observations (station_id, indicator, observed_at, value, unit, event_id)
               SELECT station_id, 'temperature', t.at, 15 + 8 * sin(extract(doy FROM t.at) / 58.0), '°C',
                      gen_random_uuid()
               FROM unnest(%s::timestamptz[]) AS t (at)
               CROSS JOIN (SELECT station_id FROM stations WHERE kind = 'weather' LIMIT 1) AS s
               ON CONFLICT DO NOTHING""",
            (temperature_days,),
        )
        conn.execute(
            """INSERT INTO source_freshness (topic, source_id, last_event_at, last_ingested_at, events_total)
               VALUES ('synopse.admissions.v1', 'all', %s, %s, 1)
               ON CONFLICT (topic, source_id) DO UPDATE SET last_event_at = excluded.last_event_at""",
            (end, end),
        )


def utc_midnight_in_paris(day: datetime) -> datetime:
    """An instant just after local midnight of ``day`` (the start of a new local day)."""
    return day.astimezone(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
