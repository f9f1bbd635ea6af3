"""A backtest as a chart: what was forecast h periods before each day, against what happened, and the scores.

Boundary: a :class:`BacktestResult` and its :class:`Series` in, a Plotly figure or one self-contained HTML
file out (the JavaScript inlined: it opens offline and can be attached to a report). A table of scores says
*how much* a model errs; the bands against the observed line say *when*: at a wave's turn, in a calm spell.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from forecasting.backtest import BacktestResult
from forecasting.dataset import Series

# Colour-blind-safe blue (Okabe-Ito) for the forecast, black for what happened.
FORECAST_RGB = "0, 114, 178"
OBSERVED_COLOUR = "#000000"


def chart_horizons(freq: str, horizon: int) -> list[int]:
    """The horizons worth a panel: a week, two and four ahead (daily), the first and last (weekly)."""
    if freq == "D":
        return [h for h in (7, 14, 28) if h <= horizon] or [horizon]
    return sorted({1, horizon})


def _quantile(frame: pd.DataFrame, level: float) -> pd.Series:
    rows = frame[np.isclose(frame["quantile"].to_numpy(dtype=np.float64), level)]
    values: pd.Series = rows.set_index("target_date")["value"].sort_index()
    return values


def backtest_figure(series: Series, result: BacktestResult, horizons: Sequence[int], unit: str) -> go.Figure:
    """One panel per horizon (median, 50 % and 90 % bands at each target date, the observed values), and the
    relative WIS by horizon, 1 being the hub baseline."""
    scores = {s.horizon: s for s in result.scores}
    titles = []
    for h in horizons:
        s = scores.get(h)
        detail = (f": relative WIS {s.relative_wis:.3f}, 50 % interval covering {s.coverage_50:.0%}, "
                  f"90 % covering {s.coverage_90:.0%}" if s is not None and s.relative_wis is not None else "")
        titles.append(f"Forecast {h} {unit} ahead{detail}")
    titles.append("Weighted interval score relative to the hub baseline (below 1: better than the last value)")
    figure = make_subplots(rows=len(horizons) + 1, cols=1, subplot_titles=titles, vertical_spacing=0.08)
    observed = pd.Series(series.values, index=series.dates)
    forecasts = result.forecasts.assign(target_date=pd.to_datetime(result.forecasts["target_date"]))
    for row, h in enumerate(horizons, start=1):
        at = forecasts[forecasts["horizon"] == h]
        if at.empty:
            continue
        first = at["target_date"].min()
        seen = observed[(observed.index >= first) & (observed.index <= at["target_date"].max())]
        legend = row == 1
        for low, high, opacity, name in ((0.05, 0.95, 0.18, "90 % interval"), (0.25, 0.75, 0.35, "50 % interval")):
            lower, upper = _quantile(at, low), _quantile(at, high)
            figure.add_trace(go.Scatter(x=upper.index, y=upper.to_numpy(), mode="lines", line={"width": 0},
                                        hoverinfo="skip", showlegend=False, legendgroup=name), row=row, col=1)
            figure.add_trace(go.Scatter(x=lower.index, y=lower.to_numpy(), mode="lines", line={"width": 0},
                                        fill="tonexty", fillcolor=f"rgba({FORECAST_RGB}, {opacity})", name=name,
                                        legendgroup=name, showlegend=legend), row=row, col=1)
        median = _quantile(at, 0.5)
        figure.add_trace(go.Scatter(x=median.index, y=median.to_numpy(), mode="lines", name="median forecast",
                                    line={"color": f"rgb({FORECAST_RGB})", "width": 1.5}, legendgroup="median",
                                    showlegend=legend), row=row, col=1)
        figure.add_trace(go.Scatter(x=seen.index, y=seen.to_numpy(), mode="lines", name="observed",
                                    line={"color": OBSERVED_COLOUR, "width": 1}, legendgroup="observed",
                                    showlegend=legend), row=row, col=1)
    relative = [(s.horizon, s.relative_wis) for s in result.scores if s.relative_wis is not None]
    last = len(horizons) + 1
    if relative:
        figure.add_trace(go.Scatter(x=[h for h, _ in relative], y=[r for _, r in relative], mode="lines+markers",
                                    name="relative WIS", line={"color": f"rgb({FORECAST_RGB})"}), row=last, col=1)
        figure.add_hline(y=1.0, line={"dash": "dash", "color": "#666666"}, row=last, col=1)
    figure.update_xaxes(title_text=f"horizon ({unit})", row=last, col=1)
    figure.update_layout(height=320 * (len(horizons) + 1), template="plotly_white",
                         title=f"Backtest: {len(result.origins)} origins from {result.origins[0].date()}",
                         legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    return figure


def write_backtest_chart(path: Path, series: Series, result: BacktestResult, horizons: Sequence[int], unit: str) -> (
    None
):
    """The figure as one HTML file that needs no network (plotly.js inlined)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backtest_figure(series, result, horizons, unit).write_html(path, include_plotlyjs=True, full_html=True)
