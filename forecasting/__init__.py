"""Forecasting: Prophet care-load projections and their backtests (see issue 4)."""
