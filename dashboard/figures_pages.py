"""Pure figure builders of the detail and map pages: rows in, figures (or numbers) out, no I/O.

The figures are plain dicts in plotly's JSON schema (:data:`~dashboard.figures.FigureDict`): a year of daily
points through ``go.Figure`` and ``update_layout`` cost more in validation and deep copies than the page's
database reads, and so did the map's fifty one-point traces (one per facility). The unit tests pass each figure
through ``go.Figure``, which validates it, and check that the JSON is unchanged.

The detail chart puts observed values, the forecast's median with its 50 % and 90 % intervals and the capacity
line on one chart; the environment chart sets one environmental signal beside admissions; the lag chart shows
their correlation by lag. The map draws communes and facilities on plain longitude/latitude axes: no tile
server, so it works offline. Series differ by hue *and* by line style or marker shape (colour-blind readers).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from dashboard.figures import FONT_FAMILY, FigureDict, blank_figure, colorscale_json, template_json
from dashboard.status import NO_DATA_GREY, OKABE_ITO, occupancy_style
from dashboard.text import fmt_decimal, indicator_name, plot_format, t
from synopse.db.pages import CommunePoint, EnvironmentDay, FacilityPoint, ForecastDay, ObservedDay
from synopse.domain.forecasts import QUANTILE_LEVELS

OBSERVED_COLOUR = OKABE_ITO["black"]
FORECAST_COLOUR = OKABE_ITO["blue"]
CAPACITY_COLOUR = OKABE_ITO["vermillion"]
ENVIRONMENT_COLOUR = OKABE_ITO["orange"]
# Interval bands: the 90 % band lighter than the 50 % one, both in the forecast's hue.
BAND_90 = "rgba(0, 114, 178, 0.15)"
BAND_50 = "rgba(0, 114, 178, 0.35)"
# Lags of the cross-correlation, in days: an environmental exposure shows in admissions within a week
# (heat: 0-3 days; air pollution: 0-5 days; pollen: a few days) - a longer lag would mostly find seasonality.
MAX_LAG_DAYS = 7
# Fewer paired days than this give a correlation too noisy to show (its 95 % band is about ±2/sqrt(n)).
MIN_PAIRS = 14
# A correlation under this (in absolute value) is described as "no clear relation".
WEAK_CORRELATION = 0.3
# Map: circle areas proportional to population, the largest commune this many pixels across.
MAX_MARKER_PX = 46
MIN_MARKER_PX = 8
# Commune colours: Cividis is a sequential scale readable with colour-vision deficiencies.
COMMUNE_SCALE = "Cividis"
# Facilities: the marker shape of each status symbol (the legend and the table show the same symbol and a word).
FACILITY_MARKERS = {"●": "circle", "▲": "triangle-up", "■": "square", "○": "circle-open"}

METRIC_VALUES = ("bed_occupancy", "admissions", "ed_visits")


def metric_values(rows: Sequence[ObservedDay], metric: str) -> list[float | None]:
    """The observed daily values of a metric (None: no bed snapshot that day)."""
    if metric == "admissions":
        return [float(r.admissions) for r in rows]
    if metric == "ed_visits":
        return [float(r.ed_visits) for r in rows]
    return [r.beds_occupied for r in rows]


_LEVEL_INDEX = {round(q, 3): i for i, q in reversed(list(enumerate(QUANTILE_LEVELS)))}  # first index of a level


def _quantile(row: ForecastDay, level: float) -> float:
    return row.quantiles[_LEVEL_INDEX[round(level, 3)]]


def _days(days: Iterable[date]) -> list[str]:
    # Dates as the ISO strings plotly's JSON encoder would write, without its per-value encoder chain.
    return [d.isoformat() for d in days]


def detail_figure(
    observed: Sequence[ObservedDay],
    forecast: Sequence[ForecastDay],
    capacity: float | None,
    metric: str,
    title: str,
    values: Sequence[float | None] | None = None,
) -> FigureDict:
    """Observed daily values, the forecast (median, 50 % and 90 % intervals) and the bed capacity line.

    ``values``: :func:`metric_values` of ``observed`` when the caller already has them.
    """
    values = metric_values(observed, metric) if values is None else list(values)
    if not any(v for v in values) and not forecast:
        return blank_figure(t("chart_no_data"))
    traces: list[dict[str, Any]] = []
    if forecast:
        x_f = _days(f.target_date for f in forecast)
        for low, high, fill, key in ((0.05, 0.95, BAND_90, "series_interval_90"),
                                     (0.25, 0.75, BAND_50, "series_interval_50")):
            traces.append({"type": "scatter", "x": x_f, "y": [_quantile(f, high) for f in forecast],
                           "mode": "lines", "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"})
            traces.append({"type": "scatter", "x": x_f, "y": [_quantile(f, low) for f in forecast], "mode": "lines",
                           "line": {"width": 0}, "fill": "tonexty", "fillcolor": fill, "name": t(key),
                           "hoverinfo": "skip"})
        traces.append({
            "type": "scatter", "x": x_f, "y": [_quantile(f, 0.5) for f in forecast], "mode": "lines",
            "name": t("series_forecast"), "line": {"color": FORECAST_COLOUR, "width": 2, "dash": "dash"},
            "hovertemplate": "%{y:.1f}<extra>" + t("series_forecast") + "</extra>",
        })
    traces.append({
        "type": "scatter", "x": _days(r.day for r in observed), "y": values, "mode": "lines+markers",
        "name": t("series_observed"), "line": {"color": OBSERVED_COLOUR, "width": 2},
        "marker": {"size": 4, "symbol": "circle"}, "connectgaps": False,
        "hovertemplate": "%{y:.1f}<extra>" + t("series_observed") + "</extra>",
    })
    layout: dict[str, Any] = {
        "template": template_json(),
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "font": {"family": FONT_FAMILY, "size": 13}, "separators": plot_format("separators"),
        "hovermode": "x unified", "margin": {"l": 60, "r": 30, "t": 80, "b": 50},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        "xaxis": {"tickformat": plot_format("day_tick"), "hoverformat": plot_format("day_hover")},
        "yaxis": {"title": {"text": t(f"axis_{metric}")}, "rangemode": "tozero"},
    }
    if capacity is not None and metric == "bed_occupancy":
        # What ``add_hline(annotation_position="top left")`` draws: a line across the plot at the capacity.
        layout["shapes"] = [{"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": capacity,
                             "y1": capacity, "line": {"color": CAPACITY_COLOUR, "width": 2, "dash": "dot"}}]
        layout["annotations"] = [{"text": t("capacity_line", beds=fmt_decimal(capacity, 0)), "showarrow": False,
                                  "xref": "x domain", "x": 0, "xanchor": "left", "yref": "y", "y": capacity,
                                  "yanchor": "bottom"}]
    return {"data": traces, "layout": layout}


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


def lagged_correlation(
    signal: dict[date, float], outcome: dict[date, float], max_lag: int = MAX_LAG_DAYS
) -> list[tuple[int, float | None]]:
    """Pearson correlation of the signal on day d with the outcome on day d + lag, for lag 0..``max_lag``.

    Only days where both values exist are paired; a lag with fewer than :data:`MIN_PAIRS` pairs (or a constant
    series) has no correlation (None), never 0.
    """
    result: list[tuple[int, float | None]] = []
    for lag in range(max_lag + 1):
        shift = timedelta(days=lag)
        pairs = [(value, outcome[later]) for day, value in signal.items() if (later := day + shift) in outcome]
        if len(pairs) < MIN_PAIRS:
            result.append((lag, None))
            continue
        result.append((lag, _pearson([p[0] for p in pairs], [p[1] for p in pairs])))
    return result


def lag_sentence(correlations: Sequence[tuple[int, float | None]], indicator: str) -> str:
    """The lag chart in one plain sentence: the strongest relation and at which lag, or that there is none."""
    known = [(lag, r) for lag, r in correlations if r is not None]
    if not known:
        return t("lag_not_enough", indicator=indicator_name(indicator))
    lag, r = max(known, key=lambda item: abs(item[1]))
    if abs(r) < WEAK_CORRELATION:
        return t("lag_none", indicator=indicator_name(indicator))
    key = "lag_positive" if r > 0 else "lag_negative"
    return t(key, indicator=indicator_name(indicator), lag=lag, r=fmt_decimal(r, 2))


def lag_figure(correlations: Sequence[tuple[int, float | None]]) -> FigureDict:
    """A small bar chart of the correlation by lag (0 to 7 days)."""
    known = [(lag, r) for lag, r in correlations if r is not None]
    if not known:
        return blank_figure(t("chart_no_data"))
    bars = {
        "type": "bar", "x": [lag for lag, _ in known], "y": [r for _, r in known],
        "marker": {"color": [FORECAST_COLOUR if r >= 0 else CAPACITY_COLOUR for _, r in known],
                   "pattern": {"shape": ["" if r >= 0 else "/" for _, r in known]}},
        "hovertemplate": t("lag_hover") + "<extra></extra>",
    }
    return {"data": [bars], "layout": {
        "template": template_json(), "font": {"family": FONT_FAMILY, "size": 12},
        "separators": plot_format("separators"), "margin": {"l": 50, "r": 20, "t": 20, "b": 40}, "showlegend": False,
        "xaxis": {"title": {"text": t("axis_lag")}, "dtick": 1},
        "yaxis": {"title": {"text": t("axis_correlation")}, "range": [-1, 1]},
    }}


def environment_figure(
    observed: Sequence[ObservedDay], signal: Sequence[EnvironmentDay], indicator: str
) -> FigureDict:
    """Daily admissions (bars, left axis) beside one environmental signal (line, right axis)."""
    if not observed and not signal:
        return blank_figure(t("chart_no_data"))
    traces = [
        {"type": "bar", "x": _days(r.day for r in observed), "y": [r.admissions for r in observed],
         "name": t("series_admissions_daily"), "marker": {"color": "#B8C4D6"}},
        {"type": "scatter", "x": _days(s.day for s in signal), "y": [s.value for s in signal], "yaxis": "y2",
         "mode": "lines+markers", "name": indicator_name(indicator),
         "line": {"color": ENVIRONMENT_COLOUR, "width": 2}, "marker": {"symbol": "diamond"}},
    ]
    return {"data": traces, "layout": {
        "template": template_json(), "font": {"family": FONT_FAMILY, "size": 13},
        "separators": plot_format("separators"), "hovermode": "x unified",
        "margin": {"l": 60, "r": 60, "t": 40, "b": 50},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        "xaxis": {"tickformat": plot_format("day_tick"), "hoverformat": plot_format("day_hover")},
        "yaxis": {"title": {"text": t("series_admissions_daily")}, "rangemode": "tozero"},
        "yaxis2": {"title": {"text": indicator_name(indicator)}, "overlaying": "y", "side": "right",
                   "showgrid": False, "tickformat": ".1f"},
    }}


def _marker_size(population: int, largest: int) -> float:
    if largest <= 0:
        return MIN_MARKER_PX
    return max(MIN_MARKER_PX, MAX_MARKER_PX * math.sqrt(population / largest))


def map_figure(communes: Sequence[CommunePoint], facilities: Sequence[FacilityPoint]) -> FigureDict:
    """Communes as circles (area ~ population, colour ~ admissions per 100,000) and facilities by status.

    Plain axes in longitude/latitude with a fixed aspect ratio: nothing is fetched from the internet. Each
    point carries its id in ``customdata`` (``commune:<code>`` or ``facility:<id>``) for the drill-down. One
    trace per facility, so that each marker has its own shape and colour.
    """
    if not communes and not facilities:
        return blank_figure(t("chart_no_data"))
    largest = max((c.population for c in communes), default=0)
    traces: list[dict[str, Any]] = [{
        "type": "scatter", "x": [c.longitude for c in communes], "y": [c.latitude for c in communes],
        "mode": "markers+text", "text": [c.name for c in communes], "textposition": "bottom center",
        "textfont": {"size": 10, "color": "#333"},
        "customdata": [f"commune:{c.commune_code}" for c in communes], "name": t("map_communes"),
        "marker": {"size": [_marker_size(c.population, largest) for c in communes],
                   "color": [c.admissions_per_100k or 0.0 for c in communes],
                   "colorscale": colorscale_json(COMMUNE_SCALE), "showscale": True, "opacity": 0.75,
                   "line": {"color": "#333", "width": 1},
                   "colorbar": {"title": {"text": t("map_colorbar")}, "x": 1.02}},
        "hovertext": [t("map_commune_hover", name=c.name, rate=fmt_decimal(c.admissions_per_100k or 0.0, 0),
                        admissions=c.admissions) for c in communes],
        "hoverinfo": "text",
    }]
    for facility in facilities:
        style = occupancy_style(facility.occupancy_rate)
        traces.append({
            "type": "scatter", "x": [facility.longitude], "y": [facility.latitude], "mode": "markers",
            "customdata": [f"facility:{facility.facility_id}"], "showlegend": False,
            "marker": {"size": 16, "color": style.colour or NO_DATA_GREY, "symbol": FACILITY_MARKERS[style.symbol],
                       "line": {"color": "#000", "width": 1.5}},
            "hovertext": [f"{facility.name} — {style.symbol} {style.label}"], "hoverinfo": "text",
        })
    return {"data": traces, "layout": {
        "template": template_json(), "font": {"family": FONT_FAMILY, "size": 12},
        "margin": {"l": 40, "r": 40, "t": 30, "b": 40}, "showlegend": False, "clickmode": "event",
        "xaxis": {"title": {"text": t("axis_longitude")}, "showgrid": False, "zeroline": False},
        "yaxis": {"title": {"text": t("axis_latitude")}, "showgrid": False, "zeroline": False,
                  # At 47° N a degree of longitude is cos(47°) ≈ 0.68 of a degree of latitude.
                  "scaleanchor": "x", "scaleratio": 1 / math.cos(math.radians(47.2))},
    }}
