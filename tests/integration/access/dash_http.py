"""Dash callbacks over HTTP, as the renderer posts them: the payloads of the overview's two callbacks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from threading import Thread
from typing import Any

import requests
from psycopg_pool import ConnectionPool
from werkzeug.serving import BaseWSGIServer, make_server

from dashboard import ids
from dashboard.app import create_app
from synopse.config import Settings
from tests.integration.access.access_data import REFERENCE, SIGNING_KEY

REFRESH_OUTPUTS = [
    {"id": ids.STATUS, "property": "children"},
    {"id": ids.FACILITY_TILES, "property": "children"},
    {"id": ids.COMMUNE_TABLE, "property": "children"},
    {"id": ids.ENVIRONMENT_PANEL, "property": "children"},
    {"id": ids.FACILITY_PICKER, "property": "options"},
]
CHART_OUTPUTS = [{"id": ids.ACTIVITY_CHART, "property": "figure"}, {"id": ids.CHART_SUMMARY, "property": "children"}]


def _key(outputs: list[dict[str, str]]) -> str:
    return ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + ".."  # Dash's multi-output key


def refresh_payload() -> dict[str, Any]:
    return {
        "output": _key(REFRESH_OUTPUTS), "outputs": REFRESH_OUTPUTS,
        "inputs": [{"id": ids.REFRESH, "property": "n_intervals", "value": 1}],
        "changedPropIds": [f"{ids.REFRESH}.n_intervals"], "state": [],
    }


def chart_payload(facility: str, period: str = "period_7d", label: str | None = None) -> dict[str, Any]:
    options = [{"label": label or facility, "value": facility}]
    return {
        "output": _key(CHART_OUTPUTS), "outputs": CHART_OUTPUTS,
        "inputs": [
            {"id": ids.REFRESH, "property": "n_intervals", "value": 1},
            {"id": ids.FACILITY_PICKER, "property": "value", "value": facility},
            {"id": ids.PERIOD_PICKER, "property": "value", "value": period},
        ],
        "changedPropIds": [f"{ids.FACILITY_PICKER}.value"],
        "state": [{"id": ids.FACILITY_PICKER, "property": "options", "value": options}],
    }


def csrf_headers(client: requests.Session) -> dict[str, str]:
    """What Dash's renderer adds to every request: the CSRF cookie's value in the X-CSRF-Token header."""
    token = next((c.value for c in client.cookies if c.name.endswith("synopse-csrf")), None)
    return {"X-CSRF-Token": token} if token else {}


def post_callback(
    client: requests.Session, base: str, payload: dict[str, Any], *, csrf: bool = True
) -> requests.Response:
    headers = {"Content-Type": "application/json", **(csrf_headers(client) if csrf else {})}
    return client.post(base + "/_dash-update-component", data=json.dumps(payload), headers=headers)


def answer_text(response: requests.Response) -> str:
    """The callback's answer as text with its non-ASCII characters (Dash escapes them)."""
    return json.dumps(response.json(), ensure_ascii=False)


@contextmanager
def serve(settings: Settings, pool: ConnectionPool[Any]) -> Iterator[str]:
    """The dashboard app of ``settings`` served over real HTTP on a free port, at the reference time."""
    app = create_app(settings, pool, now=REFERENCE, clock=lambda: REFERENCE, secret=SIGNING_KEY.encode())
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = Thread(target=server.serve_forever, name="dashboard-under-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
