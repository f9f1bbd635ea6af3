"""Fixtures of the access tests: a database with known counts and accounts, and the dashboard served over HTTP.

The server is the real Flask server under Dash (``create_app``), run by werkzeug in a thread of the test
process on a free port: requests go through the network stack, cookies and all, as a browser's would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from psycopg_pool import ConnectionPool

from synopse.config import Settings
from synopse.db.connection import open_pool
from tests.integration.access.access_data import PASSWORD, load
from tests.integration.access.dash_http import serve


@pytest.fixture
def access_dsn(pg_dsn: str) -> str:
    """A migrated, seeded database with the known events, organisations, shares and accounts."""
    load(pg_dsn)
    return pg_dsn


@dataclass
class Served:
    """The dashboard served on ``base`` (its settings and pool, for tests that look inside)."""

    base: str
    settings: Settings
    pool: ConnectionPool[Any]

    def session(self, username: str | None = None, password: str = PASSWORD) -> requests.Session:
        """A browser-like session, logged in as ``username`` when given."""
        client = requests.Session()
        if username is not None:
            answer = login(self, client, username, password)
            assert answer.status_code == 303, answer.text[:500]
        return client


def login(served: Served, client: requests.Session, username: str, password: str = PASSWORD) -> requests.Response:
    """Load the login form (nonce cookie and CSRF field), then post it; the answer is not followed."""
    page = client.get(served.base + "/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return client.post(served.base + "/login", data={"username": username, "password": password,
                                                     "csrf_token": token, "next": "/"}, allow_redirects=False)


@pytest.fixture
def access_settings() -> Settings:
    """Settings of the served dashboard (tests lower the limits through ``model_copy``)."""
    return Settings()


@pytest.fixture
def served(access_dsn: str, access_settings: Settings) -> Iterator[Served]:
    pool = open_pool(access_dsn, min_size=1, max_size=4, timeout_s=10)
    try:
        with serve(access_settings, pool) as base:
            yield Served(base, access_settings, pool)
    finally:
        pool.close()
