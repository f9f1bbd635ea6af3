"""Pure plotly figure builders: rows in, ``go.Figure`` out, no I/O, no Dash state.

Times are drawn in the users' local time (Europe/Paris); plotly.js ignores time zones, so instants
are converted to local wall-clock times here. Numbers and dates follow the language of the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from dashboard.status import OKABE_ITO, SATURATION_FROM, TENSION_FROM
from dashboard.text import DISPLAY_TZ, fmt_int, fmt_percent, plot_format, t
from synopse.domain.indicators import HourlyPoint

FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"  # no web font: offline
# Colours and dashes of the series: different hues *and* different line styles, for colour-blind readers.
ADMISSIONS_COLOUR = OKABE_ITO["blue"]
ED_VISITS_COLOUR = OKABE_ITO["reddish_purple"]
OCCUPANCY_COLOUR = OKABE_ITO["black"]
# The occupancy axis goes at least to 100 % so that the thresholds are always in sight.
OCCUPANCY_AXIS_MIN_TOP = 100.0
# Headroom above the highest plotted rate, in percentage points, so that the line never touches the frame.
OCCUPANCY_AXIS_HEADROOM = 5.0
# Round ticks on the occupancy axis (0, 20, ... 100 %) rather than ticks aligned on the count axis.
OCCUPANCY_AXIS_STEP = 20


def _local(instant: datetime) -> datetime:
    return instant.astimezone(DISPLAY_TZ).replace(tzinfo=None)


def _has_data(points: Sequence[HourlyPoint]) -> bool:
    return any(p.admissions or p.ed_visits or p.beds_total is not None for p in points)


def empty_figure(message: str) -> go.Figure:
    """A blank chart that says why it is blank (instead of empty axes that look like zeros)."""
    figure = go.Figure()
    figure.update_layout(
        template="plotly_white",
        font={"family": FONT_FAMILY},
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"l": 20, "r": 20, "t": 20, "b": 20},
        annotations=[{"text": message, "showarrow": False, "font": {"size": 16, "color": "#444"}}],
    )
    return figure


# A figure as plotly's JSON schema ({"data": [...], "layout": {...}}): what ``go.Figure.to_plotly_json()`` gives,
# built without plotly's validation and deep copies (tens of milliseconds per figure of a few hundred points).
FigureDict = dict[str, Any]


@cache
def template_json(name: str = "plotly_white") -> dict[str, Any]:
    """A named plotly template as the JSON the browser receives (resolved once; shared, never to be mutated)."""
    resolved: dict[str, Any] = pio.templates[name].to_plotly_json()
    return resolved


@cache
def colorscale_json(name: str) -> list[list[float | str]]:
    """A named plotly colorscale as the [[position, colour], ...] list ``go.Figure`` writes for it (resolved once
    by plotly's own validator; shared, never to be mutated)."""
    return [[float(position), str(colour)] for position, colour in go.scatter.Marker(colorscale=name).colorscale]


def blank_figure(message: str) -> FigureDict:
    """:func:`empty_figure` as a plain figure dict (same JSON, no validation)."""
    return {"data": [], "layout": {
        "template": template_json(),
        "font": {"family": FONT_FAMILY},
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        "annotations": [{"text": message, "showarrow": False, "font": {"size": 16, "color": "#444"}}],
    }}


def activity_figure(points: Sequence[HourlyPoint], title: str) -> go.Figure:
    """Hourly admissions and ED visits (left axis) and bed occupancy in % (right axis, with thresholds).

    Hours without any bed snapshot leave a gap in the occupancy line: a missing value is not a rate.
    """
    if not _has_data(points):
        return empty_figure(t("chart_no_data"))
    x = [_local(p.bucket) for p in points]
    rates = [None if p.occupancy_rate is None else p.occupancy_rate * 100 for p in points]
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=x, y=[p.admissions for p in points], name=t("series_admissions"), mode="lines",
            line={"color": ADMISSIONS_COLOUR, "width": 2},
            hovertemplate="%{y:d}<extra>" + t("series_admissions") + "</extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x, y=[p.ed_visits for p in points], name=t("series_ed_visits"), mode="lines",
            line={"color": ED_VISITS_COLOUR, "width": 2, "dash": "dash"},
            hovertemplate="%{y:d}<extra>" + t("series_ed_visits") + "</extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=x, y=rates, name=t("series_occupancy"), mode="lines", yaxis="y2", connectgaps=False,
            line={"color": OCCUPANCY_COLOUR, "width": 2, "dash": "dot"},
            hovertemplate="%{y:.1f}" + plot_format("percent") + "<extra>" + t("series_occupancy") + "</extra>",
        )
    )
    top = max([OCCUPANCY_AXIS_MIN_TOP, *(r + OCCUPANCY_AXIS_HEADROOM for r in rates if r is not None)])
    for level, colour, key in (
        (TENSION_FROM, OKABE_ITO["orange"], "threshold_tension"),
        (SATURATION_FROM, OKABE_ITO["vermillion"], "threshold_saturation"),
    ):
        figure.add_shape(
            type="line", xref="paper", x0=0, x1=1, yref="y2", y0=level * 100, y1=level * 100,
            line={"color": colour, "width": 1, "dash": "dashdot"},
        )
        figure.add_annotation(
            xref="paper", x=1, xanchor="right", yref="y2", y=level * 100, yanchor="middle",
            text=f"{t(key)} {fmt_percent(level)}", showarrow=False, font={"size": 11, "color": "#222"},
            bgcolor="rgba(255,255,255,0.85)",
        )
    # The last bucket is the hour containing the reference time: still filling up. Shading it keeps
    # its lower counts from reading as a fall in activity.
    end = x[-1] + timedelta(hours=1)
    figure.add_vrect(x0=x[-1], x1=end, fillcolor="#d9dce1", opacity=0.5, line_width=0, layer="below")
    figure.add_annotation(
        x=end, xanchor="right", yref="paper", y=0, yanchor="bottom", text=t("current_hour"), showarrow=False,
        font={"size": 11, "color": "#444"},
    )
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        template="plotly_white",
        font={"family": FONT_FAMILY, "size": 13},
        separators=plot_format("separators"),  # French: decimal comma, space between thousands
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "xanchor": "left"},
        margin={"l": 60, "r": 60, "t": 80, "b": 50},
        xaxis={"tickformat": plot_format("hour_tick"), "hoverformat": plot_format("hour_hover"), "range": [x[0], end]},
        yaxis={"title": {"text": t("axis_count")}, "rangemode": "tozero", "tickformat": "d"},
        yaxis2={
            "title": {"text": t("axis_occupancy")}, "overlaying": "y", "side": "right",
            "range": [0, top], "showgrid": False, "ticksuffix": plot_format("percent"),
            "tickmode": "linear", "tick0": 0, "dtick": OCCUPANCY_AXIS_STEP,
        },
    )
    return figure


def activity_summary(points: Sequence[HourlyPoint]) -> str:
    """The chart in one sentence, for screen readers and for a quick read: totals and latest occupancy."""
    if not _has_data(points):
        return t("chart_no_data")
    admissions = sum(p.admissions for p in points)
    visits = sum(p.ed_visits for p in points)
    latest_rate = next((p.occupancy_rate for p in reversed(points) if p.occupancy_rate is not None), None)
    rate_text = fmt_percent(latest_rate) if latest_rate is not None else t("status_no_data")
    return t(
        "chart_summary",
        admissions=fmt_int(admissions),
        visits=fmt_int(visits),
        rate=rate_text,
    )

