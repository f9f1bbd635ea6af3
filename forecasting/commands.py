"""``synopse forecast ...``: run the forecasting job, schedule it, or backtest the model on any CSV.

Thin Typer commands: settings and logging first, the heavy imports (pandas, Prophet) inside the
commands, a SynopseError turned into a message and a non-zero exit.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from synopse.commandline import command_settings as _settings
from synopse.commandline import fail as _fail
from synopse.errors import SynopseError

if TYPE_CHECKING:
    from forecasting.backtest import BacktestResult
    from forecasting.jobs import RunSummary

app = typer.Typer(
    help="Care-load forecasts: run the job, schedule it, backtest the model on a CSV.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _Progress:
    """A line every tenth of the work, on stderr (the summary goes to stdout)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if tenth != self.shown:
            self.shown = tenth
            typer.echo(f"  {self.what}: {done}/{total}", err=True)


def _print_run(summary: RunSummary) -> None:
    typer.echo(
        f"run {summary.run_id} {summary.status.value}: {summary.series_total} series "
        f"({summary.ok} main model, {summary.fallback} simple model, {summary.skipped} skipped) "
        f"from data up to {summary.origin_date.isoformat()} in {summary.seconds:.1f} s"
    )
    for reason, count in sorted(summary.reasons.items(), key=lambda item: -item[1]):
        typer.echo(f"  {count:5d} x {reason}")


@app.command("run")
def run_command(
    as_of: Annotated[
        datetime | None, typer.Option(help="Data cut-off (ISO 8601); default: the newest data in the store.")
    ] = None,
) -> None:
    """Forecast every series now (admissions, ED visits, beds; per facility, commune and territory)."""
    from forecasting.jobs import run_forecasts

    settings = _settings()
    if as_of is not None and as_of.tzinfo is None:
        _fail("--as-of needs a time zone (e.g. 2026-01-31T00:00:00+01:00)")
    try:
        summary = run_forecasts(settings, trigger="manual", as_of=as_of, progress=_Progress("series"))
    except SynopseError as exc:
        _fail(str(exc), code=1)
    _print_run(summary)


@app.command("schedule")
def schedule_command(
    once: Annotated[bool, typer.Option(help="Stop after the first run.")] = False,
) -> None:
    """Run the job whenever a new day of data is complete, and every SYNOPSE_FORECAST__REFRESH_HOURS anyway."""
    from forecasting.scheduler import run_schedule

    settings = _settings()
    try:
        run_schedule(settings, on_run=_print_run, max_runs=1 if once else None)
    except KeyboardInterrupt:
        return


