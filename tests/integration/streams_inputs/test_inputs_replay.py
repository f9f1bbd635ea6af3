"""CSV replays through the command line to a real broker, and the daily counts' table on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from streams.commands import app
from synopse.db.hospital_daily import load_hospital_daily, store_hospital_daily
from synopse.domain.codec import decode_message
from synopse.domain.codes import Indicator
from synopse.domain.events import HospitalDailyCount, HospitalMeasure
from synopse.domain.topics import ENVIRONMENT, HOSPITAL_DAILY
from tests.integration.streams.streams_support import read_topic

pytestmark = pytest.mark.integration

CSV = Path(__file__).resolve().parents[2] / "fixtures" / "streams_inputs" / "csv"


def environment(bootstrap: str, prefix: str) -> dict[str, str]:
    return {"SYNOPSE_KAFKA__BOOTSTRAP_SERVERS": bootstrap, "SYNOPSE_KAFKA__TOPIC_PREFIX": prefix,
            "SYNOPSE_KAFKA__PARTITIONS": "2"}


def counts(bootstrap: str, topic: str, expected_messages: int) -> list[HospitalDailyCount]:
    records = read_topic(bootstrap, topic, expected=expected_messages)
    events = [e for r in records for e in decode_message(HOSPITAL_DAILY, r.value).events]
    return [e for e in events if isinstance(e, HospitalDailyCount)]


def test_spf_stock_file_replays_as_daily_counts(kafka_bootstrap: str, topic_prefix: str) -> None:
    result = CliRunner().invoke(
        app, ["replay", "spf-hospital", "--csv", str(CSV / "spf_hosp_stock_sample.csv"), "--date-column", "jour",
              "--only", "44"], env=environment(kafka_bootstrap, topic_prefix))
    assert result.exit_code == 1, result.output  # one row refused: the replay says so in its exit status
    assert "keeping rows with sexe=0" in result.output
    assert "8 rows read, 18 events sent" in result.output
    assert "4 rows left out by the filters, 1 rows refused" in result.output
    assert "line 8: column hosp: 'not-a-count' is not a number" in result.output
    events = counts(kafka_bootstrap, topic_prefix + HOSPITAL_DAILY.name, expected_messages=1)
    hospitalised = {e.day: e.value for e in events if e.measure is HospitalMeasure.HOSPITALISED}
    assert hospitalised == {date(2020, 11, 2): 412, date(2020, 11, 3): 431, date(2020, 11, 5): 447}
    assert {e.territory for e in events} == {"dep:44"}


def test_temperature_file_with_other_columns(kafka_bootstrap: str, topic_prefix: str) -> None:
    result = CliRunner().invoke(
        app, ["replay", "temperature", "--csv", str(CSV / "temperature_other_columns.csv"), "--date-column", "jour",
              "--territory-column", "code_dept", "--min-column", "t_min", "--max-column", "t_max",
              "--mean-column", "t_moy"], env=environment(kafka_bootstrap, topic_prefix))
    assert result.exit_code == 0, result.output
    assert "2 rows read, 6 events sent" in result.output
    records = read_topic(kafka_bootstrap, topic_prefix + ENVIRONMENT.name, expected=1)
    events = [e for r in records for e in decode_message(ENVIRONMENT, r.value).events]
    assert {(e.station_id, e.indicator) for e in events} == {
        ("temperature-dep85", i) for i in (Indicator.TEMPERATURE_DAILY_MIN, Indicator.TEMPERATURE_DAILY_MAX,
                                          Indicator.TEMPERATURE_DAILY_MEAN)}


def test_a_revised_count_replaces_the_stored_one(pg_dsn: str) -> None:
    from streams.formats.opendata import daily_count_id

    def count(value: int, day: date = date(2020, 11, 2)) -> HospitalDailyCount:
        return HospitalDailyCount(
            event_id=daily_count_id("spf-sivic", "dep:44", "covid19", HospitalMeasure.ADMISSIONS, day),
            source="spf-sivic", territory="dep:44", day=day, condition="covid19",
            measure=HospitalMeasure.ADMISSIONS, value=value)

    async def store(events: list[HospitalDailyCount]) -> tuple[int, int, int]:
        async with await psycopg.AsyncConnection.connect(pg_dsn) as conn:
            written = await store_hospital_daily(conn, HOSPITAL_DAILY.name, events)
        return written.inserted, written.updated, written.unchanged

    assert asyncio.run(store([count(38), count(41, date(2020, 11, 3))])) == (2, 0, 0)
    assert asyncio.run(store([count(38)])) == (0, 0, 1)  # re-delivered: untouched
    assert asyncio.run(store([count(40)])) == (0, 1, 0)  # revised: replaced, not added
    with psycopg.connect(pg_dsn) as conn:
        series = load_hospital_daily(conn, "dep:44", HospitalMeasure.ADMISSIONS, condition="covid19")
        assert series == {date(2020, 11, 2): 40, date(2020, 11, 3): 41}
        freshness = conn.execute("SELECT source_id, events_total FROM source_freshness WHERE topic = %s",
                                 (HOSPITAL_DAILY.name,)).fetchall()
    assert freshness == [("dep:44", 4)]
