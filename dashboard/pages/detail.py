"""Layout of the facility / territory detail page: pickers, the observed-forecast-capacity chart, environment.

Static frame only (the callbacks of :mod:`dashboard.callbacks_pages` fill it). Pickers are native radio
buttons and a labelled dropdown (keyboard-usable); every chart has a one-sentence summary and a table, built
when the reader opens it (:func:`dashboard.components_pages.lazy_table_alternative`).
"""

from __future__ import annotations

from typing import Final

from dash import dcc, html

from dashboard.components_pages import lazy_table_alternative
from dashboard.figures import blank_figure
from dashboard.pages._common import page, section
from dashboard.pages.overview import GRAPH_CONFIG, dropdown_labels
from dashboard.text import indicator_name, t

REFRESH: Final = "detail-refresh"
STORE: Final = "detail-fingerprint"
PLACE: Final = "detail-place"
METRIC: Final = "detail-metric"
PERIOD: Final = "detail-period"
INDICATOR: Final = "detail-indicator"
CHART: Final = "detail-chart"
SUMMARY: Final = "detail-summary"
TABLE: Final = "detail-table"
FORECAST_NOTICE: Final = "detail-forecast-notice"
ENV_CHART: Final = "detail-env-chart"
LAG_CHART: Final = "detail-lag-chart"
LAG_SENTENCE: Final = "detail-lag-sentence"
ENV_TABLE: Final = "detail-env-table"
LAG_TABLE: Final = "detail-lag-table"
LAZY_TABLES: Final = (TABLE, ENV_TABLE, LAG_TABLE)  # table alternatives built when opened

TERRITORY: Final = "territory"  # the place picker's value for the whole territory
# Periods in local days: a month to see the last waves, a quarter for a season, a year for the yearly pattern.
PERIOD_DAYS: Final[dict[str, int]] = {"period_30d": 30, "period_90d": 90, "period_365d": 365}
DEFAULT_PERIOD: Final = "period_90d"
# One signal per environmental family of issue 6: heat, air quality, pollen, wastewater.
ENVIRONMENT_INDICATORS: Final = ("temperature", "pm10", "pollen_grasses", "wastewater_sars_cov_2")
DEFAULT_INDICATOR: Final = "temperature"
METRICS: Final = ("bed_occupancy", "admissions", "ed_visits")


def _radio(label_key: str, component_id: str, options: list[dict[str, str]], value: str) -> html.Fieldset:
    return html.Fieldset([html.Legend(t(label_key), className="control-label"),
                          dcc.RadioItems(id=component_id, options=options, value=value, inline=True)],
                         className="control")


def _initial_options(place: str | None) -> list[dict[str, str]]:
    # The dropdown drops a value missing from its options: keep the drilled-into place until the list loads.
    options = [{"label": t("all_territory"), "value": TERRITORY}]
    if place and place != TERRITORY:
        options.append({"label": place.split(":", 1)[-1], "value": place})
    return options


def layout(refresh_s: int, place: str | None = None) -> html.Div:
    """The page; ``place`` ('facility:<id>', 'commune:<code>') comes from the map's drill-down."""
    controls = html.Div([
        html.Div([html.Label(t("place_picker"), htmlFor=PLACE, className="control-label"),
                  dcc.Dropdown(id=PLACE, options=_initial_options(place),
                               value=place or TERRITORY, clearable=False, searchable=True, labels=dropdown_labels(),
                               className="facility-picker")], className="control"),
        _radio("metric_picker", METRIC, [{"label": t(f"metric_{m}"), "value": m} for m in METRICS], METRICS[0]),
        _radio("period_picker", PERIOD, [{"label": t(k), "value": k} for k in PERIOD_DAYS], DEFAULT_PERIOD),
    ], className="controls")
    return page("detail_heading", "detail_intro", [
        section("section_detail", "detail", [
            controls,
            html.Div(id=FORECAST_NOTICE),
            dcc.Graph(id=CHART, figure=blank_figure(""), config=GRAPH_CONFIG, style={"height": "460px"}),
            html.P(id=SUMMARY, className="chart-summary"),
            lazy_table_alternative(TABLE),
        ]),
        section("section_environment_relation", "environment-relation", [
            _radio("indicator_picker", INDICATOR,
                   [{"label": indicator_name(i), "value": i} for i in ENVIRONMENT_INDICATORS], DEFAULT_INDICATOR),
            dcc.Graph(id=ENV_CHART, figure=blank_figure(""), config=GRAPH_CONFIG, style={"height": "380px"}),
            html.H3(t("lag_heading")),
            dcc.Graph(id=LAG_CHART, figure=blank_figure(""), config=GRAPH_CONFIG, style={"height": "240px"}),
            html.P(id=LAG_SENTENCE, className="chart-summary"),
            html.P(t("lag_caveat"), className="tile-muted"),
            lazy_table_alternative(ENV_TABLE),
            lazy_table_alternative(LAG_TABLE),
        ]),
    ], REFRESH, STORE, refresh_s)
