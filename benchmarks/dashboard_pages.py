"""Server time of the dashboard's detail, map, alerts, quality and health pages over three years of hourly data.

Generates, in a scratch database (created on PostgreSQL at ``SYNOPSE_BENCH_PG_DSN``, default the local server),
3 years of hourly data for 50 facilities (the 8 of the default territory and 42 synthetic ones, 2 care units
each: one admission, one ED visit and one bed snapshot per unit and hour) and 10 environmental indicators
(hourly), all written with SQL ``generate_series``: SYNTHETIC, no real data. The daily rollups are then brought up
to date as the stream worker's health round does (``refresh_daily_rollups``: the bulk load left every past day
requested), timed, with one round after a late event and the cost of the rollup triggers on a batch insert.
Then times each page's callbacks as the server runs them (pool -> queries -> figures and components -> JSON of
the response), ``--runs`` times per page with varying inputs, and prints p50/p95/max. The detail page's table
alternatives are built when the reader opens one: that callback is timed on its own (a year of a facility, the
longest table). ``--record`` appends the figures to ``benchmarks/RESULTS.md`` (through ``results_file.py``),
with any ``--note`` lines.

    .venv/bin/python benchmarks/dashboard_pages.py --years 3 --runs 40 --record
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.io.json
import psycopg
from psycopg import sql

from dashboard import callbacks_pages as cb
from synopse.db.connection import open_pool
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.db.rollups import refresh_daily_rollups

try:
    from benchmarks.results_file import machine_line, record
except ImportError:  # run as a script: benchmarks/ is on the path, not the repository root
    from results_file import machine_line, record  # type: ignore[import-not-found,no-redef]

ADMIN_DSN = os.environ.get("SYNOPSE_BENCH_PG_DSN", "host=127.0.0.1 user=postgres dbname=postgres")
DATABASE = "synopse_bench_pages"
INDICATORS = ("temperature", "pm10", "pm2_5", "no2", "o3", "pollen_grasses", "pollen_birch", "pollen_ragweed",
              "pollen_cypress", "wastewater_sars_cov_2")
COUNTED = ("facilities", "admissions", "emergency_visits", "bed_snapshots", "environment_observations")
TARGET_MS = 300  # issue 6: a page's server time p95 under 300 ms


def _dsn(dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(ADMIN_DSN, dbname=dbname)


def generate(years: int, end: datetime) -> dict[str, int]:
    """A fresh database holding ``years`` of hourly data ending at ``end``; returns the row counts."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')  # a fixed name, not user input
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    with psycopg.connect(_dsn(DATABASE), autocommit=True) as conn:
        migrate(conn)
    start = end - timedelta(days=365 * years)
    params = {"start": start, "end": end}
    with psycopg.connect(_dsn(DATABASE)) as conn:
        seed_territory(conn)
        conn.execute("""
            INSERT INTO facilities (facility_id, name, commune_code, latitude, longitude, has_emergency_department)
            SELECT 'bench-' || i, 'Établissement synthétique ' || i, c.code, c.latitude + 0.01, c.longitude + 0.01,
                   i % 2 = 0
            FROM generate_series(1, 42) AS i
            JOIN LATERAL (SELECT code, latitude, longitude FROM communes ORDER BY code
                          OFFSET (i % 24) LIMIT 1) c ON true
            ON CONFLICT DO NOTHING""")
        conn.execute("""
            INSERT INTO facility_units (facility_id, care_unit, beds)
            SELECT f.facility_id, u.unit, 60 FROM facilities f CROSS JOIN (VALUES ('medicine'), ('surgery')) u(unit)
            ON CONFLICT DO NOTHING""")
        conn.execute("""
            CREATE TEMP TABLE bench_hours AS
            SELECT h FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz, interval '1 hour') AS h""",
                     params)
        conn.execute("""
            CREATE TEMP TABLE bench_units AS
            SELECT f.facility_id, u.care_unit, row_number() OVER () AS n,
                   (SELECT array_agg(code) FROM communes) AS codes
            FROM facilities f JOIN facility_units u USING (facility_id)""")
        conn.execute("""
            INSERT INTO admissions (event_id, admitted_at, facility_id, care_unit, age_band, reason, patient_key,
                                    commune_code)
            SELECT gen_random_uuid(), h + interval '7 minutes', facility_id, care_unit, '40-64', 'other', 'k',
                   codes[1 + (n + extract(epoch FROM h)::bigint / 3600) % 24]
            FROM bench_hours CROSS JOIN bench_units""")
        conn.execute("""
            INSERT INTO emergency_visits (event_id, arrived_at, facility_id, age_band, reason, commune_code)
            SELECT gen_random_uuid(), h + interval '13 minutes', facility_id, '40-64', 'other',
                   codes[1 + (n * 7 + extract(epoch FROM h)::bigint / 3600) % 24]
            FROM bench_hours CROSS JOIN bench_units""")
        conn.execute("""
            INSERT INTO bed_snapshots (facility_id, care_unit, observed_at, beds_total, beds_occupied, event_id)
            SELECT facility_id, care_unit, h, 60,
                   45 + (10 * sin(extract(epoch FROM h) / 86400 / 58 + n))::int, gen_random_uuid()
            FROM bench_hours CROSS JOIN bench_units""")
        conn.execute("""
            INSERT INTO bed_occupancy_current (facility_id, care_unit, observed_at, beds_total, beds_occupied)
            SELECT facility_id, care_unit, %(end)s, 60, 50 FROM bench_units
            ON CONFLICT (facility_id, care_unit) DO UPDATE SET observed_at = EXCLUDED.observed_at""", params)
        conn.execute("""
            INSERT INTO environment_observations (station_id, indicator, observed_at, value, unit, event_id)
            SELECT (SELECT station_id FROM stations ORDER BY station_id LIMIT 1), i, h + interval '5 minutes',
                   10 + 8 * sin(extract(epoch FROM h) / 86400 / 58), '', gen_random_uuid()
            FROM bench_hours CROSS JOIN unnest(%(indicators)s::text[]) AS i""",
                     {**params, "indicators": list(INDICATORS)})
        conn.execute("""
            INSERT INTO source_freshness (topic, source_id, last_event_at, last_ingested_at, events_total)
            SELECT 'synopse.admissions.v1', facility_id, %(end)s, %(end)s, 1 FROM facilities
            ON CONFLICT DO NOTHING""", params)
        counts = {table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                  .fetchone()[0] for table in COUNTED}  # type: ignore[index]
    with psycopg.connect(_dsn(DATABASE), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return counts


def refresh_rollups() -> tuple[float, int]:
    """What the stream worker's health round does after the bulk load; returns (seconds, days recomputed)."""
    async def run() -> int:
        async with await psycopg.AsyncConnection.connect(_dsn(DATABASE), autocommit=True) as conn:
            return (await refresh_daily_rollups(conn)).days_recomputed
    began = time.perf_counter()
    days = asyncio.run(run())
    return time.perf_counter() - began, days


def late_event_round(end: datetime) -> float:
    """One health round after a late admission 40 days back (milliseconds)."""
    with psycopg.connect(_dsn(DATABASE)) as conn:
        conn.execute("""INSERT INTO admissions (event_id, admitted_at, facility_id, care_unit, age_band, reason,
                                                patient_key, commune_code)
                        VALUES (gen_random_uuid(), %s, 'bench-7', 'medicine', '40-64', 'other', 'k', '44109')""",
                     (end - timedelta(days=40),))
    seconds, _ = refresh_rollups()
    return seconds * 1000


def trigger_overhead(end: datetime, rows: int = 20_000, rounds: int = 5) -> tuple[float, float]:
    """Median milliseconds of one INSERT of ``rows`` current admissions with and without the rollup triggers
    (rolled back each time): what the rollups cost the ingest path."""
    timings: dict[bool, list[float]] = {True: [], False: []}
    with psycopg.connect(_dsn(DATABASE)) as conn:
        for _ in range(rounds):
            for enabled in (True, False):
                with conn.transaction(force_rollback=True):
                    if not enabled:
                        conn.execute("ALTER TABLE admissions DISABLE TRIGGER USER")
                    began = time.perf_counter()
                    conn.execute("""INSERT INTO admissions (event_id, admitted_at, facility_id, care_unit, age_band,
                                                            reason, patient_key, commune_code)
                                    SELECT gen_random_uuid(), %s - i * interval '1 second', 'bench-' || i %% 42,
                                           'medicine', '40-64', 'other', 'k', '44109'
                                    FROM generate_series(1, %s) AS i""", (end, rows))
                    timings[enabled].append((time.perf_counter() - began) * 1000)
    return statistics.median(timings[True]), statistics.median(timings[False])


def _time(call: Callable[[], Any], runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        outputs = call()
        plotly.io.json.to_json_plotly(outputs)  # the response Dash serialises
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def measure(runs: int, end: datetime) -> dict[str, list[float]]:
    pool = open_pool(_dsn(DATABASE), min_size=1, max_size=2, timeout_s=10)
    try:
        source = cb.PoolPageSource(pool, now=end)
        facilities = [f"facility:{f}" for f in ("chu-nantes-hotel-dieu", "bench-7", "hp-confluent", "bench-30")]
        step = iter(range(10**9))

        def detail(places: list[str], period: str) -> Callable[[], Any]:
            def call() -> Any:
                i = next(step)
                return cb.update_detail(source, places[i % len(places)], ("bed_occupancy", "admissions")[i % 2],
                                        period, "temperature", None)
            return call
        # The chart's table alternative of a facility's year (a row per day and per forecast day), opened.
        payload = cb.update_detail(source, facilities[0], "bed_occupancy", "period_365d", "temperature", None)[2]
        cb.update_map(source, None)  # warm the pool and the catalogue caches
        return {
            "detail, a facility, 90 days (default period)": _time(detail(facilities, "period_90d"), runs),
            "detail, a facility, 1 year": _time(detail(facilities, "period_365d"), runs),
            "detail, a commune, 90 days": _time(detail(["commune:44109", "commune:44143"], "period_90d"), runs),
            "detail, whole territory, 30 days": _time(detail(["territory"], "period_30d"), runs),
            "detail, whole territory, 90 days": _time(detail(["territory"], "period_90d"), runs),
            "detail, whole territory, 1 year": _time(detail(["territory"], "period_365d"), max(3, runs // 4)),
            f"detail, opening the table alternative of a facility's year ({len(payload['rows'])} rows)":
                _time(lambda: cb.fill_table(payload, 1, True), runs),
            "map (7 days of 24 communes, 50 facilities)": _time(lambda: cb.update_map(source, None), runs),
            "alerts": _time(lambda: cb.update_alerts(source, True, None), runs),
            "forecast quality": _time(lambda: cb.update_quality(source, None), runs),
            "data health": _time(lambda: cb.update_health(source, lambda: end, None), runs),
        }
    finally:
        pool.close()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--record", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (default: dropped)")
    parser.add_argument("--reuse", action="store_true", help="measure on the database a --keep run left")
    parser.add_argument("--note", action="append", default=[], help="a line to add to the recorded entry")
    args = parser.parse_args()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    began = time.monotonic()
    if args.reuse:
        with psycopg.connect(_dsn(DATABASE)) as conn:
            end = conn.execute("SELECT max(admitted_at) FROM admissions").fetchone()[0]  # type: ignore[index]
            counts = {table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                      .fetchone()[0] for table in COUNTED}  # type: ignore[index]
    else:
        counts = generate(args.years, end)
    generated_s = time.monotonic() - began
    print(f"generated in {generated_s:.0f} s: {counts}")
    refresh_s, refreshed_days = refresh_rollups()
    late_ms = late_event_round(end)
    with_triggers, without = trigger_overhead(end)
    upkeep = [
        f"- daily rollups brought up to date after the bulk load (worker's health round): {refresh_s:.1f} s for "
        f"{refreshed_days:,} table-days; one round after a late admission 40 days back: {late_ms:.0f} ms",
        f"- rollup triggers on the write path: INSERT of 20,000 current admissions {with_triggers:.0f} ms with them, "
        f"{without:.0f} ms without (median of 5)",
    ]
    print("\n".join(upkeep))
    results = measure(args.runs, end)
    lines = []
    for page, timings in results.items():
        p50, p95 = statistics.median(timings), _p95(timings)
        verdict = "OK" if p95 < TARGET_MS else "OVER TARGET"
        lines.append(f"- {page}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(timings):.0f} ms "
                     f"(n={len(timings)}) — {verdict}")
    print("\n".join(lines))
    if args.record:
        with psycopg.connect(_dsn(DATABASE)) as conn:
            server = conn.execute("SELECT version()").fetchone()[0].split(" on ")[0]  # type: ignore[index]
        record("## Dashboard pages (`dashboard_pages.py`)", "dashboard_pages.py", [
            machine_line(f"{server} (plain PostgreSQL: hourly views, daily rollup tables)"),
            "",
            f"- data: {args.years} years hourly, {counts['facilities']} facilities x 2 units, "
            f"{len(INDICATORS)} environmental indicators; rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
            + ("" if args.reuse else f" (generated in {generated_s:.0f} s)"),
            *upkeep,
            "- server time per page = callbacks' reads + figures/components + JSON of the response; target p95 < "
            f"{TARGET_MS} ms",
            *lines,
            *(f"- {note}" for note in args.note),
        ])
    if not args.keep:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
