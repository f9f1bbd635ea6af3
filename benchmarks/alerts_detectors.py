"""Benchmark: the aberration detectors on simulated series (sensitivity, false alarms) and on real public data.

1. Simulated daily ED counts (20-40 a day, weekday pattern, mild overdispersion) with a 7-day outbreak of
   +80 % injected, each series scored with and without it (the same noise): sensitivity (share of series with an
   alarm during the outbreak), alarms in that window without the outbreak, false alarms per 100 series-weeks.
   Farrington on six-year weekly series, outbreak of two weeks.
2. Real data: Santé publique France daily new COVID-19 hospital admissions in Loire-Atlantique (2020-2023,
   /work/shared/data, read in place): the first alarm of each algorithm at the start of the autumn-2020 and
   winter-2021/22 waves, and alarm days per year.

    .venv/bin/python -m benchmarks.alerts_detectors --series 200 --record
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from datetime import date
from pathlib import Path

import numpy as np

from alerts.detectors import alarms_over
from alerts.evaluation import simulate_detection
from benchmarks.alerts_results import record

DATA = Path(os.environ.get("SYNOPSE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
ALGORITHMS = ("ears_c1", "ears_c2", "ears_c3", "cusum")
WAVES = (date(2020, 9, 1), date(2021, 12, 1))


def real_series() -> tuple[list[date], np.ndarray]:
    with (DATA / "spf_covid_hosp_incid_daily_dep44.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [date.fromisoformat(r["date"]) for r in rows], np.array([float(r["incid_hosp"]) for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    lines = [f"Simulated: {args.series} daily series (Farrington: {max(args.series // 5, 10)} weekly series), seed 1;"
             f" 1-minute load average before the run: {os.getloadavg()[0]:.2f}.", "",
             "| algorithm | sensitivity | series alarming in the window without the outbreak | false alarms "
             "per 100 series-weeks | time |", "|---|---|---|---|---|"]
    for algorithm in (*ALGORITHMS, "farrington"):
        started = time.perf_counter()
        n = args.series if algorithm != "farrington" else max(args.series // 5, 10)
        result = simulate_detection(algorithm, series=n, seed=1)
        lines.append(f"| {algorithm} | {result.sensitivity:.0%} | {result.window_alarms_without}/{n} | "
                     f"{result.false_alarms_per_100_series_weeks:.1f} | {time.perf_counter() - started:.1f} s |")
    days, counts = real_series()
    lines += ["", f"Real: SpF daily new COVID-19 hospital admissions, Loire-Atlantique, {days[0]} to {days[-1]} "
              f"({len(days)} days).", "", "| algorithm | first alarm after 2020-09-01 | first alarm after 2021-12-01 | "
              "alarm days 2020 / 2021 / 2022 / 2023 |", "|---|---|---|---|"]
    for algorithm in ALGORITHMS:
        alarms = alarms_over(algorithm, counts)
        firsts = [next((d for d, a in zip(days, alarms, strict=True) if a and d >= start), None) for start in WAVES]
        per_year = [sum(a for d, a in zip(days, alarms, strict=True) if d.year == y) for y in (2020, 2021, 2022, 2023)]
        lines.append(f"| {algorithm} | {firsts[0]} | {firsts[1]} | {' / '.join(map(str, per_year))} |")
    print("\n".join(lines))
    if args.record:
        record("alerts_detectors.py", lines)


if __name__ == "__main__":
    main()
