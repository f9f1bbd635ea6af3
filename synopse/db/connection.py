"""Connections and pools: opened explicitly by entry points, never at import.

Server-side prepared statements are off (``prepare_threshold=None``): they break behind transaction
poolers (PgBouncer) that production deployments commonly put in front of PostgreSQL, and the
queries here are few and cheap to plan.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from synopse.errors import ServiceUnavailableError

_CONNECTION_KWARGS: dict[str, Any] = {"prepare_threshold": None}


def connect(dsn: str, *, autocommit: bool = False, connect_timeout_s: float = 10.0) -> psycopg.Connection[Any]:
    """One connection, for commands (migrate, seed) and tests."""
    try:
        return psycopg.connect(
            dsn, autocommit=autocommit, connect_timeout=max(1, round(connect_timeout_s)), **_CONNECTION_KWARGS
        )
    except psycopg.OperationalError as exc:
        raise ServiceUnavailableError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc


def open_pool(dsn: str, *, min_size: int = 1, max_size: int = 8, timeout_s: float = 30.0) -> ConnectionPool:
    """A synchronous pool (dashboard), opened and checked before returning."""
    pool: ConnectionPool = ConnectionPool(
        dsn, min_size=min_size, max_size=max_size, kwargs=dict(_CONNECTION_KWARGS), open=False
    )
    pool.open()
    try:
        pool.wait(timeout=timeout_s)
    except Exception as exc:
        pool.close()
        raise ServiceUnavailableError(f"cannot connect to PostgreSQL within {timeout_s:.0f} s") from exc
    return pool


async def open_async_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 4, timeout_s: float = 30.0
) -> AsyncConnectionPool:
    """An asyncio pool (stream worker), opened and checked before returning."""
    pool: AsyncConnectionPool = AsyncConnectionPool(
        dsn, min_size=min_size, max_size=max_size, kwargs=dict(_CONNECTION_KWARGS), open=False
    )
    await pool.open()
    try:
        await pool.wait(timeout=timeout_s)
    except Exception as exc:
        await pool.close()
        raise ServiceUnavailableError(f"cannot connect to PostgreSQL within {timeout_s:.0f} s") from exc
    return pool
