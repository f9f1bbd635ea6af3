"""Open-data rows to events: SpF hospital counts per area and day, daily temperatures; and the CSV reading."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from streams.commands import app
from streams.formats.opendata import (
    HospitalColumns,
    TemperatureColumns,
    daily_count_id,
    hospital_row_events,
    temperature_row_events,
)
from streams.replay import iter_rows, read_header
from synopse.domain.codes import Indicator, ReasonCategory
from synopse.domain.events import HospitalMeasure
from synopse.errors import ContractError

CSV = Path(__file__).resolve().parents[2] / "fixtures" / "streams_inputs" / "csv"
PARIS = ZoneInfo("Europe/Paris")


def test_semicolons_quotes_and_line_numbers() -> None:
    assert read_header(CSV / "spf_hosp_stock_sample.csv")[:3] == ["dep", "sexe", "jour"]
    line, row = next(iter_rows(CSV / "spf_hosp_stock_sample.csv"))
    assert line == 2 and row["dep"] == "44" and row["jour"] == "2020-11-02"


def test_a_stock_row_gives_one_count_per_published_measure() -> None:
    rows = [row for _, row in iter_rows(CSV / "spf_hosp_stock_sample.csv")]
    columns = HospitalColumns(date="jour")
    events = hospital_row_events(rows[0], columns)  # HospConv, SSR_USLD, autres empty: not published yet
    assert {(e.measure, e.value) for e in events} == {
        (HospitalMeasure.HOSPITALISED, 412), (HospitalMeasure.CRITICAL_CARE, 61),
        (HospitalMeasure.DISCHARGES_HOME_CUMULATIVE, 1890), (HospitalMeasure.DEATHS_CUMULATIVE, 203)}
    first = events[0]
    assert (first.territory, first.day, first.condition, first.source) == ("dep:44", date(2020, 11, 2),
                                                                           ReasonCategory.COVID19, "spf-sivic")
    assert first.occurred_at == datetime(2020, 11, 2, tzinfo=PARIS)
    assert first.event_id == daily_count_id("spf-sivic", "dep:44", "covid19", HospitalMeasure.HOSPITALISED,
                                            date(2020, 11, 2))  # a revised count keeps its id
    assert len(hospital_row_events(rows[4], columns)) == 7
    assert hospital_row_events(rows[7], columns)[0].value == 447  # "447.0": a re-export's float
    with pytest.raises(ContractError, match="column hosp: 'not-a-count' is not a number"):
        hospital_row_events(rows[6], columns)


def test_an_incidence_file_and_an_all_causes_region() -> None:
    rows = [row for _, row in iter_rows(CSV / "spf_hosp_incid_sample.csv")]
    events = hospital_row_events(rows[2], HospitalColumns())
    assert {e.measure for e in events} == {HospitalMeasure.CRITICAL_CARE_ADMISSIONS, HospitalMeasure.DEATHS,
                                           HospitalMeasure.DISCHARGES_HOME}  # incid_hosp empty: no event, not 0
    regional = hospital_row_events({"date": "2020-11-02", "reg": "52", "incid_hosp": "120"},
                                   HospitalColumns(territory="reg", level="reg", condition="all"))
    assert [(e.territory, e.condition, e.value) for e in regional] == [("reg:52", "all", 120)]
    with pytest.raises(ContractError, match=r"column incid_hosp: '2\.5' is not a whole count"):
        hospital_row_events({"date": "2020-11-02", "dep": "44", "incid_hosp": "2.5"}, HospitalColumns())
    with pytest.raises(ContractError, match="column date: '2020-13-45' is not a date"):
        hospital_row_events({"date": "2020-13-45", "dep": "44"}, HospitalColumns())


def test_temperatures_become_daily_min_max_mean() -> None:
    rows = [row for _, row in iter_rows(CSV / "temperature_sample.csv")]
    columns = TemperatureColumns()
    events = temperature_row_events(rows[0], columns)
    assert [(e.station_id, e.indicator, e.value, e.unit) for e in events] == [
        ("temperature-dep44", Indicator.TEMPERATURE_DAILY_MIN, 16.2, "°C"),
        ("temperature-dep44", Indicator.TEMPERATURE_DAILY_MAX, 31.4, "°C"),
        ("temperature-dep44", Indicator.TEMPERATURE_DAILY_MEAN, 23.8, "°C")]
    assert events[0].observed_at == datetime(2023, 7, 10, tzinfo=PARIS)  # the local day's start, in UTC
    assert [e.indicator for e in temperature_row_events(rows[2], columns)] == [
        Indicator.TEMPERATURE_DAILY_MIN, Indicator.TEMPERATURE_DAILY_MEAN]  # empty tmax: no event
    with pytest.raises(ContractError, match="column tmax: 'hot' is not a number"):
        temperature_row_events(rows[3], columns)


def test_other_columns_french_dates_and_decimal_commas() -> None:
    rows = [row for _, row in iter_rows(CSV / "temperature_other_columns.csv")]
    columns = TemperatureColumns(date="jour", territory="code_dept", minimum="t_min", maximum="t_max", mean="t_moy",
                                 station="07222")
    events = temperature_row_events(rows[1], columns)
    assert [(e.station_id, e.value) for e in events] == [("07222", 17.1), ("07222", 33.8), ("07222", 25.45)]
    assert events[0].observed_at == datetime(2023, 7, 11, tzinfo=PARIS)


def test_the_commands_explain_a_missing_column_before_connecting() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["replay", "temperature", "--csv", str(CSV / "temperature_other_columns.csv")],
                           env={"SYNOPSE_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert result.exit_code == 1
    assert "column(s) date, tmin, tmax, tmoy, code_insee_departement not in the header" in result.output
    result = runner.invoke(app, ["replay", "spf-hospital", "--csv", str(CSV / "spf_hosp_incid_sample.csv"),
                                 "--measure", "incid_hosp=beds"])
    assert result.exit_code == 2 and "--measure: a measure is one of" in result.output
    result = runner.invoke(app, ["replay", "spf-hospital", "--csv", str(CSV / "spf_hosp_incid_sample.csv"),
                                 "--level", "county"])
    assert result.exit_code == 2 and "--level must be one of dep, reg, com, fr" in result.output


def test_the_commands_help() -> None:
    runner = CliRunner()
    for args in (["--help"], ["mqtt-bridge", "--help"], ["replay", "spf-hospital", "--help"],
                 ["replay", "temperature", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert "--territory-column" in runner.invoke(app, ["replay", "spf-hospital", "--help"]).output
