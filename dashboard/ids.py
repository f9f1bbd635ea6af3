"""Component ids of the dashboard: the names layouts and callbacks share, so a typo fails at import."""

from __future__ import annotations

from typing import Final

REFRESH: Final = "refresh-interval"  # dcc.Interval driving the auto-refresh

STATUS: Final = "data-status"  # last data time, late-feed badge, source freshness
FACILITY_TILES: Final = "facility-tiles"
COMMUNE_TABLE: Final = "commune-table"
ENVIRONMENT_PANEL: Final = "environment-panel"

FACILITY_PICKER: Final = "facility-picker"
PERIOD_PICKER: Final = "period-picker"
ACTIVITY_CHART: Final = "activity-chart"

# The value of the facility picker meaning "the whole territory" (never a facility id: those are slugs).
ALL_TERRITORY: Final = "__territory__"

# Values of the period picker and the hours each covers (a value is also the key of its label in text.FR).
PERIOD_HOURS: Final[dict[str, int]] = {"period_48h": 48, "period_7d": 7 * 24, "period_30d": 30 * 24}
DEFAULT_PERIOD: Final = "period_48h"

CHART_SUMMARY: Final = "activity-summary"  # the chart in one sentence (screen readers, quick read)
