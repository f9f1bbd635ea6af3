"""What every ``synopse`` command shares: a clear error line and exit code, and settings built once.

Components' command groups (``*/commands.py``) and the composition root use these, so that a bad setting
or a failure reads the same everywhere: ``error: <what to do>`` on stderr and a non-zero exit.
"""

from __future__ import annotations

from typing import NoReturn

import typer

from synopse.config import Settings, load_settings
from synopse.errors import ConfigurationError
from synopse.logging import configure_logging


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` in red on stderr and exit with ``code`` (2: usage or settings, 1: failure)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def command_settings() -> Settings:
    """The process's settings with logging configured, or exit naming each bad variable."""
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        fail(str(exc))
    configure_logging(settings.log_level, json=settings.log_json)
    return settings
