"""Comments on alerts against a real PostgreSQL: stored append-only, audited, refused to viewers and partners,
including over HTTP through the Dash callback a browser posts (CSRF header, session cookie, forged inputs)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests
from dash.exceptions import PreventUpdate
from psycopg_pool import ConnectionPool

from dashboard import callbacks_pages as cb
from dashboard.pages import alerts as alerts_page
from dashboard.text import t
from synopse.config import Settings
from synopse.db import alerts
from synopse.db.connection import open_pool
from synopse.domain.access import Principal, Role
from tests.integration.access.access_data import PASSWORD, REFERENCE, load
from tests.integration.access.dash_http import answer_text, post_callback, serve
from tests.integration.dashboard_pages.pages_support import insert_firing_alert
from tests.unit.dashboard.dash_tree import text

pytestmark = pytest.mark.integration

CRISIS = Principal("crise", Role.CRISIS_CELL, user_id=1)
VIEWER = Principal("lecteur", Role.VIEWER, user_id=3)


@pytest.fixture
def seeded(pg_dsn: str) -> tuple[str, str]:
    """Accounts of every role (access test data) and one firing alert; yields the DSN and the alert id."""
    load(pg_dsn)
    return pg_dsn, insert_firing_alert(pg_dsn, REFERENCE)


@pytest.fixture
def pool(seeded: tuple[str, str]) -> Iterator[ConnectionPool[Any]]:
    opened = open_pool(seeded[0], min_size=1, max_size=4, timeout_s=10)
    try:
        yield opened
    finally:
        opened.close()


def _rows(dsn: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def test_a_comment_is_stored_with_its_author_audited_and_listed(seeded: tuple[str, str],
                                                                  pool: ConnectionPool[Any]) -> None:
    dsn, alert_id = seeded
    source = cb.PoolPageSource(pool, now=REFERENCE)
    assert cb.act_on_alert(source, CRISIS, "comment", alert_id, " Renfort demandé au CHU ", 1) == t(
        "alerts_commented_done")
    assert cb.act_on_alert(source, CRISIS, "comment", alert_id, "Second message", 1) == t("alerts_commented_done")
    stored = _rows(dsn, "SELECT author, role, body FROM alert_comments WHERE alert_id = %s ORDER BY comment_id",
                   alert_id)
    assert stored == [("crise", "crisis_cell", "Renfort demandé au CHU"), ("crise", "crisis_cell", "Second message")]
    audit = _rows(dsn, "SELECT actor, action, target, outcome, details->>'length' FROM access_audit"
                       " WHERE action LIKE 'alert.%%' ORDER BY audit_id")
    assert audit == [("crise", "alert.comment", alert_id, "ok", "22"), ("crise", "alert.comment", alert_id, "ok", "14")]
    assert _rows(dsn, "SELECT count(*) FROM alert_acks") == [(0,)]  # a comment is not an acknowledgement

    firing, *_ = cb.update_alerts(source, True, None)
    shown = text(firing)
    assert "Commentaires (2)" in shown and "Renfort demandé au CHU" in shown and "crise" in shown
    assert shown.index("Renfort demandé") < shown.index("Second message")  # oldest first


def test_comments_are_append_only(seeded: tuple[str, str], pool: ConnectionPool[Any]) -> None:
    dsn, alert_id = seeded
    assert cb.PoolPageSource(pool).comment(CRISIS, alert_id, "à garder")
    for statement in ("UPDATE alert_comments SET body = 'changé'", "DELETE FROM alert_comments",
                      "TRUNCATE alert_comments"):
        with psycopg.connect(dsn) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(statement)
    assert _rows(dsn, "SELECT body FROM alert_comments") == [("à garder",)]


def test_a_comment_on_no_alert_is_refused_without_error(seeded: tuple[str, str], pool: ConnectionPool[Any]) -> None:
    dsn, _ = seeded
    source = cb.PoolPageSource(pool)
    assert cb.act_on_alert(source, CRISIS, "comment", str(uuid.uuid4()), "x", 1) == t("alerts_unknown")
    assert cb.act_on_alert(source, CRISIS, "comment", "'; DROP TABLE alerts; --", "x", 1) == t("alerts_unknown")
    assert cb.act_on_alert(source, CRISIS, "ack", "not-a-uuid", "x", 1) == t("alerts_unknown")
    assert _rows(dsn, "SELECT count(*) FROM alert_comments") == [(0,)]
    with psycopg.connect(dsn) as conn:
        assert alerts.add_comment(conn, str(uuid.uuid4()), author="x", role="", body="x") is None
    with psycopg.connect(dsn) as conn, pytest.raises(psycopg.errors.CheckViolation):  # the table's own rule
        alerts.add_comment(conn, seeded[1], author="x", role="", body="   ")


def test_a_pending_episode_with_comments_can_still_be_dropped_by_the_engine(seeded: tuple[str, str],
                                                                             pool: ConnectionPool[Any]) -> None:
    dsn, alert_id = seeded
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE alerts SET status = 'pending', firing_since = NULL WHERE alert_id = %s", (alert_id,))
    assert cb.PoolPageSource(pool).comment(CRISIS, alert_id, "en attente")
    with psycopg.connect(dsn) as conn:
        alerts.delete_alerts(conn, [alert_id])  # no foreign key: the comment outlives the dropped episode
    assert _rows(dsn, "SELECT count(*) FROM alerts WHERE alert_id = %s", alert_id) == [(0,)]
    assert _rows(dsn, "SELECT body FROM alert_comments") == [("en attente",)]


def test_viewers_and_partners_cannot_comment_even_by_forging_the_callback(seeded: tuple[str, str],
                                                                           pool: ConnectionPool[Any]) -> None:
    dsn, alert_id = seeded
    source = cb.PoolPageSource(pool)
    partner = Principal("reze", Role.PARTNER, user_id=4, organisation_id=1, organisation="ville-reze")
    for who in (VIEWER, partner):
        with pytest.raises(PreventUpdate):
            cb.alert_form(source, who, "comment", alert_id, "forgé", 1)
        # The plain function refuses too, whatever calls it.
        assert cb.act_on_alert(source, who, "comment", alert_id, "forgé", 1) == t("alerts_no_permission")
    assert _rows(dsn, "SELECT count(*) FROM alert_comments") == [(0,)]
    denied = _rows(dsn, "SELECT actor, action, target FROM access_audit WHERE outcome = 'denied' ORDER BY audit_id")
    assert denied == [(who, "alert.comment", alert_id) for who in ("lecteur", "lecteur", "reze", "reze")]


# --------------------------------------------------------------------------------------------- over HTTP

FORM_OUTPUTS = [{"id": alerts_page.FEEDBACK, "property": "children"}, {"id": alerts_page.COMMENT, "property": "value"}]


def comment_payload(alert_id: str, body: str) -> dict[str, Any]:
    """The callback the renderer posts when the "Comment" button is clicked."""
    return {
        "output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in FORM_OUTPUTS) + "..",
        "outputs": FORM_OUTPUTS,
        "inputs": [{"id": alerts_page.COMMENT_BUTTON, "property": "n_clicks", "value": 1},
                   {"id": alerts_page.ACK, "property": "n_clicks", "value": 0},
                   {"id": alerts_page.SILENCE, "property": "n_clicks", "value": 0}],
        "changedPropIds": [f"{alerts_page.COMMENT_BUTTON}.n_clicks"],
        "state": [{"id": alerts_page.PICKER, "property": "value", "value": alert_id},
                  {"id": alerts_page.COMMENT, "property": "value", "value": body},
                  {"id": alerts_page.HOURS, "property": "value", "value": 1}],
    }


@pytest.fixture
def served(pool: ConnectionPool[Any]) -> Iterator[str]:
    with serve(Settings(), pool) as base:
        yield base


def _logged_in(base: str, username: str) -> requests.Session:
    client = requests.Session()
    form = client.get(base + "/login").text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                         allow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return client


def test_commenting_over_http_needs_the_csrf_header_and_the_role(seeded: tuple[str, str], served: str) -> None:
    dsn, alert_id = seeded
    crisis = _logged_in(served, "crise")
    assert post_callback(crisis, served, comment_payload(alert_id, "sans jeton"), csrf=False).status_code == 403
    answer = post_callback(crisis, served, comment_payload(alert_id, "Équipe mobile envoyée"))
    assert answer.status_code == 200
    assert "Commentaire ajouté." in answer_text(answer)
    for username in ("lecteur", "reze"):  # no form on their pages: they forge the request
        forged = post_callback(_logged_in(served, username), served, comment_payload(alert_id, "forgé"))
        assert forged.status_code == 204, forged.text[:300]  # Dash's answer to PreventUpdate: nothing
    assert _rows(dsn, "SELECT author, body FROM alert_comments") == [("crise", "Équipe mobile envoyée")]
    audit = _rows(dsn, "SELECT actor, outcome FROM access_audit WHERE action = 'alert.comment' ORDER BY audit_id")
    assert audit == [("crise", "ok"), ("lecteur", "denied"), ("reze", "denied")]
    english = _logged_in(served, "crise")
    english.get(served + "/alertes?lang=en")  # the choice is remembered in a cookie, Dash's requests carry it
    answer = post_callback(english, served, comment_payload(alert_id, "In English"))
    assert "Comment added." in answer_text(answer)
