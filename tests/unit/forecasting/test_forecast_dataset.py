"""Dataset shaping: regular calendars, gaps, weekly periods, CSV input, and what a series allows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting.dataset import Readiness, assess, combined_rows_note, fill_gaps, load_csv_series, regular_series
from synopse.errors import DataUnavailableError


def test_daily_calendar_with_gaps_and_duplicates() -> None:
    s = regular_series(["2024-01-03", "2024-01-01", "2024-01-01", "2024-01-05"], [3, 1, 2, 5])
    assert [d.day for d in s.dates] == [1, 2, 3, 4, 5]
    assert np.array_equal(s.values, [3, np.nan, 3, np.nan, 5], equal_nan=True)  # duplicates summed
    assert s.counts and s.freq == "D" and s.observed == 3


def test_mean_aggregation_and_empty_rows() -> None:
    s = regular_series(["2024-01-01", "2024-01-01", "2024-01-02"], [2.0, 4.0, np.nan], agg="mean")
    assert np.array_equal(s.values, [3.0, np.nan], equal_nan=True)  # an empty day stays empty, not 0


def test_weekly_from_daily_ends_on_the_last_weekday_and_drops_incomplete_weeks() -> None:
    days = pd.date_range("2024-01-01", "2024-01-24")  # a Wednesday last
    s = regular_series(days, np.ones(len(days)), freq="W")
    assert all(d.day_name() == "Wednesday" for d in s.dates)
    assert s.dates[-1] == pd.Timestamp("2024-01-24")
    assert np.isnan(s.values[0])  # Jan 1-3 only: an incomplete week
    assert s.values[1:].tolist() == [7.0, 7.0, 7.0]


def test_weekly_input_keeps_one_value_per_week() -> None:
    weeks = pd.date_range("2024-01-01", periods=6, freq="7D")
    s = regular_series(weeks, [1, 2, 3, 4, 5, 6], freq="W")
    assert s.values.tolist() == [1, 2, 3, 4, 5, 6]


def test_until_and_future_dates() -> None:
    s = regular_series(pd.date_range("2024-01-01", periods=10), np.arange(10.0), regressors={"t": np.arange(10.0)})
    cut = s.until(pd.Timestamp("2024-01-04"))
    assert len(cut) == 4 and cut.regressors["t"].tolist() == [0, 1, 2, 3]
    assert cut.future_dates(2).tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-06")]


def test_csv_with_semicolons_filter_and_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("jour;classe;valeur\n2024-01-01;A;1,5\n2024-01-01;B;9\n2024-01-02;A;2,5\n", encoding="utf-8")
    s = load_csv_series(path, date_col="jour", value_col="valeur", where={"classe": "A"})
    assert s.values.tolist() == [1.5, 2.5] and not s.counts


def test_csv_errors_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("date,value\n2024-01-01,1\n", encoding="utf-8")
    with pytest.raises(DataUnavailableError, match="no column count"):
        load_csv_series(path, date_col="date", value_col="count")
    with pytest.raises(DataUnavailableError, match="cannot read"):
        load_csv_series(tmp_path / "missing.csv", date_col="date", value_col="value")


def _daily(values: list[float] | np.ndarray) -> object:
    return regular_series(pd.date_range("2024-01-01", periods=len(values)), values)


@pytest.mark.parametrize(
    ("values", "readiness", "reason"),
    [
        ([5.0], Readiness.NONE, "too little data: 1"),
        ([np.nan, 3.0, np.nan], Readiness.NONE, "too little data"),
        ([4.0] * 60, Readiness.SIMPLE, "constant series"),
        (list(range(20)), Readiness.SIMPLE, "short history: 20 days < 42"),
        ([*range(59), np.nan], Readiness.SIMPLE, "no value for the last period"),
        ([v if i % 3 else np.nan for i, v in enumerate(range(1, 61))], Readiness.SIMPLE, "gaps: 33%"),
        (list(range(60)), Readiness.MAIN, None),
    ],
)
def test_assess(values: list[float], readiness: Readiness, reason: str | None) -> None:
    verdict = assess(_daily(values), min_history=42)  # type: ignore[arg-type]
    assert verdict.readiness is readiness
    if reason is None:
        assert verdict.reason is None
    else:
        assert verdict.reason is not None and reason in verdict.reason


def test_fill_gaps() -> None:
    assert fill_gaps(np.array([np.nan, 1.0, np.nan, 3.0, np.nan])).tolist() == [1.0, 1.0, 2.0, 3.0, 3.0]


def test_inflow_from_the_same_file_or_another_one(tmp_path: Path) -> None:
    stock = tmp_path / "stock.csv"
    stock.write_text("date,dep,hosp,entrees\n" + "".join(
        f"2024-01-{d:02d},44,{100 + d},{d}\n2024-01-{d:02d},49,1,1\n" for d in range(1, 15)), encoding="utf-8")
    flows = tmp_path / "flows.csv"
    flows.write_text("date,dep,incid\n" + "".join(
        f"2024-01-{d:02d},44,{2 * d}\n" for d in range(1, 15) if d != 3), encoding="utf-8")
    same = load_csv_series(stock, date_col="date", value_col="hosp", where={"dep": "44"}, inflow_col="entrees")
    assert same.inflow is not None and same.inflow.tolist() == list(range(1, 15))
    other = load_csv_series(stock, date_col="date", value_col="hosp", where={"dep": "44"}, inflow_col="incid",
                            inflow_path=flows)
    assert other.inflow is not None and np.isnan(other.inflow[2]) and other.inflow[3] == 8
    assert other.until(pd.Timestamp("2024-01-05")).inflow.tolist()[:2] == [2, 4]  # type: ignore[union-attr]
    # Weekly: occupancy at the week's end, the inflow summed; a week missing a day of inflow is unknown.
    weekly = load_csv_series(stock, date_col="date", value_col="hosp", where={"dep": "44"}, inflow_col="incid",
                             inflow_path=flows, freq="W", agg="last")
    assert weekly.values.tolist() == [107, 114]
    assert np.isnan(weekly.inflow[0]) and weekly.inflow[1] == 2 * sum(range(8, 15))  # type: ignore[index]
    with pytest.raises(DataUnavailableError, match="no column nope"):
        load_csv_series(stock, date_col="date", value_col="hosp", inflow_col="nope", inflow_path=flows)


def test_combined_rows_are_named_by_the_columns_that_split_them() -> None:
    frame = pd.DataFrame({
        "date": ["2024-01-01"] * 3 + ["2024-01-02"] * 3,
        "classe_age": ["00-04 ans", "05-14 ans", "Tous âges"] * 2,
        "region": ["Pays de la Loire"] * 6,  # the same everywhere: not a key
        "value": ["1", "2", "3", "4", "5", "6"],
        "other_count": ["7", "8", "9", "10", "11", "12"],  # a measure: new values all the time
    })
    note = combined_rows_note(frame, "date", ("value",), "mean")
    assert note is not None and note.startswith("3 rows a date on average, combined by mean")
    assert "classe_age (3 values: 00-04 ans, 05-14 ans, Tous âges)" in note
    assert "region" not in note and "other_count" not in note
    assert "--where 'classe_age=00-04 ans'" in note  # quoted for the shell
    assert combined_rows_note(frame.iloc[::3], "date", ("value",), "sum") is None
    # Several rows a date with nothing to tell them apart (one row per event): said, without a filter to try.
    events = pd.DataFrame({"date": ["2024-01-01", "2024-01-01", "2024-01-02"], "value": ["1", "1", "1"]})
    assert combined_rows_note(events, "date", ("value",), "sum") == "1.5 rows a date on average, combined by sum"
