"""The TimescaleDB test server does what Synopse's migrations and writers rely on, through psycopg 3.

Each test works in a schema of its own; the server is shared by the module and serves one
connection at a time, so every test opens, uses and closes its connections one after the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from tests.services.timescaledb import TimescaleServer

pytestmark = pytest.mark.integration

T0 = datetime(2024, 1, 1, tzinfo=UTC)

# The shape of a Synopse migration on TimescaleDB, run as one string in one transaction, as a
# migration runner runs a .sql file. WITH NO DATA is what allows it inside a transaction.
MIGRATION = """
CREATE TABLE readings (
    station_id text NOT NULL,
    ts timestamptz NOT NULL,
    pm10_ugm3 double precision NOT NULL,
    UNIQUE (station_id, ts)
);
SELECT create_hypertable('readings', by_range('ts', INTERVAL '7 days'));
ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'station_id');
SELECT add_compression_policy('readings', INTERVAL '30 days');
SELECT add_retention_policy('readings', INTERVAL '2 years');
CREATE VIEW readings_hourly AS SELECT 1 AS placeholder;
DROP VIEW readings_hourly;
CREATE MATERIALIZED VIEW readings_hourly
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket('1 hour', ts) AS bucket, station_id, count(*) AS n, avg(pm10_ugm3) AS pm10_ugm3
    FROM readings GROUP BY 1, 2
    WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_hourly',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes');
"""

UPSERT = """
INSERT INTO readings (station_id, ts, pm10_ugm3)
SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::double precision[])
ON CONFLICT (station_id, ts) DO UPDATE SET pm10_ugm3 = EXCLUDED.pm10_ugm3
"""


@contextmanager
def connect(server: TimescaleServer, schema: str, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    # The server resets the session between connections and ignores startup options, so the
    # search path is set on each connection.
    with psycopg.connect(server.dsn, autocommit=autocommit) as conn:
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        if not autocommit:
            conn.commit()
        yield conn


def migrate(server: TimescaleServer, schema: str) -> None:
    with connect(server, schema) as conn:
        conn.execute(MIGRATION)


def test_the_extension_is_timescaledb_2(timescaledb_server: TimescaleServer) -> None:
    with psycopg.connect(timescaledb_server.dsn) as conn:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    assert row is not None
    assert row[0].startswith("2.")


def test_a_migration_in_one_transaction_creates_hypertable_cagg_and_policies(
    timescaledb_server: TimescaleServer, schema: str
) -> None:
    migrate(timescaledb_server, schema)

    with psycopg.connect(timescaledb_server.dsn) as conn:
        hypertables = conn.execute(
            "SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = %s",
            (schema,),
        ).fetchall()
        caggs = conn.execute(
            "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates "
            "WHERE view_schema = %s",
            (schema,),
        ).fetchall()
        jobs = conn.execute(
            "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs "
            "WHERE hypertable_schema = %s OR hypertable_name IN ("
            "  SELECT materialization_hypertable_name FROM timescaledb_information.continuous_aggregates"
            "  WHERE view_schema = %s)",
            (schema, schema),
        ).fetchall()

    assert hypertables == [("readings", True)]
    assert caggs == [("readings_hourly", False)]
    assert sorted(proc for proc, _ in jobs) == [
        "policy_compression",
        "policy_refresh_continuous_aggregate",
        "policy_retention",
    ]


def test_real_time_aggregation_shows_rows_written_after_the_cagg(
    timescaledb_server: TimescaleServer, schema: str
) -> None:
    migrate(timescaledb_server, schema)
    with connect(timescaledb_server, schema) as conn:
        conn.execute(UPSERT, (["s1", "s1", "s2"], [T0, T0 + timedelta(minutes=70), T0], [10.0, 20.0, 30.0]))
        conn.commit()
        before_refresh = conn.execute("SELECT bucket, station_id, n FROM readings_hourly ORDER BY 1, 2").fetchall()
    # A refresh cannot run inside a transaction block.
    with connect(timescaledb_server, schema, autocommit=True) as conn:
        conn.execute(
            "CALL refresh_continuous_aggregate('readings_hourly', %s::timestamptz, %s::timestamptz)",
            (T0, T0 + timedelta(hours=2)),
        )
        conn.execute(UPSERT, (["s1"], [T0 + timedelta(hours=3)], [40.0]))
        after_refresh = conn.execute("SELECT sum(n) FROM readings_hourly").fetchone()

    hour = timedelta(hours=1)
    assert before_refresh == [(T0, "s1", 1), (T0, "s2", 1), (T0 + hour, "s1", 1)]
    assert after_refresh == (4,)


def test_batch_upsert_with_unnest_arrays_is_idempotent(timescaledb_server: TimescaleServer, schema: str) -> None:
    migrate(timescaledb_server, schema)
    # 5000 rows make a Bind message of about 200 kB: more than one TCP read, as real batches do.
    rows = 5000
    stations = [f"station-{i % 25:02d}" for i in range(rows)]
    times = [T0 + timedelta(minutes=i) for i in range(rows)]

    # Past psycopg's prepare_threshold (5), so the statement is prepared server-side, and again on
    # a second connection, which reuses the same statement names (_pg3_0...).
    for connection in range(2):
        with connect(timescaledb_server, schema) as conn:
            for attempt in range(7):
                value = float(connection * 10 + attempt)
                conn.execute(UPSERT, (stations, times, [value] * rows))
            conn.commit()
            count, low, high = conn.execute(
                "SELECT count(*), min(pm10_ugm3), max(pm10_ugm3) FROM readings"
            ).fetchone() or (0, 0.0, 0.0)
        assert (count, low, high) == (rows, connection * 10 + 6, connection * 10 + 6)


def test_a_second_connection_waits_for_the_first_and_starts_clean(timescaledb_server: TimescaleServer) -> None:
    hold_s = 0.5
    seen: dict[str, object] = {}

    def second() -> None:
        started = time.monotonic()
        with psycopg.connect(timescaledb_server.dsn) as conn:
            seen["waited_s"] = time.monotonic() - started
            seen["application_name"] = conn.execute("SHOW application_name").fetchone()

    with psycopg.connect(timescaledb_server.dsn) as first:
        first.execute("SET application_name = 'first'")
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(hold_s)
        assert "waited_s" not in seen
    waiter.join(timeout=10)

    assert float(seen["waited_s"]) >= hold_s * 0.8  # type: ignore[arg-type]
    assert seen["application_name"] == ("",)


def test_copy_from_stdin_fails_cleanly_and_the_server_goes_on(timescaledb_server: TimescaleServer, schema: str) -> None:
    migrate(timescaledb_server, schema)
    with connect(timescaledb_server, schema) as conn:
        with (
            pytest.raises(psycopg.errors.FeatureNotSupported),
            conn.cursor().copy("COPY readings (station_id, ts, pm10_ugm3) FROM STDIN") as copy,
        ):
            copy.write_row(("s1", T0, 1.0))
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (0,)
