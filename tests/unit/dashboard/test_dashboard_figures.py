"""The activity chart: series, second axis, local times, gaps, and the empty case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.figures import activity_figure, activity_summary
from synopse.domain.indicators import HourlyPoint

START = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


def _points() -> list[HourlyPoint]:
    return [
        HourlyPoint(START, 3, 10, 300.0, 400),
        HourlyPoint(START + timedelta(hours=1), 0, 7, None, None),  # no bed snapshot in that hour
        HourlyPoint(START + timedelta(hours=2), 5, 12, 390.0, 400),
    ]


def test_three_series_with_occupancy_in_percent_on_the_second_axis() -> None:
    figure = activity_figure(_points(), "Tout le territoire — 48 h")
    admissions, visits, occupancy = figure.data
    assert list(admissions.y) == [3, 0, 5]
    assert list(visits.y) == [10, 7, 12]
    assert occupancy.yaxis == "y2"
    assert list(occupancy.y) == [75.0, None, 97.5]  # a missing snapshot is a gap, not 0 %
    assert figure.layout.yaxis2.overlaying == "y"
    assert figure.layout.yaxis2.range[1] >= 100
    assert figure.layout.title.text == "Tout le territoire — 48 h"


def test_times_are_drawn_on_the_paris_clock() -> None:
    figure = activity_figure(_points(), "t")
    assert figure.data[0].x[0] == datetime(2025, 1, 15, 11, 0)  # 10:00 UTC is 11:00 in Paris in winter


def test_thresholds_are_drawn_with_their_names() -> None:
    figure = activity_figure(_points(), "t")
    assert sorted(shape.y0 for shape in figure.layout.shapes if shape.yref == "y2") == [85.0, 95.0]
    texts = " ".join(a.text for a in figure.layout.annotations)
    assert "tension" in texts and "saturation" in texts


def test_no_data_says_so_instead_of_drawing_zeros() -> None:
    empty = [HourlyPoint(START, 0, 0, None, None)]
    figure = activity_figure(empty, "t")
    assert not figure.data
    assert figure.layout.annotations[0].text == "Pas de données sur la période"
    assert activity_summary([]) == "Pas de données sur la période"


def test_summary_gives_totals_and_the_latest_rate() -> None:
    summary = activity_summary(_points())
    assert "8 admissions" in summary and "29 passages" in summary and "98\u202f%" in summary


def test_the_hour_still_filling_up_is_shaded() -> None:
    figure = activity_figure(_points(), "t")
    band = next(shape for shape in figure.layout.shapes if shape.type == "rect")
    assert (band.x0, band.x1) == (datetime(2025, 1, 15, 13, 0), datetime(2025, 1, 15, 14, 0))
    assert "heure en cours" in " ".join(a.text for a in figure.layout.annotations)
