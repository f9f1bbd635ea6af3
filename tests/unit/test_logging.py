"""Logging follows standard error wherever it goes (tests, daemons swap it after configuration)."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from synopse.logging import configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_records_go_to_the_current_standard_error_even_after_the_first_one_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO")
    logging.getLogger("synopse.test").info("before the swap")
    first.close()
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("synopse.test").warning("after the swap")
    assert "after the swap" in second.getvalue()
    assert "Logging error" not in second.getvalue()


def test_json_lines_keep_structured_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("INFO", json=True)
    logging.getLogger("synopse.test").info("ingested", extra={"events": 12})
    record = json.loads(out.getvalue().strip().splitlines()[-1])
    assert record["message"] == "ingested"
    assert record["events"] == 12
    assert record["level"] == "INFO"
