"""Layout of the data-health page: consumer lag and dead letters per topic, freshness per source.

Static frame only; a missing pipeline-health view (streams migration not landed) becomes a notice.
"""

from __future__ import annotations

from typing import Final

from dash import html

from dashboard.pages._common import page, section
from dashboard.text import t

REFRESH: Final = "health-refresh"
STORE: Final = "health-fingerprint"
TOPICS: Final = "health-topics"
SOURCES: Final = "health-sources"


def layout(refresh_s: int) -> html.Div:
    return page("health_heading", "health_intro", [
        section("section_pipeline", "pipeline", [html.Div(id=TOPICS)]),
        section("section_sources", "sources", [html.P(t("health_sources_help"), className="tile-muted"),
                                               html.Div(id=SOURCES)]),
    ], REFRESH, STORE, refresh_s)
