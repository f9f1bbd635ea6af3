"""Writes benchmark entries into benchmarks/RESULTS.md, each under its own section, newest last."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import psutil

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine_line(server: str | None = None) -> str:
    """Where a figure was measured: cores, system, Python, the database server if any, and the load."""
    load = os.getloadavg()[0]
    database = f"; {server}" if server else ""
    return (f"Machine: {psutil.cpu_count()} cores, {platform.system()} {platform.machine()}, Python "
            f"{platform.python_version()}{database}; 1-minute load average before the run: {load:.2f} "
            "(other engineers' jobs share the machine).")


def record(section: str, title: str, lines: list[str]) -> None:
    """Insert an entry at the end of ``section`` of RESULTS.md (the section is created at the end if missing)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = f"\n### {title} — {stamp}\n\n" + "\n".join(lines) + "\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if section not in text:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    head, _, tail = text.partition(section)
    next_section = tail.find("\n## ")
    if next_section == -1:
        text = head + section + tail.rstrip("\n") + "\n" + entry
    else:
        text = head + section + tail[:next_section].rstrip("\n") + "\n" + entry + tail[next_section:]
    RESULTS.write_text(text, encoding="utf-8")
