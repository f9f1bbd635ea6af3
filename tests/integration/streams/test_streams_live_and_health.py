"""Live indicators computed in the stream, and pipeline health, as the dashboard and the alert rules read them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from synopse.domain.codec import encode_event
from synopse.domain.codes import AgeBand, CareUnit, ReasonCategory
from synopse.domain.events import Admission, BedSnapshot, EmergencyVisit
from synopse.domain.topics import ADMISSIONS
from synopse.producer import EventProducer
from tests.integration.streams.streams_support import WorkerProcess, metric, patient_key, wait_until

pytestmark = pytest.mark.integration

Conn = psycopg.Connection  # type: ignore[type-arg]
FACILITY, COMMUNE = "hp-confluent", "44109"


def admission(at: datetime, **changes: object) -> Admission:
    return Admission(event_id=uuid.uuid4(), facility_id=FACILITY, care_unit=CareUnit.MEDICINE, admitted_at=at,
                     age_band=AgeBand.FROM_75, reason=ReasonCategory.INFLUENZA_LIKE, patient_key=patient_key(1),
                     commune_code=COMMUNE, **changes)


def visit(at: datetime) -> EmergencyVisit:
    return EmergencyVisit(event_id=uuid.uuid4(), facility_id=FACILITY, arrived_at=at, age_band=AgeBand.UNDER_2,
                          reason=ReasonCategory.BRONCHIOLITIS, commune_code="44143")


def live(db: Conn, scope: str, scope_id: str) -> dict[str, object]:
    with db.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        row = cursor.execute("SELECT * FROM live_indicators WHERE scope = %s AND scope_id = %s",
                             (scope, scope_id)).fetchone()
    return row or {}


def test_live_indicators_follow_late_events_and_corrections(
    worker: WorkerProcess, producer: EventProducer, db: Conn
) -> None:
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    in_hour = [hour + (now - hour) * k / 4 for k in (1, 2, 3)]
    current = [admission(at) for at in in_hour]
    previous = [admission(hour - timedelta(minutes=30))]
    late = [admission(now - timedelta(days=3)), admission(now - timedelta(days=3, hours=2))]
    visits = [visit(at) for at in in_hour[:2]]
    beds = [BedSnapshot(event_id=uuid.uuid4(), facility_id=FACILITY, care_unit=unit, observed_at=now,
                        beds_total=20, beds_occupied=occupied)
            for unit, occupied in ((CareUnit.MEDICINE, 18), (CareUnit.ICU, 12))]
    producer.send([*current, *previous, *visits, *beds])
    producer.flush()
    wait_until(lambda: live(db, "facility", FACILITY).get("admissions_7d") == 4, what="the live admissions")
    producer.send(late)  # late events: they land in their own hours, and in the 7-day sum
    producer.flush()
    wait_until(lambda: live(db, "facility", FACILITY).get("admissions_7d") == 6, what="the late admissions")

    facility = live(db, "facility", FACILITY)
    assert (facility["admissions_current_hour"], facility["admissions_last_hour"]) == (3, 1)
    assert (facility["ed_visits_current_hour"], facility["ed_visits_7d"]) == (2, 2)
    assert (facility["beds_total"], facility["beds_occupied"], facility["occupancy_rate"]) == (40, 30, 0.75)
    commune = live(db, "commune", COMMUNE)
    assert (commune["admissions_current_hour"], commune["admissions_7d"]) == (3, 6)
    assert live(db, "commune", "44143")["ed_visits_current_hour"] == 2

    # A correction: the first admission was entered in error. Same id and time, cancelled: recounted.
    cancelled = Admission.model_validate({**current[0].model_dump(), "cancelled": True})
    producer.send_raw(ADMISSIONS.name, encode_event(cancelled), key=FACILITY.encode())
    producer.flush()
    wait_until(lambda: live(db, "facility", FACILITY).get("admissions_current_hour") == 2, what="the correction")
    assert live(db, "commune", COMMUNE)["admissions_7d"] == 5


def test_pipeline_health_is_stored_and_exposed(worker: WorkerProcess, producer: EventProducer, db: Conn,
                                               module_prefix: str) -> None:
    newest = datetime.now(UTC) - timedelta(minutes=1)
    producer.send([admission(newest - timedelta(minutes=m)) for m in range(5)])
    producer.flush()
    group = f"g-{module_prefix}"

    def health() -> tuple[object, ...] | None:
        return db.execute(
            "SELECT events_in, lag, lag_at, last_event_at FROM pipeline_health_topics "
            "JOIN (SELECT consumer_group, topic, min(lag_at) AS lag_at FROM pipeline_health GROUP BY 1, 2) AS l "
            "USING (consumer_group, topic) WHERE consumer_group = %s AND topic = %s",
            (group, ADMISSIONS.name),
        ).fetchone()

    wait_until(lambda: (row := health()) is not None and row[3] is not None and row[3] >= newest
               and row[1] == 0 and row[2] is not None and row[2] > newest, what="health rows with lag 0")
    page = worker.metrics()
    assert f'synopse_stream_last_event_timestamp_seconds{{topic="{ADMISSIONS.name}"}}' in page
    lags = [line for line in page.splitlines()
            if line.startswith("synopse_stream_consumer_lag{") and ADMISSIONS.name in line]
    assert len(lags) == 6 and all(line.endswith(" 0.0") for line in lags)  # one per partition held, caught up
    assert metric(page, f'synopse_stream_last_event_timestamp_seconds{{topic="{ADMISSIONS.name}"}}') >= (
        newest.timestamp() - 1
    )
