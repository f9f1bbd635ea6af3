"""Entry points that serve the dashboard: the development server and the WSGI factory for gunicorn.

Each opens the connection pool itself (never at import), reads the access secret (a missing one stops the
start with the variable to set), makes sure an administrator exists (:func:`ensure_bootstrap_admin`), builds
the app with :func:`create_app`, and owns the pool's life. Sessions live in the database, so any number of
gunicorn workers share them. ``run_dashboard`` uses Flask's development server (one process, threaded);
production runs ``gunicorn 'dashboard.server:create_wsgi()'`` instead.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

from dashboard.app import create_app
from dashboard.auth.secret import access_secret
from dashboard.auth.service import ensure_bootstrap_admin
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
    secret = access_secret(settings)
    pool = _open_pool(settings)
    try:
        ensure_bootstrap_admin(pool, settings)
        app = create_app(settings, pool, secret=secret)
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
    secret = access_secret(settings)
    pool = _open_pool(settings)
    atexit.register(pool.close)
    ensure_bootstrap_admin(pool, settings)
    server = create_app(settings, pool, secret=secret).server
    server.extensions[POOL_EXTENSION] = pool  # reachable by whoever must close it before exit (tests)
    return server
