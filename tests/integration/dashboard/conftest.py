"""Fixtures of the dashboard integration tests: a database loaded with known events, and a pool on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from synopse.db.connection import open_pool
from tests.integration.dashboard.dashboard_synthetic import exact_events, load_events


@pytest.fixture
def loaded_dsn(pg_dsn: str) -> str:
    """A migrated, seeded database holding the exact event set of ``dashboard_synthetic``."""
    load_events(pg_dsn, exact_events())
    return pg_dsn


@pytest.fixture
def pool(loaded_dsn: str) -> Iterator[ConnectionPool[Any]]:
    """A small open pool on the loaded database, closed after the test."""
    opened = open_pool(loaded_dsn, min_size=1, max_size=2, timeout_s=10)
    try:
        yield opened
    finally:
        opened.close()
