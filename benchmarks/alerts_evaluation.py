"""Benchmark: one evaluation cycle of 500 rules over 1,000 series, in a real PostgreSQL.

The store holds 1,000 synthetic facilities (one bed series each, 40 days of ED visits each) next to the
reference territory. 500 rules, every one scoped to *all* facilities (so each cycle makes 500 x 1,000 rule-series
evaluations, the worst case of the target): 250 occupancy thresholds with two grades, 100 ED-visits-per-hour
thresholds, 100 aberration rules (EARS C1/C2/C3 and CUSUM on daily counts), 50 freshness rules. About 10 % of
the facilities sit above their thresholds, so alerts are open and a cycle also writes state and outbox rows.
Reported: the time of a full cycle (read, evaluate, write, commit), first cycle (alerts opening) and steady
cycles (daily counts for the aberration rules are re-read at most once a minute: SLOW_SERIES_TTL_S, so the
steady figure is a cycle between two such reads; the first cycle includes one).
Uses SYNOPSE_BENCH_PG_DSN or PostgreSQL on 127.0.0.1:5432 (scratch database)::

    .venv/bin/python -m benchmarks.alerts_evaluation --record
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg

from alerts.engine import Evaluator, load_rules
from alerts.rulefile import sync_rules
from benchmarks.alerts_results import machine_line, record, scratch_database
from synopse.db import alert_delivery as outbox
from synopse.domain.alerts import parse_rule_set


def rules(count: int) -> dict[str, object]:
    out: list[dict[str, object]] = []
    for i in range(count):
        kind = i % 10
        if kind < 5:
            out.append({"id": f"occ-{i}", "name": f"Occupancy {i}", "kind": "threshold", "indicator": "occupancy_rate",
                        "scope": {"level": "facility"},
                        "levels": [{"severity": "warning", "enter": 0.85 + (i % 5) / 100, "exit": 0.8},
                                   {"severity": "critical", "enter": 0.97, "exit": 0.94}]})
        elif kind < 7:
            out.append({"id": f"ed-{i}", "name": f"ED {i}", "kind": "threshold", "indicator": "ed_visits_hourly",
                        "scope": {"level": "facility"}, "levels": [{"severity": "warning", "enter": 8 + i % 3}]})
        elif kind < 9:
            algorithm = ("ears_c1", "ears_c2", "ears_c3", "cusum")[i % 4]
            out.append({"id": f"ab-{i}", "name": f"Aberration {i}", "kind": "aberration", "algorithm": algorithm,
                        "scope": {"level": "facility"}})
        else:
            out.append({"id": f"fresh-{i}", "name": f"Freshness {i}", "kind": "freshness",
                        "topic": "synopse.emergency_visits.v1", "scope": {"level": "facility"},
                        "max_silence": "2h"})
    return {"version": 1, "rules": out}


def load_series(conn: psycopg.Connection, facilities: int, now: datetime) -> None:
    conn.execute(
        """INSERT INTO bed_occupancy_current (facility_id, care_unit, observed_at, beds_total, beds_occupied)
           SELECT 'bench-' || i, 'medicine', %(now)s, 100, CASE WHEN i %% 10 = 0 THEN 96 ELSE 60 + i %% 20 END
           FROM generate_series(1, %(n)s) AS i""",
        {"now": now, "n": facilities},
    )
    # 40 days x about 4 visits a day per facility (more in the last hours for one in ten).
    conn.execute(
        """INSERT INTO emergency_visits (event_id, arrived_at, facility_id, age_band, reason)
           SELECT gen_random_uuid(), %(now)s - (d || ' days')::interval - (v || ' hours')::interval,
                  'bench-' || i, '15-74', 'respiratory'
           FROM generate_series(1, %(n)s) AS i, generate_series(0, 39) AS d, generate_series(1, 4) AS v""",
        {"now": now, "n": facilities},
    )
    conn.execute(
        """INSERT INTO source_freshness (topic, source_id, last_event_at, last_ingested_at, events_total)
           SELECT 'synopse.emergency_visits.v1', 'bench-' || i, %(now)s, %(now)s - CASE WHEN i %% 50 = 0
                  THEN interval '3 hours' ELSE interval '1 minute' END, 160
           FROM generate_series(1, %(n)s) AS i""",
        {"now": now, "n": facilities},
    )
    conn.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with scratch_database() as dsn:
        machine = machine_line(dsn)
        with psycopg.connect(dsn) as conn:
            load_series(conn, args.series, now)
            sync_rules(conn, parse_rule_set(rules(args.rules)), actor="bench")
            outbox.upsert_subscriber(conn, "hook", name="hook", kind="webhook", target="http://127.0.0.1:9/")
            conn.commit()
            evaluator = Evaluator(external_url="http://synopse")
            times, observations, notifications = [], 0, []
            for cycle in range(args.cycles + 1):
                started = time.perf_counter()
                with conn.transaction():
                    report = evaluator.evaluate(conn, load_rules(conn), now=now + timedelta(seconds=15 * cycle))
                times.append(time.perf_counter() - started)
                observations = report.observations
                notifications.append(report.notifications)
            open_alerts = conn.execute("SELECT count(*) FROM alerts WHERE status = 'firing'").fetchone()
    steady = times[1:]
    lines = [
        machine,
        "",
        f"- {args.rules} rules over {args.series} facility series, each rule scoped to every facility: "
        f"{args.rules * args.series:,} rule-series evaluations per cycle; "
        f"{open_alerts[0] if open_alerts else 0:,} alerts firing ({observations:,} observations reach the lifecycle)",
        f"- first cycle (alerts open, {notifications[0]:,} notifications queued): {times[0]:.2f} s",
        f"- steady cycles: median {statistics.median(steady):.2f} s, max {max(steady):.2f} s "
        f"(n={len(steady)}; target < 2 s)",
    ]
    print("\n".join(lines))
    if args.record:
        record("alerts_evaluation.py", lines)


if __name__ == "__main__":
    main()
