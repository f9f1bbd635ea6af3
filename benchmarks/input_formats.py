"""Input formats: decoding throughput of each mapper, and the open-data files of ../shared/data mapped whole.

Prints events per second of the HL7 v2, FHIR and sensor decoders (pure CPU, one core), then maps every
row of the real Santé publique France and temperature files (mapping only, nothing sent) and counts what
is refused. ``--record`` appends the figures to RESULTS.md.

    .venv/bin/python benchmarks/input_formats.py --record
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import results_file  # noqa: E402
from streams.formats.fhir import decode_fhir_encounter  # noqa: E402
from streams.formats.hl7v2 import decode_hl7v2  # noqa: E402
from streams.formats.opendata import (  # noqa: E402
    HospitalColumns,
    TemperatureColumns,
    hospital_row_events,
    temperature_row_events,
)
from streams.formats.sensors import decode_sensor_payload  # noqa: E402
from streams.replay import iter_rows  # noqa: E402
from synopse.errors import ContractError  # noqa: E402
from tests.unit.streams_formats.hl7_samples import adt  # noqa: E402

DATA = REPO.parent / "shared" / "data"
KEY = b"benchmark-key-0123456789abcdef-0123"
SECTION = "## Input formats (`input_formats.py`)"


def rate(decode: Callable[[bytes], object], payloads: list[bytes], events_each: int) -> float:
    started = time.perf_counter()
    for payload in payloads:
        decode(payload)
    return len(payloads) * events_each / (time.perf_counter() - started)


def decoders(n: int) -> list[str]:
    hl7 = [adt("A01", f"C{i}", visit=f"V{i}").encode() for i in range(n)]
    encounter = json.loads((REPO / "tests/fixtures/streams_inputs/fhir/encounter_contained.json").read_text())
    fhir = [json.dumps({**encounter, "id": f"e{i}"}).encode() for i in range(n)]
    readings = [json.dumps({"station": "FR23188", "time": f"2024-01-15T08:{i % 60:02d}:00Z", "pm10": 20.0 + i % 9,
                            "pm2_5": 11.0, "no2": 30.5}).encode() for i in range(n)]
    return [
        f"- HL7 v2 ADT^A01 -> Admission: {rate(lambda r: decode_hl7v2(r, KEY), hl7, 1):,.0f} messages/s ({n} messages)",
        f"- FHIR R4 Encounter (contained Patient) -> Admission: "
        f"{rate(lambda r: decode_fhir_encounter(r, KEY), fhir, 1):,.0f} resources/s",
        f"- sensor compact reading (3 indicators) -> observations: "
        f"{rate(decode_sensor_payload, readings, 3):,.0f} observations/s",
    ]


def open_data() -> list[str]:
    lines = []
    for name, mapper in (
        ("spf_covid_hosp_stock_daily_dep44.csv", lambda row: hospital_row_events(row, HospitalColumns())),
        ("spf_covid_hosp_incid_daily_dep44.csv", lambda row: hospital_row_events(row, HospitalColumns())),
        ("temperature_daily_dep44.csv", lambda row: temperature_row_events(row, TemperatureColumns())),
    ):
        rows = events = refused = 0
        started = time.perf_counter()
        for _, row in iter_rows(DATA / name):
            rows += 1
            try:
                events += len(mapper(row))
            except ContractError:
                refused += 1
        elapsed = time.perf_counter() - started
        lines.append(f"- {name}: {rows} rows -> {events} events, {refused} refused ({rows / elapsed:,.0f} rows/s)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--record", action="store_true", help="append the figures to RESULTS.md")
    args = parser.parse_args()
    lines = [
        results_file.machine_line() + " One core used.",
        "",
        *decoders(args.messages),
        *open_data(),
    ]
    print("\n".join(lines))
    if args.record:
        results_file.record(SECTION, "input_formats.py", lines)


if __name__ == "__main__":
    main()
