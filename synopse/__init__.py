"""Synopse: territorial health crisis monitoring."""

__version__ = "0.1.0"
