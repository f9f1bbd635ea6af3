"""The pool: every core, results as they finish, and a task that hangs is killed without stalling the rest."""

from __future__ import annotations

import math
import time

from forecasting.pool import run_tasks


def test_results_errors_and_time_limits() -> None:
    started = time.monotonic()
    tasks = [("slow", 30.0), ("quick", 0.0), ("also quick", 0.1), ("after the slow one", 0.0)]
    results = {r.key: r for r in run_tasks(time.sleep, tasks, workers=2, timeout_s=1.5)}
    assert time.monotonic() - started < 15  # the 30 s task did not hold the run
    assert results["slow"].timed_out and results["slow"].error == "time limit of 1.5 s exceeded"
    assert results["slow"].value is None
    for key in ("quick", "also quick", "after the slow one"):
        assert results[key].error is None and not results[key].timed_out

    failing = {r.key: r for r in run_tasks(math.sqrt, [("ok", 4.0), ("bad", -1.0)], workers=2, timeout_s=30)}
    assert failing["ok"].value == 2.0
    assert failing["bad"].value is None and "math domain error" in (failing["bad"].error or "")


def test_no_task_starts_no_worker() -> None:
    assert list(run_tasks(math.sqrt, [], workers=4, timeout_s=1)) == []
