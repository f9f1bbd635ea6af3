"""Pure figure builders of the pages: the detail chart, the lagged relation, the offline map."""

from __future__ import annotations

from datetime import date, timedelta

from dashboard import figures_pages as fp
from synopse.db.pages import CommunePoint, FacilityPoint, ForecastDay, ObservedDay
from synopse.domain.forecasts import QUANTILE_LEVELS

DAY0 = date(2025, 1, 1)


def _days(n: int) -> list[ObservedDay]:
    return [ObservedDay(DAY0 + timedelta(days=i), 10 + i, 20, 300.0 + i, 400) for i in range(n)]


def _forecast(n: int) -> list[ForecastDay]:
    return [ForecastDay(DAY0 + timedelta(days=30 + i), i + 1, [300 + 100 * q for q in QUANTILE_LEVELS])
            for i in range(n)]


def test_detail_figure_has_observed_forecast_intervals_and_capacity_on_one_chart() -> None:
    figure = fp.detail_figure(_days(30), _forecast(7), 400.0, "bed_occupancy", "titre")
    names = [trace.name for trace in figure.data]
    assert "Observé" in names and "Prévision (médiane)" in names
    assert "Intervalle 90 %" in names and "Intervalle 50 %" in names
    median = next(trace for trace in figure.data if trace.name == "Prévision (médiane)")
    assert list(median.y) == [350.0] * 7
    assert [shape.y0 for shape in figure.layout.shapes] == [400.0]  # the capacity line


def test_detail_figure_draws_no_capacity_for_counts_and_says_when_empty() -> None:
    figure = fp.detail_figure(_days(5), [], 400.0, "admissions", "titre")
    assert not figure.layout.shapes
    empty = fp.detail_figure([], [], None, "admissions", "titre")
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
    figure = fp.lag_figure([(0, 0.5), (1, -0.4), (2, None)])
    bar = figure.data[0]
    assert list(bar.x) == [0, 1] and list(bar.marker.pattern.shape) == ["", "/"]


def test_map_is_plain_axes_with_drill_ids_and_status_shapes() -> None:
    communes = [CommunePoint("44109", "Nantes", 320000, 47.21, -1.55, 320, 100),
                CommunePoint("44143", "Rezé", 43000, 47.18, -1.55, 0, 0)]
    facilities = [FacilityPoint("hp-confluent", "HP Confluent", "44109", 47.2, -1.54, 100, 97),
                  FacilityPoint("la-seilleraye", "La Seilleraye", "44109", 47.25, -1.5, None, None)]
    figure = fp.map_figure(communes, facilities)
    assert {trace.type for trace in figure.data} == {"scatter"}  # no mapbox/geo trace: nothing to download
    assert list(figure.data[0].customdata) == ["commune:44109", "commune:44143"]
    assert figure.data[0].marker.size[0] == fp.MAX_MARKER_PX
    assert [trace.marker.symbol for trace in figure.data[1:]] == ["square", "circle-open"]  # saturation, no data
    assert figure.data[1].customdata[0] == "facility:hp-confluent"
