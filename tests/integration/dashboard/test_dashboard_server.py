"""The real entry point serves the page over HTTP: index, layout, local assets and a callback round trip."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from urllib.error import URLError

import pytest

from dashboard import ids

pytestmark = pytest.mark.integration

STARTUP_TIMEOUT_S = 30  # importing Dash and opening the pool takes a few seconds on a slow CI machine
# The first administrator the served dashboard creates (SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD).
ADMIN_PASSWORD = "an admin password for tests"  # noqa: S105 - a test account
SIGNING_KEY = "s" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Browser:
    """A cookie-keeping client logged in as the bootstrap administrator (the page needs a session)."""

    def __init__(self, base: str) -> None:
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        form = self.get(base + "/login")[1].decode()
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        data = urllib.parse.urlencode({"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})
        with self.opener.open(base + "/login", data=data.encode(), timeout=30) as response:
            assert response.status == 200 and response.url == base + "/"  # redirected to the page

    def get(self, url: str) -> tuple[int, bytes]:
        with self.opener.open(url, timeout=10) as response:
            return response.status, response.read()

    def post(self, url: str, payload: dict[str, object]) -> tuple[int, bytes]:
        csrf = next(c.value for c in self.jar if c.name == "synopse-csrf")  # what Dash's renderer sends
        request = urllib.request.Request(  # noqa: S310 - a local test URL
            url, data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-CSRF-Token": csrf or ""},
        )
        with self.opener.open(request, timeout=10) as response:
            return response.status, response.read()


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a local test URL
        return response.status, response.read()


@pytest.fixture
def served(loaded_dsn: str) -> Iterator[str]:
    """``run_dashboard`` in its own process on a free port; yields the base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "SYNOPSE_DB__DSN": loaded_dsn,
        "SYNOPSE_DASHBOARD__HOST": "127.0.0.1",
        "SYNOPSE_DASHBOARD__PORT": str(port),
        "SYNOPSE_ACCESS__SIGNING_KEY": SIGNING_KEY,
        "SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    code = "from synopse.config import load_settings; from dashboard.server import run_dashboard; " \
           "run_dashboard(load_settings())"
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"the dashboard exited with {process.returncode}:\n{output}")
            try:
                if _get(base + "/health")[0] == 200:
                    break
            except (URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not answer within {STARTUP_TIMEOUT_S} s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_page_serves_with_local_assets_only(served: str) -> None:
    browser = _Browser(served)
    status, body = browser.get(served + "/")
    page = body.decode()
    assert status == 200
    assert '<html lang="fr">' in page and "<title>Synopse — Nantes Métropole</title>" in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources  # nothing from a CDN
    for source in sources:
        assert browser.get(served + source)[0] == 200, source
    assert any(s.startswith("/assets/synopse.css") for s in sources)


def test_the_layout_endpoint_holds_the_page_frame(served: str) -> None:
    status, body = _Browser(served).get(served + "/_dash-layout")
    layout = body.decode()
    assert status == 200
    for component_id in (ids.FACILITY_TILES, ids.FACILITY_PICKER, ids.PERIOD_PICKER, ids.ACTIVITY_CHART, ids.REFRESH):
        assert f'"{component_id}"' in layout
    assert "Tout le territoire" in layout


def test_the_refresh_callback_answers_over_http(served: str) -> None:
    outputs = [
        {"id": ids.STATUS, "property": "children"},
        {"id": ids.FACILITY_TILES, "property": "children"},
        {"id": ids.COMMUNE_TABLE, "property": "children"},
        {"id": ids.ENVIRONMENT_PANEL, "property": "children"},
        {"id": ids.FACILITY_PICKER, "property": "options"},
    ]
    payload = {
        "output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + "..",  # Dash's multi-output key
        "outputs": outputs,
        "inputs": [{"id": ids.REFRESH, "property": "n_intervals", "value": 1}],
        "changedPropIds": [f"{ids.REFRESH}.n_intervals"],
        "state": [],
    }
    status, body = _Browser(served).post(served + "/_dash-update-component", payload)
    answer = json.dumps(json.loads(body), ensure_ascii=False)  # Dash escapes non-ASCII characters
    assert status == 200
    assert "Hôpital Privé du Confluent" in answer and "tension" in answer and "346 / 386" in answer


def test_the_wsgi_factory_serves_the_page(loaded_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from dashboard.server import POOL_EXTENSION, create_wsgi

    monkeypatch.setenv("SYNOPSE_DB__DSN", loaded_dsn)
    monkeypatch.setenv("SYNOPSE_ACCESS__SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # create_wsgi configures logging, as an entry point does
    try:
        server = create_wsgi()
    finally:
        root.handlers[:], root.level = handlers, level
    try:
        client = server.test_client()
        assert client.get("/").status_code == 302  # to the login page
        form = client.get("/login").data.decode()
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        logged_in = client.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token})
        assert logged_in.status_code == 303
        assert client.get("/").status_code == 200
        assert b"facility-tiles" in client.get("/_dash-layout").data
    finally:
        server.extensions[POOL_EXTENSION].close()
