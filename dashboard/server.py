"""Entry points that serve the dashboard: the development server and the WSGI factory for gunicorn.

Each opens the connection pool itself (never at import), builds the app with :func:`create_app`, and
owns the pool's life. ``run_dashboard`` uses Flask's development server (one process, threaded);
production runs ``gunicorn 'dashboard.server:create_wsgi()'`` instead.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

from dashboard.app import create_app
from synopse.config import Settings, load_settings
from synopse.db.connection import open_pool
from synopse.logging import configure_logging

log = logging.getLogger(__name__)

POOL_EXTENSION = "synopse_pool"  # key of the pool in the Flask app's ``extensions``


def _open_pool(settings: Settings) -> Any:
    return open_pool(
        settings.dsn,
        min_size=settings.db.pool_min_size,
        max_size=settings.db.pool_max_size,
        timeout_s=settings.db.connect_timeout_s,
    )


def run_dashboard(settings: Settings) -> None:
    """Serve the dashboard on ``settings.dashboard.host:port`` until interrupted (development server)."""
    pool = _open_pool(settings)
    try:
        app = create_app(settings, pool)
        host, port = settings.dashboard.host, settings.dashboard.port
        log.info("dashboard serving", extra={"url": f"http://{host}:{port}/"})
        app.run(host=host, port=port, debug=False)
    finally:
        pool.close()


def create_wsgi() -> Any:
    """The WSGI application for gunicorn: settings from the environment, logging set up, pool opened.

    gunicorn calls this once per worker (without ``--preload``), so each worker has its own pool,
    closed when the worker exits.
    """
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    pool = _open_pool(settings)
    atexit.register(pool.close)
    server = create_app(settings, pool).server
    server.extensions[POOL_EXTENSION] = pool  # reachable by whoever must close it before exit (tests)
    return server
