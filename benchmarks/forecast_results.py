"""Shared by the forecasting benchmarks: the machine line and recording into RESULTS.md (own section)."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import psutil

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Forecasting (`forecast_*.py`)"
# The real data lives next to the repository, never in it (see /work/shared/data/SOURCES.md).
DATA_DIR = Path(os.environ.get("SYNOPSE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def machine_line() -> str:
    load = os.getloadavg()[0]
    return (f"Machine: {psutil.cpu_count()} cores, {platform.system()} {platform.machine()}, Python "
            f"{platform.python_version()}; 1-minute load average before the run: {load:.2f} "
            "(other engineers' jobs share the machine).")


def record(title: str, lines: list[str]) -> None:
    """Append an entry at the end of the forecasting section of RESULTS.md (created at the end if missing)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = f"\n### {title} — {stamp}\n\n" + "\n".join(lines) + "\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if SECTION not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION + "\n"
    head, _, tail = text.partition(SECTION)
    next_section = tail.find("\n## ")
    if next_section == -1:
        text = head + SECTION + tail.rstrip("\n") + "\n" + entry
    else:
        text = head + SECTION + tail[:next_section].rstrip("\n") + "\n" + entry + tail[next_section:]
    RESULTS.write_text(text, encoding="utf-8")
