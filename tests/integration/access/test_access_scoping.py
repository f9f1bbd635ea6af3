"""Partner scoping and disclosure through every callback, download and API route, forged inputs included.

The partner ``reze`` (organisation ville-reze) is shared two facilities, two communes and three indicators
(see access_data). Whatever it asks, over the page's callbacks or the API, with a session or a token, it
gets those only, published (suppressed under 10, rounded to 5), and each read is in the audit log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
import requests

from dashboard import ids
from dashboard.auth.credentials import digest, new_api_token
from synopse.db import access as db
from synopse.domain.access import ShareKind
from tests.integration.access.access_data import CONFLUENT, DAY, HOTEL_DIEU, SANTE_ATLANTIQUE
from tests.integration.access.conftest import Served
from tests.integration.access.dash_http import chart_payload, post_callback, refresh_payload
from tests.integration.dashboard.dashboard_synthetic import admission, load_events

pytestmark = pytest.mark.integration

API = "/api/v1/indicators"


def _refresh(client: requests.Session, served: Served) -> dict[str, Any]:
    answer = post_callback(client, served.base, refresh_payload())
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()["response"]


def _chart(client: requests.Session, served: Served, facility: str, period: str = "period_7d") -> dict[str, Any]:
    answer = post_callback(client, served.base, chart_payload(facility, period))
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()["response"]


def _text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def test_a_partner_sees_only_its_shares_published(served: Served) -> None:
    client = served.session("reze")
    response = _refresh(client, served)
    tiles, communes = _text(response[ids.FACILITY_TILES]), _text(response[ids.COMMUNE_TABLE])
    environment = _text(response[ids.ENVIRONMENT_PANEL])
    options = response[ids.FACILITY_PICKER]["options"]
    assert [o["value"] for o in options] == [ids.ALL_TERRITORY, CONFLUENT, SANTE_ATLANTIQUE]
    assert options[0]["label"] == "Tous les établissements partagés"
    assert "Hôtel-Dieu" not in tiles and "Nantes" not in communes.replace("Nantes Métropole", "")
    # Hôpital Privé du Confluent: 4 admissions on 14/01 -> "< 10"; 121 occupied beds -> 120 / 150 = 80 %.
    assert '"< 10"' in tiles and "≈ 120 / 150" in tiles and "80\u202f%" in tiles
    assert "Passages aux urgences le 14/01 : " in tiles and "non partagé" in tiles  # ED visits are not shared
    # Santé Atlantique: 23 admissions -> 25; its change vs 13/01 (9, suppressed) is hidden; 7 beds -> "< 10".
    assert "Admissions le 14/01 : " in tiles and '"25"' in tiles and "≈ < 10 / 80" in tiles
    for exact in ('"23"', '"37"', '"4"', '"121"', '"7"'):
        assert exact not in tiles, exact
    # Communes, last complete week (06/01-12/01): Rezé 6 -> "< 10"; Saint-Herblain 17 -> 15 (31 per 100,000).
    assert "Rezé" in communes and "Saint-Herblain" in communes and "du 06/01 au 12/01" in communes
    assert '"15"' in communes and '"31"' in communes and '"17"' not in communes and '"6"' not in communes
    assert "Secret statistique" in communes
    assert "Température" in environment and "PM10" not in environment


def test_forged_callback_inputs_return_nothing_and_are_audited(served: Served) -> None:
    client = served.session("reze")
    for forged in (HOTEL_DIEU, "no-such-facility", "' OR 1=1 --"):
        response = _chart(client, served, forged)
        figure, summary = response[ids.ACTIVITY_CHART]["figure"], response[ids.CHART_SUMMARY]["children"]
        assert figure["data"] == [] and "n'est pas partagé" in summary, forged
    with psycopg.connect(served.pool.conninfo) as conn:
        denied = conn.execute(
            "SELECT target FROM access_audit WHERE actor = 'reze' AND outcome = 'denied' ORDER BY audit_id"
        ).fetchall()
    assert [row[0] for row in denied] == [f"dashboard:activity:{f}" for f in (HOTEL_DIEU, "no-such-facility",
                                                                             "' OR 1=1 --")]


def test_the_partner_chart_publishes_complete_days(served: Served) -> None:
    client = served.session("reze")
    figure = _chart(client, served, SANTE_ATLANTIQUE)[ids.ACTIVITY_CHART]["figure"]
    admissions = figure["data"][0]
    assert admissions["y"][-2:] == [None, 25]  # 13/01: 9, suppressed; 14/01: 23 -> 25
    assert figure["data"][1]["y"] == [None] * 7  # ED visits: not shared
    response = _chart(client, served, ids.ALL_TERRITORY)
    totals = response[ids.ACTIVITY_CHART]["figure"]["data"][0]["y"]
    # 14/01: 4 (suppressed) + 23; 13/01: 12 + 9 (suppressed): a total with a suppressed part is suppressed.
    assert totals[-2:] == [None, None] and totals[:-2] == [0] * 5
    assert "admissions" in response[ids.CHART_SUMMARY]["children"] and "< 10" in response[ids.CHART_SUMMARY]["children"]


def test_a_partner_view_is_the_same_whatever_a_suppressed_count_is(served: Served) -> None:
    """4 or 8 admissions at the Confluent on 14/01: every figure the partner can see or download is identical."""
    client = served.session("reze")

    def everything() -> list[Any]:
        views: list[Any] = [_refresh(client, served)]
        for facility in (ids.ALL_TERRITORY, CONFLUENT, SANTE_ATLANTIQUE):
            for period in ("period_48h", "period_7d", "period_30d"):
                views.append(_chart(client, served, facility, period))
        for path in ("facilities/latest.json", "facilities/daily.json?days=30", "communes/latest.json",
                     "facilities/latest.csv", "communes/latest.csv"):
            answer = client.get(served.base + f"{API}/{path}")
            assert answer.status_code == 200
            views.append(answer.json()["rows"] if path.endswith("json") or "json?" in path else answer.text)
        return views

    before = everything()
    # Four more residents of Nantes (a commune the partner does not see), admitted at the Confluent on 14/01.
    load_events(served.pool.conninfo, [admission(DAY + timedelta(hours=2, minutes=i), CONFLUENT, "44109")
                                       for i in range(4)])
    assert everything() == before


def test_downloads_and_api_for_a_partner_session(served: Served) -> None:
    client = served.session("reze")
    answer = client.get(served.base + f"{API}/facilities/latest.json")
    assert answer.status_code == 200 and answer.headers["X-Synopse-Data-Time"] == "2025-01-15T12:40:00Z"
    body = answer.json()
    assert body["period"] == {"first": "2025-01-14", "last": "2025-01-14"} and body["disclosure"]["threshold"] == 10
    rows = {row["facility_id"]: row for row in body["rows"]}
    assert set(rows) == {CONFLUENT, SANTE_ATLANTIQUE}
    assert (rows[CONFLUENT]["admissions"], rows[CONFLUENT]["admissions_status"]) == (None, "suppressed")
    assert (rows[CONFLUENT]["ed_visits"], rows[CONFLUENT]["ed_visits_status"]) == (None, "unavailable")
    assert (rows[SANTE_ATLANTIQUE]["admissions"], rows[SANTE_ATLANTIQUE]["admissions_status"]) == (25, "rounded")
    csv = client.get(served.base + f"{API}/facilities/latest.csv")
    assert csv.headers["Content-Type"].startswith("text/csv") and "attachment" in csv.headers["Content-Disposition"]
    lines = csv.text.splitlines()
    assert lines[0].startswith("data_time,facility_id,name,commune_code,day,admissions,admissions_status")
    assert len(lines) == 3 and any(",suppressed," in line for line in lines) and HOTEL_DIEU not in csv.text
    daily = client.get(served.base + f"{API}/facilities/daily.json?days=2").json()["rows"]
    assert len(daily) == 4 and {r["day"] for r in daily} == {"2025-01-13", "2025-01-14"}
    communes = client.get(served.base + f"{API}/communes/latest.json").json()
    assert [r["commune_code"] for r in communes["rows"]] == ["44162", "44143"]
    assert communes["rows"][0]["admissions"] == 15 and communes["rows"][1]["admissions_status"] == "suppressed"
    environment = client.get(served.base + f"{API}/environment/latest.csv").text
    assert "temperature" in environment and "pm10" not in environment
    assert client.get(served.base + f"{API}/facilities/daily.json?days=0").status_code == 400
    assert client.get(served.base + f"{API}/facilities/latest.xml").status_code == 404
    me = client.get(served.base + "/api/v1/me.json").json()
    assert me["role"] == "partner" and me["organisation"] == "ville-reze" and not me["exact_values"]
    with psycopg.connect(served.pool.conninfo) as conn:
        targets = [row[0] for row in conn.execute(
            "SELECT target FROM access_audit WHERE actor = 'reze' AND action = 'data.read' ORDER BY audit_id")]
    assert f"api:{API}/facilities/latest.json" in targets and f"api:{API}/communes/latest.json" in targets


def test_the_crisis_cell_sees_exact_values_everywhere(served: Served) -> None:
    client = served.session("crise")
    rows = {r["facility_id"]: r for r in client.get(served.base + f"{API}/facilities/latest.json").json()["rows"]}
    assert len(rows) == 8 and rows[HOTEL_DIEU]["admissions"] == 37 and rows[CONFLUENT]["admissions"] == 4
    assert rows[CONFLUENT]["admissions_status"] == "exact" and rows[HOTEL_DIEU]["ed_visits"] == 52
    tiles = _text(_refresh(client, served)[ids.FACILITY_TILES])
    assert "CHU de Nantes — Hôtel-Dieu" in tiles and "Lits occupés : 603 / 620" in tiles
    with psycopg.connect(served.pool.conninfo) as conn:
        reads = conn.execute("SELECT count(*) FROM access_audit WHERE actor = 'crise' AND action = 'data.read'")
        assert reads.fetchone() == (0,)  # only partners' reads are audited


def test_a_viewer_sees_every_facility_published(served: Served) -> None:
    client = served.session("lecteur")
    response = _refresh(client, served)
    assert len(response[ids.FACILITY_PICKER]["options"]) == 9
    assert response[ids.FACILITY_PICKER]["options"][0]["label"] == "Tout le territoire"
    tiles = _text(response[ids.FACILITY_TILES])
    assert "Hôtel-Dieu" in tiles and '"35"' in tiles and '"37"' not in tiles and '"< 10"' in tiles
    rows = {r["facility_id"]: r for r in client.get(served.base + f"{API}/facilities/latest.json").json()["rows"]}
    assert rows[HOTEL_DIEU]["admissions"] == 35 and rows[HOTEL_DIEU]["ed_visits"] == 50


def test_a_revoked_share_disappears_at_the_next_request(served: Served) -> None:
    client = served.session("reze")
    assert len(_refresh(client, served)[ids.FACILITY_PICKER]["options"]) == 3
    with psycopg.connect(served.pool.conninfo) as conn:
        organisation = db.get_organisation(conn, "ville-reze")
        assert organisation is not None
        db.revoke_shares(conn, organisation.organisation_id, ShareKind.FACILITY, [SANTE_ATLANTIQUE])
    options = _refresh(client, served)[ids.FACILITY_PICKER]["options"]
    assert [o["value"] for o in options] == [ids.ALL_TERRITORY, CONFLUENT]
    rows = client.get(served.base + f"{API}/facilities/latest.json").json()["rows"]
    assert [r["facility_id"] for r in rows] == [CONFLUENT]


def test_api_tokens_read_as_their_organisation_until_revoked(served: Served) -> None:
    token, prefix = new_api_token()
    with psycopg.connect(served.pool.conninfo) as conn:
        organisation = db.get_organisation(conn, "ars")
        assert organisation is not None
        record = db.create_token(conn, digest(token), prefix, organisation.organisation_id, "ars-etl", "test", None)
    bearer = {"Authorization": f"Bearer {token}"}
    answer = requests.get(timeout=10, url=served.base + f"{API}/facilities/latest.csv", headers=bearer)
    assert answer.status_code == 200 and HOTEL_DIEU in answer.text and CONFLUENT not in answer.text
    assert ",35,rounded," in answer.text and ",50,rounded," in answer.text
    # A token opens the API only, not the pages.
    assert requests.get(timeout=10, url=served.base + "/_dash-layout", headers=bearer).status_code == 401
    assert requests.get(timeout=10, url=served.base + f"{API}/facilities/latest.json",
                        headers={"Authorization": "Bearer syn_not-a-token"}).status_code == 401
    assert requests.get(timeout=10, url=served.base + f"{API}/facilities/latest.json",
                        headers={"Authorization": "Basic YWRtaW46YWRtaW4="}).status_code == 401
    with psycopg.connect(served.pool.conninfo) as conn:
        db.revoke_token(conn, str(record.token_id))
    revoked = requests.get(timeout=10, url=served.base + f"{API}/facilities/latest.json", headers=bearer)
    assert revoked.status_code == 401 and revoked.headers["WWW-Authenticate"].startswith("Bearer")
    with psycopg.connect(served.pool.conninfo) as conn:
        audit = conn.execute("SELECT actor, action, outcome FROM access_audit WHERE actor LIKE 'token:%%' "
                             "ORDER BY audit_id").fetchall()
    assert (f"token:{prefix}", "data.read", "ok") in audit and ("token:unknown", "auth.token", "denied") in audit
