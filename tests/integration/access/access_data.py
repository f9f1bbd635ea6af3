"""Known events and accounts for the access tests: counts chosen on both sides of the disclosure threshold.

Reference instant: Wednesday 15 January 2025, 12:40 UTC. The last complete local day is Tuesday 14/01 (the
day before: 13/01); the last complete ISO week runs from Monday 06/01 to Sunday 12/01.

Organisation ``ville-reze`` is shared the facilities hp-confluent and sante-atlantique, the communes Rezé
(44143) and Saint-Herblain (44162), and the indicators admissions, beds and temperature (not ED visits).
Organisation ``ars`` is shared chu-nantes-hotel-dieu only, with every count indicator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from dashboard.auth.passwords import hash_password
from synopse.db import access as db
from synopse.domain.access import Role, ShareKind
from synopse.domain.codes import CareUnit, Indicator
from synopse.domain.events import Event
from tests.integration.dashboard.dashboard_synthetic import admission, beds, load_events, observation, visit

REFERENCE = datetime(2025, 1, 15, 12, 40, tzinfo=UTC)
DAY = datetime(2025, 1, 14, 9, 0, tzinfo=UTC)  # 10:00 local on 14/01
DAY_BEFORE = DAY - timedelta(days=1)
IN_WEEK = datetime(2025, 1, 8, 9, 0, tzinfo=UTC)  # Wednesday of the last complete week

HOTEL_DIEU, CONFLUENT, SANTE_ATLANTIQUE = "chu-nantes-hotel-dieu", "hp-confluent", "sante-atlantique"
PASSWORD = "correct horse battery"  # noqa: S105 - test accounts; 21 characters (the policy wants 12)
SIGNING_KEY = "k" * 40

# (facility, commune of residence, admissions on 14/01, on 13/01, ED visits on 14/01)
FACILITY_COUNTS = {
    HOTEL_DIEU: ("44109", 37, 30, 52),  # published 35, 30, 50
    CONFLUENT: ("44143", 4, 12, 3),  # published suppressed, 10, suppressed
    SANTE_ATLANTIQUE: ("44162", 23, 9, 0),  # published 25, suppressed, 0
}
# Residents' admissions in the last complete week (all at the Hôtel-Dieu), by commune.
WEEK_COUNTS = {"44109": 41, "44143": 6, "44162": 17}  # published 40, suppressed, 15


def access_events() -> list[Event]:
    events: list[Event] = []
    for facility, (commune, day, before, visits) in FACILITY_COUNTS.items():
        events += [admission(DAY + timedelta(minutes=i), facility, commune) for i in range(day)]
        events += [admission(DAY_BEFORE + timedelta(minutes=i), facility, commune) for i in range(before)]
        events += [visit(DAY + timedelta(minutes=i), facility, commune) for i in range(visits)]
    for commune, count in WEEK_COUNTS.items():
        events += [admission(IN_WEEK + timedelta(minutes=i), HOTEL_DIEU, commune) for i in range(count)]
    events += [
        beds(REFERENCE - timedelta(minutes=20), HOTEL_DIEU, CareUnit.MEDICINE, 620, 603),
        beds(REFERENCE - timedelta(minutes=20), CONFLUENT, CareUnit.MEDICINE, 150, 121),
        beds(REFERENCE - timedelta(minutes=20), SANTE_ATLANTIQUE, CareUnit.MEDICINE, 80, 7),
        observation(REFERENCE - timedelta(minutes=10), "07222", Indicator.TEMPERATURE, 9.5),
        observation(REFERENCE - timedelta(minutes=10), "FR23188", Indicator.PM10, 31.0),
    ]
    return events


def create_accounts(dsn: str) -> dict[str, Any]:
    """Organisations, shares and one user per role; returns the organisations' ids."""
    password_hash = hash_password(PASSWORD)  # one hash for every account: argon2 is slow on purpose
    with psycopg.connect(dsn) as conn:
        reze = db.add_organisation(conn, "ville-reze", "Ville de Rezé")
        ars = db.add_organisation(conn, "ars", "ARS Pays de la Loire")
        db.grant_shares(conn, reze.organisation_id, ShareKind.FACILITY, [CONFLUENT, SANTE_ATLANTIQUE], "test")
        db.grant_shares(conn, reze.organisation_id, ShareKind.COMMUNE, ["44143", "44162"], "test")
        db.grant_shares(conn, reze.organisation_id, ShareKind.INDICATOR, ["admissions", "beds", "temperature"], "test")
        db.grant_shares(conn, ars.organisation_id, ShareKind.FACILITY, [HOTEL_DIEU], "test")
        db.grant_shares(conn, ars.organisation_id, ShareKind.INDICATOR, ["admissions", "ed_visits", "beds"], "test")
        db.add_user(conn, "crise", password_hash, Role.CRISIS_CELL)
        db.add_user(conn, "admin", password_hash, Role.ADMINISTRATOR)
        db.add_user(conn, "lecteur", password_hash, Role.VIEWER)
        db.add_user(conn, "reze", password_hash, Role.PARTNER, reze.organisation_id, "Agent de Rezé")
        db.add_user(conn, "ars", password_hash, Role.PARTNER, ars.organisation_id)
    return {"ville-reze": reze.organisation_id, "ars": ars.organisation_id}


def load(dsn: str) -> dict[str, Any]:
    load_events(dsn, access_events())
    return create_accounts(dsn)
