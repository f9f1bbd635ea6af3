"""The one root exception of Synopse and the shared error categories.

Components raise these so that entry points can tell a caller's mistake (a bad event, a bad setting)
from a service being away, and react accordingly: dead-letter, stop with a message, or retry.
"""

from __future__ import annotations


class SynopseError(Exception):
    """Root of every error Synopse raises on purpose."""


class ConfigurationError(SynopseError):
    """A setting is missing or invalid; the process must stop and name it."""


class ContractError(SynopseError):
    """An event does not satisfy its contract: it goes to the dead-letter topic, never retried as is."""


class ServiceUnavailableError(SynopseError):
    """A service (broker, database) cannot be reached; retrying later may succeed."""


class DataUnavailableError(SynopseError):
    """The data needed to answer (a series, a window) is not in the store."""
