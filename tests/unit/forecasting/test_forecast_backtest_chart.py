"""The backtest chart shows, per horizon, the bands that were forecast against what happened, and the scores."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.backtest import BacktestResult
from forecasting.backtest_chart import backtest_figure, chart_horizons, write_backtest_chart
from forecasting.dataset import regular_series
from forecasting.scores import LEVELS, score_horizons


def _result() -> tuple[BacktestResult, pd.DatetimeIndex, np.ndarray]:
    dates = pd.date_range("2024-01-01", periods=60)
    values = np.arange(60, dtype=np.float64) + 10
    origins = list(dates[20:40:7])
    rows, horizons, actual, model, base = [], [], [], [], []
    for origin in origins:
        for h in (1, 7):
            target = origin + pd.Timedelta(days=h)
            median = float(values[dates.get_loc(target)]) + 2  # off by 2, so the chart shows a gap
            quantiles = median + (LEVELS - 0.5) * 10
            rows += [(origin.date().isoformat(), target.date().isoformat(), h, q, v) for q, v in zip(LEVELS, quantiles,
                                                                                                    strict=True)]
            horizons.append(h)
            actual.append(values[dates.get_loc(target)])
            model.append(quantiles)
            base.append(quantiles + 5)
    forecasts = pd.DataFrame(rows, columns=["origin", "target_date", "horizon", "quantile", "value"])
    scores = score_horizons(horizons, actual, np.array(model), np.array(base))
    return BacktestResult(origins, forecasts, scores, Counter({"synopse-ensemble": 3})), dates, values


def test_each_horizon_panel_holds_the_forecast_quantiles_and_the_observed_values() -> None:
    result, dates, values = _result()
    series = regular_series(dates, values)
    figure = backtest_figure(series, result, [7], "d")
    traces = {trace.name: trace for trace in figure.data if trace.name}
    median = traces["median forecast"]
    expected = result.forecasts[(result.forecasts.horizon == 7) & np.isclose(result.forecasts["quantile"], 0.5)]
    assert list(median.y) == expected.sort_values("target_date").value.tolist()
    observed = traces["observed"]
    assert pd.Timestamp(observed.x[0]) == pd.Timestamp(expected.target_date.min())  # from the first target on
    assert observed.y[0] == values[dates.get_loc(pd.Timestamp(expected.target_date.min()))]
    assert {"90 % interval", "50 % interval", "relative WIS"} <= set(traces)
    titles = [annotation.text for annotation in figure.layout.annotations]
    relative = next(s for s in result.scores if s.horizon == 7).relative_wis
    assert titles[0].startswith(f"Forecast 7 d ahead: relative WIS {relative:.3f}")
    assert list(traces["relative WIS"].x) == [1, 7]


def test_the_chart_is_one_file_that_opens_offline(tmp_path: Path) -> None:
    result, dates, values = _result()
    path = tmp_path / "charts" / "backtest.html"
    write_backtest_chart(path, regular_series(dates, values), result, [1, 7], "d")
    html = path.read_text(encoding="utf-8")
    assert "Forecast 1 d ahead" in html and "Forecast 7 d ahead" in html
    assert '<script src="http' not in html  # nothing fetched: plotly.js is in the file
    assert len(html) > 1_000_000


def test_panels_by_frequency() -> None:
    assert chart_horizons("D", 28) == [7, 14, 28]
    assert chart_horizons("D", 10) == [7]
    assert chart_horizons("D", 3) == [3]
    assert chart_horizons("W", 4) == [1, 4]