@app.command("backtest")
def backtest_command(
    csv: Annotated[Path, typer.Option("--csv", help="CSV file (comma or semicolon separated) with a header row.",
                                      exists=True, dir_okay=False, readable=True)],
    date_col: Annotated[str, typer.Option("--date-col", help="Column of dates (ISO 8601).")],
    value_col: Annotated[str, typer.Option("--value-col", help="Column of the values to forecast.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write origin,target_date,horizon,quantile,value.")],
    regressor: Annotated[list[str] | None, typer.Option("--regressor", help="Regressor column (repeatable).")] = None,
    freq: Annotated[str, typer.Option("--freq", help="D (daily) or W (weekly: weeks end on the last date's weekday).")]
    = "D",
    horizon: Annotated[int | None, typer.Option("--horizon", min=1, max=366,
                                                help="Periods ahead (default: 28 days, or 4 weeks).")] = None,
    start: Annotated[datetime | None, typer.Option("--start", help="First origin (default: once the model can run).")]
    = None,
    step: Annotated[int | None, typer.Option("--step", min=1, help="Periods between origins (default: a week).")]
    = None,
    agg: Annotated[str, typer.Option("--agg", help="Combining rows of one period: sum, mean or last.")] = "sum",
    where: Annotated[list[str] | None, typer.Option("--where", help="Keep rows with COL=VALUE (repeatable).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Fitting processes (default: every core).")]
    = None,
    warmup: Annotated[int, typer.Option("--warmup", min=0, max=104,
                                        help="Calibration origins fitted before the first origin.")] = 16,
    inflow_col: Annotated[str | None, typer.Option(
        "--inflow-col", help="For a stock (beds occupied): the column of what enters it each day (admissions); "
        "the model also projects the stock from it.")] = None,
    inflow_csv: Annotated[Path | None, typer.Option(
        "--inflow-csv", help="File holding --inflow-col, if not --csv (same date column; --where filters on "
        "the columns it has).", exists=True, dir_okay=False, readable=True)] = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="Also write a chart (one HTML file, opens offline): the forecasts made 7, 14 and 28 "
        "days (1 and N weeks) before each day against what happened, and the relative WIS by horizon.")] = None,
) -> None:
    """Rolling-origin backtest of the model on any series; prints WIS, MAE, coverage and WIS vs the hub baseline."""
    if freq not in ("D", "W"):
        _fail("--freq must be D or W")
    if agg not in ("sum", "mean", "last"):
        _fail("--agg must be sum, mean or last")
    settings = _settings()
    import numpy as np

    from forecasting.backtest import run_backtest
    from forecasting.dataset import load_csv_series
    from forecasting.jobs import engine_config
    from forecasting.pool import default_workers

    period: Literal["D", "W"] = "D" if freq == "D" else "W"
    method: Literal["sum", "mean", "last"] = "sum" if agg == "sum" else ("mean" if agg == "mean" else "last")
    periods = horizon or (28 if period == "D" else 4)
    filters = _parse_filters(where or [])
    if inflow_csv is not None and inflow_col is None:
        _fail("--inflow-csv needs --inflow-col (the column of that file to read)")
    try:
        series = load_csv_series(csv, date_col=date_col, value_col=value_col, regressor_cols=regressor or [],
                                 freq=period, agg=method, where=filters, inflow_col=inflow_col,
                                 inflow_path=inflow_csv, on_combined=lambda note: typer.echo(f"note: {note}", err=True))
    except SynopseError as exc:
        _fail(str(exc))
    base = engine_config(settings.forecast)
    from dataclasses import replace

    config = replace(base, ensemble=replace(base.ensemble, horizon=periods, prophet=replace(
        base.ensemble.prophet, regressor_lags={})), backfill_origins=warmup)
    typer.echo(f"{csv.name}: {series.observed} observed {'days' if period == 'D' else 'weeks'} "
               f"from {series.dates[0].date()} to {series.last_date}", err=True)
    if series.inflow is not None:
        known = int(np.count_nonzero(~np.isnan(series.inflow)))
        typer.echo(f"inflow {inflow_col}: {known} of those {'days' if period == 'D' else 'weeks'} known", err=True)
        if known == 0:
            _fail(f"--inflow-col {inflow_col}: no value on the dates of --value-col {value_col}")
    try:
        result = run_backtest(series, config, start=start, step=step or (7 if period == "D" else 1),
                              workers=workers or default_workers(), timeout_s=settings.forecast.series_timeout_s,
                              progress=_Progress("fits"))
    except ValueError as exc:
        _fail(str(exc))
    out.parent.mkdir(parents=True, exist_ok=True)
    result.forecasts.to_csv(out, index=False, float_format="%.6g")
    _print_backtest(result, period, periods, out)
    if chart is not None:
        from forecasting.backtest_chart import chart_horizons, write_backtest_chart

        write_backtest_chart(chart, series, result, chart_horizons(period, periods), "d" if period == "D" else "w")
        typer.echo(f"chart written to {chart}")


def _parse_filters(items: list[str]) -> dict[str, str]:
    filters = {}
    for item in items:
        column, sep, value = item.partition("=")
        if not sep or not column:
            _fail(f"--where expects COL=VALUE, got {item!r}")
        filters[column] = value
    return filters


def _print_backtest(result: BacktestResult, period: str, horizon: int, out: Path) -> None:
    unit = "d" if period == "D" else "w"
    shown = [h for h in (1, 7, 14, 21, 28) if h <= horizon] if period == "D" else list(range(1, horizon + 1))
    if horizon not in shown:
        shown.append(horizon)
    typer.echo(f"{len(result.origins)} origins, {result.fits} model fits, {result.seconds:.1f} s; "
               f"models: {', '.join(f'{m} x{n}' for m, n in result.models.most_common())}")
    for reason, count in result.reasons.most_common():
        typer.echo(f"  baseline at {count} origin(s): {reason}")
    typer.echo(f"{'horizon':>8} {'origins':>7} {'WIS':>9} {'WIS base':>9} {'rel. WIS':>8} {'MAE':>9} "
               f"{'MAE base':>9} {'cov 50%':>7} {'cov 90%':>7}")
    for score in result.scores:
        if score.horizon not in shown:
            continue
        relative = f"{score.relative_wis:8.3f}" if score.relative_wis is not None else f"{'-':>8}"
        typer.echo(f"{score.horizon:>7}{unit} {score.origins:>7} {score.wis:9.3f} {score.wis_baseline:9.3f} "
                   f"{relative} {score.mae:9.3f} {score.mae_baseline:9.3f} {score.coverage_50:7.1%} "
                   f"{score.coverage_90:7.1%}")
    if result.scores:
        wis = sum(s.wis for s in result.scores) / len(result.scores)
        base = sum(s.wis_baseline for s in result.scores) / len(result.scores)
        typer.echo(f"{'all':>8} {'':>7} {wis:9.3f} {base:9.3f} {wis / base if base else float('nan'):8.3f}"
                   f"   (mean over horizons 1-{horizon}{unit})")
    typer.echo(f"forecasts written to {out}")


if __name__ == "__main__":  # `python -m forecasting.commands ...` until the command is registered in synopse
    app()
