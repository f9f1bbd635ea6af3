"""Shared by the forecasting benchmarks: the machine line and recording into RESULTS.md (own section)."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks import results_file

SECTION = "## Forecasting (`forecast_*.py`)"
# The real data lives next to the repository, never in it (see /work/shared/data/SOURCES.md).
DATA_DIR = Path(os.environ.get("SYNOPSE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def machine_line() -> str:
    return results_file.machine_line()


def record(title: str, lines: list[str]) -> None:
    """Insert an entry at the end of this component's section of RESULTS.md."""
    results_file.record(SECTION, title, lines)
