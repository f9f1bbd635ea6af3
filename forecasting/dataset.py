"""Dataset shaping: a regular series (daily or weekly) from CSV rows or store rows, and what is wrong with it.

Boundary: pure pandas/numpy, no database and no model. Every forecast and backtest starts from a
:class:`Series`: one value per period on a regular calendar, NaN where nothing was observed, and the
regressors aligned on the same calendar. :func:`assess` says, before any fit, whether a series can have
the main model, only the simple one, or nothing, and why, so that bad data ends in a clear outcome
rather than an exception deep inside a model.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from forecasting.scores import FloatArray
from synopse.errors import DataUnavailableError

Frequency = Literal["D", "W"]
Aggregation = Literal["sum", "mean", "last"]

# Days per period of each frequency.
PERIOD_DAYS: dict[str, int] = {"D": 1, "W": 7}


@dataclass(frozen=True)
class Series:
    """One regular series: ``values[i]`` is the value of the period ending on ``dates[i]`` (NaN: missing).

    ``regressors`` are aligned on ``dates`` (their values after the last date are not known: the model
    makes its own scenario for them). ``upper_bound`` caps the forecasts (beds that can exist, for
    occupancy); ``counts`` says whether values are counts (integers), which selects the count noise model.
    ``inflow``, for a stock (beds occupied), is what enters it each period (admissions), aligned on ``dates``:
    the model then also projects the stock as a stock and flow.
    """

    dates: pd.DatetimeIndex
    values: FloatArray
    freq: Frequency = "D"
    regressors: Mapping[str, FloatArray] = field(default_factory=dict)
    upper_bound: float | None = None
    counts: bool = True
    inflow: FloatArray | None = None

    def __post_init__(self) -> None:
        if len(self.dates) != len(self.values):
            raise ValueError("dates and values differ in length")
        if self.inflow is not None and len(self.inflow) != len(self.dates):
            raise ValueError("the inflow is not aligned with the dates")
        for name, values in self.regressors.items():
            if len(values) != len(self.dates):
                raise ValueError(f"regressor {name} is not aligned with the dates")

    def __len__(self) -> int:
        return len(self.values)

    @property
    def observed(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.values)))

    @property
    def last_date(self) -> date:
        return self.dates[-1].date()

    @property
    def period_days(self) -> int:
        return PERIOD_DAYS[self.freq]

    def until(self, end: pd.Timestamp | date) -> Series:
        """The series as it was known at the end of period ``end`` (inclusive)."""
        stop = int(self.dates.searchsorted(pd.Timestamp(end), side="right"))
        return replace(
            self,
            dates=self.dates[:stop],
            values=self.values[:stop],
            regressors={name: values[:stop] for name, values in self.regressors.items()},
            inflow=None if self.inflow is None else self.inflow[:stop],
        )

    def future_dates(self, horizon: int) -> pd.DatetimeIndex:
        """The ``horizon`` period ends after the last date."""
        step = pd.Timedelta(days=self.period_days)
        return pd.date_range(self.dates[-1] + step, periods=horizon, freq=step)


def regular_series(
    dates: Sequence[object] | pd.Series | pd.DatetimeIndex,
    values: Sequence[float] | pd.Series | FloatArray,
    *,
    freq: Frequency = "D",
    agg: Aggregation = "sum",
    regressors: Mapping[str, Sequence[float] | pd.Series | FloatArray] | None = None,
    counts: bool | None = None,
    upper_bound: float | None = None,
    inflow: pd.Series | None = None,
) -> Series:
    """A :class:`Series` on a regular calendar from (date, value) pairs in any order.

    Daily: one value per calendar day between the first and last date; days absent or empty are NaN;
    several rows for one day are combined with ``agg``. Weekly: periods of 7 days ending on the weekday of
    the last date (so the last period is complete); from daily data, a week missing a day is NaN (its sum
    would be too low); from data already weekly, each week holds its row. Regressors are combined with the
    mean. ``counts`` None means "every value is a non-negative integer". ``inflow`` (values indexed by
    date, from the same file or another one) is summed per period; a period missing a day of it is NaN.
    """
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(list(dates) if not isinstance(dates, pd.Series) else dates)))
    if index.tz is not None:
        index = index.tz_localize(None)
    index = index.normalize()
    frame = pd.DataFrame({"value": np.asarray(values, dtype=np.float64)}, index=index)
    for name, column in (regressors or {}).items():
        frame[f"r:{name}"] = np.asarray(column, dtype=np.float64)
    frame = frame[np.asarray(frame.index.notna())].sort_index()
    if frame.empty:
        raise DataUnavailableError("no dated rows")
    how = {"value": agg, **{c: "mean" for c in frame.columns if c.startswith("r:")}}
    daily = frame.groupby(level=0).agg(how)
    # A day whose rows are all empty stays empty (a sum of nothing is not a zero count).
    daily.loc[frame["value"].groupby(level=0).count() == 0, "value"] = np.nan
    days = pd.date_range(daily.index[0], daily.index[-1], freq="D")
    daily = daily.reindex(days)
    if inflow is not None:
        arrivals = pd.Series(np.asarray(inflow, dtype=np.float64), index=pd.DatetimeIndex(inflow.index).normalize())
        by_day = arrivals.groupby(level=0)
        daily["inflow"] = by_day.sum(min_count=1).reindex(days)
        how["inflow"] = "sum"
    if freq == "W":
        row_days = frame.index.unique().to_numpy()
        from_daily = row_days.size > 1 and float(np.median(np.diff(row_days) / np.timedelta64(1, "D"))) < 7
        anchor = daily.index[-1].day_name()[:3].upper()
        grouped = daily.resample(f"W-{anchor}")
        weekly = grouped.agg(how)
        weekly.loc[grouped["value"].count() < (7 if from_daily else 1), "value"] = np.nan
        if inflow is not None:
            weekly.loc[grouped["inflow"].count() < (7 if from_daily else 1), "inflow"] = np.nan
        daily = weekly
    out_values = np.array(daily["value"].to_numpy(dtype=np.float64), copy=True)
    observed = out_values[~np.isnan(out_values)]
    if counts is None:
        counts = bool(observed.size and (observed >= 0).all() and np.allclose(observed, np.round(observed)))
    return Series(
        dates=pd.DatetimeIndex(daily.index),
        values=out_values,
        freq=freq,
        regressors={c[2:]: daily[c].to_numpy(dtype=np.float64) for c in daily.columns if c.startswith("r:")},
        upper_bound=upper_bound,
        counts=counts,
        inflow=None if inflow is None else daily["inflow"].to_numpy(dtype=np.float64),
    )


def load_csv_series(
    path: Path,
    *,
    date_col: str,
    value_col: str,
    regressor_cols: Sequence[str] = (),
    freq: Frequency = "D",
    agg: Aggregation = "sum",
    where: Mapping[str, str] | None = None,
    inflow_col: str | None = None,
    inflow_path: Path | None = None,
    on_combined: Callable[[str], None] | None = None,
) -> Series:
    """A series from any CSV with a date column and a value column (and optional regressor columns).

    ``where`` keeps only the rows whose columns equal the given values (e.g. one age class of a file that
    holds several). ``inflow_col`` names what enters the stock the value counts (admissions into occupied
    beds), read from ``inflow_path`` if given (same date column; the ``where`` filters its columns have)
    or from the same file, and summed per period. ``on_combined`` is told, in words, when several rows
    of one date were combined (:func:`combined_rows_note`).
    """
    frame = _read_csv(path, (date_col, value_col, *regressor_cols), where)
    if on_combined is not None:
        note = combined_rows_note(frame, date_col, (value_col, *regressor_cols), agg)
        if note:
            on_combined(note)
    dates = _dates(frame, path, date_col)
    values = _numbers(frame[value_col])
    regressors = {c: _numbers(frame[c]) for c in regressor_cols}
    inflow = None
    if inflow_col is not None:
        source = frame if inflow_path is None else _read_csv(inflow_path, (date_col, inflow_col), where, partial=True)
        inflow = pd.Series(_numbers(source[inflow_col]).to_numpy(),
                           index=_dates(source, inflow_path or path, date_col).to_numpy())
        inflow = inflow[inflow.index.notna()]
    return regular_series(dates, values, freq=freq, agg=agg, regressors=regressors, inflow=inflow)


def combined_rows_note(frame: pd.DataFrame, date_col: str, measures: Sequence[str], agg: Aggregation) -> str | None:
    """Why a file may hold several series: the rows sharing a date, and the columns that tell them apart.

    A national file summed by mistake (every department, or each sex next to their total) still gives a
    plausible series; saying it costs nothing. None when every date has one row.
    """
    per_date = frame.groupby(date_col).size()
    if per_date.empty or int(per_date.max()) <= 1:
        return None
    # A key that splits series has no more values than a date has rows (a department, a sex, an age
    # class); a measure (another count) takes new values all the time.
    keys = []
    for column in frame.columns:
        if column == date_col or column in measures:
            continue
        distinct = frame[column].nunique()
        if 1 < distinct <= int(per_date.max()) and int(frame.groupby(date_col)[column].nunique().max()) > 1:
            keys.append((distinct, column))
    note = f"{per_date.mean():.3g} rows a date on average, combined by {agg}"
    if not keys:
        return note
    shown = []
    for distinct, column in sorted(keys)[:3]:
        values = sorted(frame[column].dropna().unique(), key=str)
        sample = ", ".join(map(str, values[:4])) + (", ..." if len(values) > 4 else "")
        shown.append(f"{column} ({distinct} values: {sample})")
    first = sorted(keys)[0][1]
    example = sorted(frame[first].dropna().unique(), key=str)[0]
    return (f"{note}; they differ by {'; '.join(shown)}: --where COL=VALUE keeps one series "
            f"(e.g. --where {shlex.quote(f'{first}={example}')})")


def _read_csv(path: Path, columns: Sequence[str], where: Mapping[str, str] | None, *, partial: bool = False) -> (
    pd.DataFrame
):
    """The rows of a CSV kept by ``where`` (``partial``: only the filters on columns the file has)."""
    try:
        frame = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataUnavailableError(f"cannot read {path}: {exc}") from exc
    filters = {c: v for c, v in (where or {}).items() if not partial or c in frame.columns}
    missing = [c for c in (*columns, *filters) if c not in frame.columns]
    if missing:
        raise DataUnavailableError(f"{path}: no column {', '.join(missing)} (columns: {', '.join(frame.columns)})")
    for column, wanted in filters.items():
        frame = frame[frame[column] == wanted]
    if frame.empty:
        raise DataUnavailableError(f"{path}: no row left after the filters")
    return frame


def _dates(frame: pd.DataFrame, path: Path, date_col: str) -> pd.Series:
    dates = pd.to_datetime(frame[date_col], errors="coerce")
    if dates.isna().all():
        raise DataUnavailableError(f"{path}: column {date_col} holds no dates")
    return dates


def _numbers(column: pd.Series) -> pd.Series:
    """Numbers from text cells (a decimal comma accepted); anything else is missing."""
    return pd.to_numeric(column.str.replace(",", ".", regex=False), errors="coerce")


class Readiness(StrEnum):
    """What a series allows, decided before any fit."""

    MAIN = "main"  # enough clean history for the main model
    SIMPLE = "simple"  # only the baseline: short, constant or too gappy
    NONE = "none"  # not even that: fewer than two observed values


@dataclass(frozen=True)
class Assessment:
    readiness: Readiness
    reason: str | None  # why not MAIN, in words a crisis cell understands


def assess(series: Series, *, min_history: int, max_missing_share: float = 0.2) -> Assessment:
    """Decide what the series allows.

    Args:
        series: the series up to the forecast origin.
        min_history: periods of history the main model needs (its calibration needs past forecasts
            whose targets have been observed).
        max_missing_share: above this share of missing values over the last ``min_history`` periods the
            main model is not trusted (interpolating long gaps invents the dynamics it would learn).
    """
    values = series.values
    observed = values[~np.isnan(values)]
    unit = "days" if series.freq == "D" else "weeks"
    if observed.size < 2:
        return Assessment(Readiness.NONE, f"too little data: {observed.size} observed value(s)")
    if np.isnan(values[-1]):
        last = series.dates[int(np.flatnonzero(~np.isnan(values))[-1])].date()
        return Assessment(Readiness.SIMPLE, f"no value for the last period (last observed {last.isoformat()})")
    if np.ptp(observed) == 0:
        return Assessment(Readiness.SIMPLE, f"constant series (every value is {observed[0]:g})")
    span = len(values) - int(np.flatnonzero(~np.isnan(values))[0])
    if span < min_history:
        return Assessment(Readiness.SIMPLE, f"short history: {span} {unit} < {min_history} needed by the main model")
    recent = values[-min_history:]
    missing = float(np.isnan(recent).mean())
    if missing > max_missing_share:
        return Assessment(
            Readiness.SIMPLE,
            f"gaps: {missing:.0%} of the last {min_history} {unit} missing (at most {max_missing_share:.0%})",
        )
    return Assessment(Readiness.MAIN, None)


def fill_gaps(values: FloatArray) -> FloatArray:
    """Linear interpolation over inner gaps, the nearest value at the ends (for models that need no NaN)."""
    out = np.asarray(values, dtype=np.float64).copy()
    missing = np.isnan(out)
    if missing.any() and (~missing).any():
        positions = np.arange(out.size)
        out[missing] = np.interp(positions[missing], positions[~missing], out[~missing])
    return out
