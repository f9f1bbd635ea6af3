"""Process-wide logging setup: the only place that configures handlers.

Libraries only call ``logging.getLogger(__name__)``; entry points call :func:`configure_logging` once.
"""

from __future__ import annotations

import logging
import sys

# Third-party loggers that are chatty at INFO and drown the platform's own lines.
_NOISY = ("cmdstanpy", "prophet", "aiokafka", "kafka", "faust", "mode", "werkzeug", "urllib3")


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Configure the root logger once for this process.

    Args:
        level: Minimum level for Synopse's own loggers.
        json: Emit one JSON object per line (for production log shippers) instead of text.
    """
    handler: logging.Handler = _StderrHandler()
    if json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is when a record is emitted, not as it was at configuration.

    Whatever swaps standard error later (a daemoniser, a test capturing output, a notebook) would
    otherwise leave the handler writing into a closed stream, and every record would turn into a
    "Logging error" traceback.
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        """The stream is always the current standard error; StreamHandler's own assignment is ignored."""


class _JsonFormatter(logging.Formatter):
    """One JSON object per record, with the structured ``extra`` fields kept as keys."""

    _STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        import json

        payload: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
