"""Layout of the forecast-quality page: backtest scores per series and horizon, and how to read them.

Static frame only; a missing score table (forecasting migration not landed) becomes a "not available yet" notice.
"""

from __future__ import annotations

from typing import Final

from dash import html

from dashboard.pages._common import page, section
from dashboard.text import t

REFRESH: Final = "quality-refresh"
STORE: Final = "quality-fingerprint"
TABLE: Final = "quality-table"


def layout(refresh_s: int) -> html.Div:
    return page("quality_heading", "quality_intro", [
        section("section_quality", "quality", [
            html.Ul([html.Li(t("quality_help_wis")), html.Li(t("quality_help_coverage"))], className="help"),
            html.Div(id=TABLE),
        ]),
    ], REFRESH, STORE, refresh_s)
