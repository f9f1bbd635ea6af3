"""Pure figure builders of the pages: the detail chart, the lagged relation, the offline map."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go
import plotly.io.json

from dashboard import figures_pages as fp
from dashboard.figures import FigureDict
from dashboard.status import NO_DATA_GREY, OKABE_ITO
from dashboard.text import use_language
from synopse.db.pages import CommunePoint, EnvironmentDay, FacilityPoint, ForecastDay, ObservedDay
from synopse.domain.forecasts import QUANTILE_LEVELS

DAY0 = date(2025, 1, 1)


def _days(n: int) -> list[ObservedDay]:
    return [ObservedDay(DAY0 + timedelta(days=i), 10 + i, 20, 300.0 + i, 400) for i in range(n)]


def _forecast(n: int) -> list[ForecastDay]:
    return [ForecastDay(DAY0 + timedelta(days=30 + i), i + 1, [300 + 100 * q for q in QUANTILE_LEVELS])
            for i in range(n)]


def _checked(figure: FigureDict) -> go.Figure:
    """The plain-dict figure through plotly's validation (an unknown property or a bad value raises), which must
    leave it unchanged: the browser gets what ``go.Figure`` would have sent."""
    validated = go.Figure(figure)

    def as_json(value: Any) -> Any:
        return json.loads(plotly.io.json.to_json_plotly(value))
    assert as_json(validated) == as_json(figure)
    return validated


def _env(n: int) -> list[EnvironmentDay]:
    return [EnvironmentDay(DAY0 + timedelta(days=i), "pm10", 12.5 + i % 4) for i in range(n)]


def test_detail_figure_has_observed_forecast_intervals_and_capacity_on_one_chart() -> None:
    figure = _checked(fp.detail_figure(_days(30), _forecast(7), 400.0, "bed_occupancy", "titre"))
    names = [trace.name for trace in figure.data]
    assert "Observé" in names and "Prévision (médiane)" in names
    assert "Intervalle 90 %" in names and "Intervalle 50 %" in names
    median = next(trace for trace in figure.data if trace.name == "Prévision (médiane)")
    assert list(median.y) == [350.0] * 7
    assert [shape.y0 for shape in figure.layout.shapes] == [400.0]  # the capacity line
    assert figure.layout.annotations[0].text == "capacité : 400 lits" and figure.layout.annotations[0].y == 400.0
    assert figure.layout.template.layout.plot_bgcolor == "white"  # plotly_white, as before
    assert figure.data[-1].x[0] == "2025-01-01"  # days as ISO dates


def test_detail_figure_draws_no_capacity_for_counts_and_says_when_empty() -> None:
    figure = _checked(fp.detail_figure(_days(5), [], 400.0, "admissions", "titre"))
    assert not figure.layout.shapes
    empty = _checked(fp.detail_figure([], [], None, "admissions", "titre"))
    assert empty.layout.annotations[0].text == "Pas de données sur la période"


def test_lagged_correlation_finds_the_lag_of_a_shifted_signal() -> None:
    signal = {DAY0 + timedelta(days=i): float((i * 7) % 11) for i in range(60)}
    outcome = {day + timedelta(days=2): value * 3 + 1 for day, value in signal.items()}
    correlations = dict(fp.lagged_correlation(signal, outcome))
    assert set(correlations) == set(range(8))
    assert correlations[2] is not None and abs(correlations[2] - 1.0) < 1e-9
    assert all(r is not None and r < 0.99 for lag, r in correlations.items() if lag != 2)
    sentence = fp.lag_sentence(list(correlations.items()), "temperature")
    assert "2 jour(s) après" in sentence and "Température" in sentence


def test_lagged_correlation_refuses_too_few_days_and_constant_series() -> None:
    short = {DAY0 + timedelta(days=i): float(i) for i in range(fp.MIN_PAIRS - 1)}
    assert all(r is None for _, r in fp.lagged_correlation(short, short))
    flat = {DAY0 + timedelta(days=i): 5.0 for i in range(40)}
    assert all(r is None for _, r in fp.lagged_correlation(flat, {d: float(i) for i, d in enumerate(flat)}))
    assert "Pas assez" in fp.lag_sentence([(0, None)], "pm10")
    assert "Pas de relation nette" in fp.lag_sentence([(0, 0.1), (1, -0.2)], "pm10")
    assert "baissent" in fp.lag_sentence([(0, 0.1), (3, -0.6)], "pm10")


def test_lag_figure_marks_negative_bars_with_a_pattern() -> None:
    figure = _checked(fp.lag_figure([(0, 0.5), (1, -0.4), (2, None)]))
    bar = figure.data[0]
    assert list(bar.x) == [0, 1] and list(bar.marker.pattern.shape) == ["", "/"]


def test_environment_figure_sets_the_signal_on_a_right_axis_beside_admissions() -> None:
    figure = _checked(fp.environment_figure(_days(10), _env(10), "pm10"))
    bars, line = figure.data
    assert bars.type == "bar" and list(bars.y) == [10 + i for i in range(10)]
    assert line.yaxis == "y2" and line.name == "PM10" and list(line.x)[:2] == ["2025-01-01", "2025-01-02"]
    assert figure.layout.yaxis2.overlaying == "y" and figure.layout.yaxis2.side == "right"
    assert _checked(fp.environment_figure([], [], "pm10")).layout.annotations[0].text == "Pas de données sur la période"


def _map_points() -> tuple[list[CommunePoint], list[FacilityPoint]]:
    communes = [CommunePoint("44109", "Nantes", 320000, 47.21, -1.55, 320, 100),
                CommunePoint("44143", "Rezé", 43000, 47.18, -1.55, 0, 0),
                CommunePoint("44999", "Sans habitants", 0, 47.3, -1.6, 2, 0)]
    facilities = [FacilityPoint("hp-confluent", "HP Confluent", "44109", 47.2, -1.54, 100, 97),
                  FacilityPoint("la-seilleraye", "La Seilleraye", "44109", 47.25, -1.5, None, None),
                  FacilityPoint("tendue", "Tendue", "44143", 47.19, -1.56, 100, 90),
                  FacilityPoint("calme", "Calme", "44143", 47.17, -1.52, 100, 50)]
    return communes, facilities


def test_map_is_plain_axes_with_drill_ids_and_status_shapes() -> None:
    communes, facilities = _map_points()
    figure = _checked(fp.map_figure(communes, facilities))
    assert {trace.type for trace in figure.data} == {"scatter"}  # no mapbox/geo trace: nothing to download
    assert "mapbox" not in figure.layout.to_plotly_json() and "geo" not in figure.layout.to_plotly_json()
    towns = figure.data[0]
    assert list(towns.customdata) == ["commune:44109", "commune:44143", "commune:44999"]
    assert list(towns.text) == ["Nantes", "Rezé", "Sans habitants"] and towns.mode == "markers+text"
    # Area ~ population (the largest MAX_MARKER_PX across), colour ~ admissions per 100,000 (none: 0).
    assert towns.marker.size[0] == fp.MAX_MARKER_PX and towns.marker.size[2] == fp.MIN_MARKER_PX
    assert list(towns.marker.color) == [100.0, 0.0, 0.0]
    assert towns.marker.colorscale[0] == (0.0, "#00224e") and towns.marker.showscale  # Cividis, with its bar
    assert towns.hovertext[0] == "Nantes : 100 admissions pour 100 000 hab. (320 sur 7 jours)"
    # Facilities: one trace each, shape + colour + word by status; each carries its drill-down id.
    assert [trace.marker.symbol for trace in figure.data[1:]] == ["square", "circle-open", "triangle-up", "circle"]
    assert [trace.marker.color for trace in figure.data[1:]] == [
        OKABE_ITO["vermillion"], NO_DATA_GREY, OKABE_ITO["orange"], OKABE_ITO["bluish_green"]]
    assert [trace.customdata[0] for trace in figure.data[1:]] == [
        "facility:hp-confluent", "facility:la-seilleraye", "facility:tendue", "facility:calme"]
    assert [trace.hovertext[0] for trace in figure.data[1:3]] == ["HP Confluent — ■ saturation",
                                                                  "La Seilleraye — ○ pas de données"]
    assert figure.layout.clickmode == "event" and figure.layout.yaxis.scaleanchor == "x"
    assert figure.layout.template.layout.plot_bgcolor == "white"  # plotly_white, as before


def test_the_map_speaks_english_and_says_when_it_is_empty() -> None:
    communes, facilities = _map_points()
    with use_language("en"):
        figure = _checked(fp.map_figure(communes, facilities))
        empty = _checked(fp.map_figure([], []))
        facilities_only = _checked(fp.map_figure([], facilities))
    assert figure.data[0].hovertext[0] == "Nantes: 100 admissions per 100,000 inhabitants (320 over 7 days)"
    assert figure.data[0].marker.colorbar.title.text == "Admissions / 100,000 inh. (7 d)"
    assert figure.data[2].hovertext[0] == "La Seilleraye — ○ no data"
    assert figure.layout.xaxis.title.text == "Longitude" and figure.layout.yaxis.title.text == "Latitude"
    assert empty.layout.annotations[0].text == "No data over the period" and not empty.data
    assert list(facilities_only.data[0].x) == [] and len(facilities_only.data) == 1 + len(facilities)
