"""Alerts: rules on observed and forecast values, and their delivery (see issue 5)."""
