"""`synopse forecast backtest` as a user runs it: any CSV in, forecasts CSV and scores out, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from forecasting.commands import app
from tests.unit.forecasting.forecast_fixtures import admissions, occupancy

runner = CliRunner()


def _csv(tmp_path: Path) -> Path:
    series = admissions(days=200)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "jour": [d.date().isoformat() for d in series.dates],
        "entrees": series.values.astype(int),
        "tmax": 15 + rng.normal(0, 3, len(series)),
    })
    path = tmp_path / "series.csv"
    frame.sample(frac=1, random_state=1).to_csv(path, index=False)  # any row order
    return path


def test_backtest_writes_every_quantile_and_prints_scores(tmp_path: Path) -> None:
    path, out = _csv(tmp_path), tmp_path / "out" / "forecasts.csv"
    result = runner.invoke(app, [
        "backtest", "--csv", str(path), "--date-col", "jour", "--value-col", "entrees", "--regressor", "tmax",
        "--horizon", "14", "--start", "2024-06-01", "--step", "7", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    forecasts = pd.read_csv(out)
    assert list(forecasts.columns) == ["origin", "target_date", "horizon", "quantile", "value"]
    assert forecasts.groupby(["origin", "horizon"]).size().eq(23).all()
    assert forecasts.origin.min() == "2024-06-01" and forecasts.horizon.max() == 14
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "rel. WIS" in line)
    seven = next(line for line in lines[header:] if line.strip().startswith("7d"))
    assert len(seven.split()) == 9  # horizon, origins, WIS, baseline WIS, relative WIS, MAE x2, coverage x2
    assert any(line.strip().startswith("all") for line in lines)


def test_weekly_backtest_with_its_chart(tmp_path: Path) -> None:
    path, out, chart = _csv(tmp_path), tmp_path / "weekly.csv", tmp_path / "weekly.html"
    result = runner.invoke(app, [
        "backtest", "--csv", str(path), "--date-col", "jour", "--value-col", "entrees", "--freq", "W",
        "--horizon", "2", "--start", "2024-05-01", "--workers", "1", "--warmup", "4", "--out", str(out),
        "--chart", str(chart),
    ])
    assert result.exit_code == 0, result.output
    assert f"chart written to {chart}" in result.output
    html = chart.read_text(encoding="utf-8")
    assert "Forecast 1 w ahead" in html and "Forecast 2 w ahead" in html
    forecasts = pd.read_csv(out)
    assert sorted(forecasts.horizon.unique()) == [1, 2]
    days = (pd.to_datetime(forecasts.target_date) - pd.to_datetime(forecasts.origin)).dt.days
    assert set(days) == {7, 14}


def test_stock_backtest_with_its_inflow_from_another_file(tmp_path: Path) -> None:
    beds = occupancy(days=150)
    days = [d.date().isoformat() for d in beds.dates]
    stock, flows = tmp_path / "stock.csv", tmp_path / "flows.csv"
    pd.DataFrame({"date": days, "dep": "44", "hosp": beds.values.astype(int)}).to_csv(stock, index=False)
    assert beds.inflow is not None
    pd.DataFrame({"date": days, "dep": "44", "incid": beds.inflow.astype(int)}).to_csv(flows, index=False)
    out = tmp_path / "beds.csv"
    result = runner.invoke(app, [
        "backtest", "--csv", str(stock), "--date-col", "date", "--value-col", "hosp", "--where", "dep=44",
        "--inflow-col", "incid", "--inflow-csv", str(flows), "--horizon", "7", "--start", "2024-05-10",
        "--workers", "1", "--warmup", "4", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "inflow incid: 150 of those days known" in result.output
    assert pd.read_csv(out).groupby(["origin", "horizon"]).size().eq(23).all()
    orphan = runner.invoke(app, ["backtest", "--csv", str(stock), "--date-col", "date", "--value-col", "hosp",
                                 "--inflow-csv", str(flows), "--out", str(out)])
    assert orphan.exit_code == 2 and "--inflow-csv needs --inflow-col" in orphan.output


def test_errors_are_messages_not_tracebacks(tmp_path: Path) -> None:
    path = _csv(tmp_path)
    missing = runner.invoke(app, ["backtest", "--csv", str(path), "--date-col", "date", "--value-col", "entrees",
                                  "--out", str(tmp_path / "x.csv")])
    assert missing.exit_code == 2 and "no column date" in missing.output
    late = runner.invoke(app, ["backtest", "--csv", str(path), "--date-col", "jour", "--value-col", "entrees",
                               "--start", "2030-01-01", "--out", str(tmp_path / "x.csv")])
    assert late.exit_code == 2 and "no origin" in late.output
    freq = runner.invoke(app, ["backtest", "--csv", str(path), "--date-col", "jour", "--value-col", "entrees",
                               "--freq", "M", "--out", str(tmp_path / "x.csv")])
    assert freq.exit_code == 2 and "--freq must be D or W" in freq.output


def test_a_file_holding_several_series_is_pointed_out(tmp_path: Path) -> None:
    """A national file summed whole still looks like a series: the command names the columns to filter on."""
    days = [d.date().isoformat() for d in pd.date_range("2024-01-01", periods=60)]
    rows = [(day, dep, sexe, 10 + i % 7) for i, day in enumerate(days) for dep in ("35", "44") for sexe in (0, 1, 2)]
    path = tmp_path / "national.csv"
    pd.DataFrame(rows, columns=["jour", "dep", "sexe", "hosp"]).to_csv(path, index=False, sep=";")
    arguments = ["backtest", "--csv", str(path), "--date-col", "jour", "--value-col", "hosp",
                 "--start", "2030-01-01", "--out", str(tmp_path / "x.csv")]  # a late start: stops after reading
    whole = runner.invoke(app, arguments)
    assert "note: 6 rows a date on average, combined by sum" in whole.output
    assert "dep (2 values: 35, 44)" in whole.output and "--where dep=35" in whole.output
    one = runner.invoke(app, [*arguments, "--where", "dep=44", "--where", "sexe=0"])
    assert one.exit_code == 2 and "no origin" in one.output and "note:" not in one.output
