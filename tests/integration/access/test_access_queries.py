"""The scoped read functions filter in SQL: on plain PostgreSQL and on TimescaleDB's continuous aggregates."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from psycopg import sql

from synopse.config import TimescaleMode
from synopse.db import access as db
from synopse.db.indicators import (
    commune_week,
    facility_beds,
    facility_days,
    hourly_activity,
    latest_environment,
    load_overview,
    source_freshness,
)
from synopse.db.migrate import migrate
from synopse.db.reference import seed_territory
from synopse.domain.access import AccessDenied, Scope, ShareKind
from tests.integration.access.access_data import (
    CONFLUENT,
    HOTEL_DIEU,
    REFERENCE,
    SANTE_ATLANTIQUE,
    access_events,
    create_accounts,
)
from tests.integration.dashboard.dashboard_synthetic import admission, load_events
from tests.integration.dashboard.test_dashboard_indicators_timescaledb import AGGREGATES
from tests.services.timescaledb import TimescaleServer

pytestmark = pytest.mark.integration

DAY, BEFORE, MONDAY = date(2025, 1, 14), date(2025, 1, 13), date(2025, 1, 6)


def _check_answers(conn: psycopg.Connection, reze: Scope) -> None:
    everything = Scope.everything(exact=False)
    days = {(d.facility_id, d.day): d for d in facility_days(conn, scope=reze, first=BEFORE, last=DAY)}
    assert {facility for facility, _ in days} == {CONFLUENT, SANTE_ATLANTIQUE}
    assert (days[CONFLUENT, DAY].admissions, days[CONFLUENT, BEFORE].admissions) == (4, 12)
    assert (days[SANTE_ATLANTIQUE, DAY].admissions, days[SANTE_ATLANTIQUE, BEFORE].admissions) == (23, 9)
    assert days[CONFLUENT, DAY].ed_visits is None  # not shared: never a 0
    all_days = {(d.facility_id, d.day): d for d in facility_days(conn, scope=everything, first=BEFORE, last=DAY)}
    assert len(all_days) == 16 and all_days[HOTEL_DIEU, DAY].ed_visits == 52
    assert facility_days(conn, scope=reze, first=DAY, last=DAY, facility_id=HOTEL_DIEU) == []  # forged id
    weeks = {c.commune_code: c for c in commune_week(conn, scope=reze, monday=MONDAY)}
    assert set(weeks) == {"44143", "44162"} and (weeks["44143"].admissions, weeks["44162"].admissions) == (6, 17)
    assert weeks["44143"].ed_visits is None
    assert {c.commune_code: c.admissions for c in commune_week(conn, scope=everything, monday=MONDAY)}["44109"] == 41
    beds = {f.facility_id: f for f in facility_beds(conn, scope=reze)}
    assert set(beds) == {CONFLUENT, SANTE_ATLANTIQUE} and beds[CONFLUENT].beds_occupied == 121
    assert [r.indicator for r in latest_environment(conn, REFERENCE, scope=reze)] == ["temperature"]
    assert {r.indicator for r in latest_environment(conn, REFERENCE, scope=everything)} == {"temperature", "pm10"}
    sources = {r.source_id for r in source_freshness(conn, scope=reze)}
    assert HOTEL_DIEU not in sources and {CONFLUENT, "07222", "FR23188"} <= sources


def test_scoped_reads_on_postgresql(pg_dsn: str) -> None:
    load_events(pg_dsn, access_events())
    organisations = create_accounts(pg_dsn)
    with psycopg.connect(pg_dsn) as conn:
        _check_answers(conn, Scope.shared_with(organisations["ville-reze"]))


def test_local_days_and_partial_shares(pg_dsn: str) -> None:
    # 23:30 UTC on 13/01 is 00:30 on 14/01 in Paris: the admission counts on the 14th.
    load_events(pg_dsn, [admission(REFERENCE.replace(day=13, hour=23, minute=30), CONFLUENT, "44143")])
    with psycopg.connect(pg_dsn) as conn:
        organisation = db.add_organisation(conn, "no-beds", "Sans lits")
        db.grant_shares(conn, organisation.organisation_id, ShareKind.FACILITY, [CONFLUENT], "test")
        scope = Scope.shared_with(organisation.organisation_id)
        days = facility_days(conn, scope=scope, first=BEFORE, last=DAY)
        assert [(d.day, d.admissions, d.beds_total) for d in days] == [(BEFORE, None, None), (DAY, None, None)]
        db.grant_shares(conn, organisation.organisation_id, ShareKind.INDICATOR, ["admissions"], "test")
        assert [d.admissions for d in facility_days(conn, scope=scope, first=BEFORE, last=DAY)] == [0, 1]
        beds = facility_beds(conn, scope=scope)[0]
        assert beds.beds_total is None and beds.beds_occupied is None and not beds.beds_shared
        nobody = db.add_organisation(conn, "nothing", "Rien de partagé")
        empty = Scope.shared_with(nobody.organisation_id)
        assert facility_days(conn, scope=empty, first=BEFORE, last=DAY) == []
        assert commune_week(conn, scope=empty, monday=MONDAY) == [] and facility_beds(conn, scope=empty) == []
        with pytest.raises(ValueError, match="not a Monday"):
            commune_week(conn, scope=empty, monday=DAY)
        with pytest.raises(ValueError, match="before"):
            facility_days(conn, scope=empty, first=DAY, last=BEFORE)


def test_exact_reads_refuse_a_protected_scope(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        organisation = db.add_organisation(conn, "partner", "Partenaire")
        for scope in (Scope.everything(exact=False), Scope.shared_with(organisation.organisation_id)):
            with pytest.raises(AccessDenied):
                load_overview(conn, REFERENCE, scope=scope)
            with pytest.raises(AccessDenied):
                hourly_activity(conn, hours=24, now=REFERENCE, scope=scope)


def test_scoped_reads_on_timescaledb(timescaledb_server: TimescaleServer, schema: str) -> None:
    with timescaledb_server.connect(schema, autocommit=True) as conn:
        migrate(conn, timescale=TimescaleMode.REQUIRE)
    with timescaledb_server.connect(schema, autocommit=False) as conn:
        seed_territory(conn)
    load_events(timescaledb_server.dsn, access_events(), schema=schema)
    with timescaledb_server.connect(schema, autocommit=False) as conn:
        organisation = db.add_organisation(conn, "ville-reze", "Ville de Rezé")
        org = organisation.organisation_id
        db.grant_shares(conn, org, ShareKind.FACILITY, [CONFLUENT, SANTE_ATLANTIQUE], "test")
        db.grant_shares(conn, org, ShareKind.COMMUNE, ["44143", "44162"], "test")
        db.grant_shares(conn, org, ShareKind.INDICATOR, ["admissions", "beds", "temperature"], "test")
        conn.commit()
        _check_answers(conn, Scope.shared_with(org))  # real-time aggregation: the raw rows
    with timescaledb_server.connect(schema, autocommit=True) as conn:
        for name in AGGREGATES:
            conn.execute(sql.SQL("CALL refresh_continuous_aggregate({}, NULL, NULL)").format(sql.Literal(name)))
    with timescaledb_server.connect(schema, autocommit=False) as conn:
        _check_answers(conn, Scope.shared_with(org))  # the materialised buckets
