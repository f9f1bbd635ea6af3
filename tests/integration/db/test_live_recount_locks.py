"""A replay batch spanning weeks recounts its live hours without exhausting PostgreSQL's lock table."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from synopse.db.ingest import store_events
from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory
from synopse.domain.events import Admission
from synopse.domain.territory import COMMUNES, FACILITIES

pytestmark = pytest.mark.integration

START = datetime(2025, 1, 1, tzinfo=UTC)
EVENTS = 20_000  # one admission an hour for 833 days: 40,000 (place, hour) pairs, where 6,400 locks is the default


def test_a_batch_touching_thousands_of_place_hours_is_stored_in_one_transaction(pg_dsn: str) -> None:
    events = [
        Admission(
            event_id=uuid.uuid4(), facility_id=FACILITIES[i % len(FACILITIES)].facility_id, care_unit=CareUnit.MEDICINE,
            admitted_at=START + timedelta(hours=i, minutes=i % 60), age_band=AgeBand.FROM_15_TO_74,
            reason=ReasonCategory.RESPIRATORY, patient_key=f"{i:064x}", commune_code=COMMUNES[i % len(COMMUNES)].code,
        )
        for i in range(EVENTS)
    ]

    async def store() -> None:
        async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
            await store_events(conn, "admissions", events)
            await conn.commit()

    asyncio.run(store())
    with psycopg.connect(pg_dsn) as conn:
        places = conn.execute(
            "SELECT count(*), sum(events) FROM live_activity_hourly WHERE kind = 'admissions' AND scope = 'facility'"
        ).fetchone()
    assert places == (EVENTS, EVENTS)
