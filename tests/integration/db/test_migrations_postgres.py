"""The schema applies on plain PostgreSQL, twice without error, and refuses an edited migration."""

from __future__ import annotations

import psycopg
import pytest

from synopse.config import TimescaleMode
from synopse.db.migrate import Migration, MigrationError, load_migrations, migrate
from synopse.db.reference import seed_territory
from synopse.errors import ConfigurationError

pytestmark = pytest.mark.integration

AGGREGATES = {
    "admissions_hourly",
    "admissions_commune_daily",
    "emergency_visits_hourly",
    "emergency_visits_commune_daily",
    "bed_occupancy_hourly",
    "environment_hourly",
    "environment_daily",
}


def test_migrations_apply_twice_and_create_every_relation(empty_pg_dsn: str) -> None:
    with psycopg.connect(empty_pg_dsn, autocommit=True) as conn:
        first = migrate(conn)
        second = migrate(conn)
        relations = {row[0] for row in conn.execute("SELECT table_name FROM information_schema.tables "
                                                     "WHERE table_schema = 'public'")}
    assert not first.timescaledb
    assert first.applied == [m.name for m in load_migrations() if not m.needs_timescaledb]
    assert second.applied == [] and second.already_applied == first.applied
    assert {"admissions", "emergency_visits", "bed_snapshots", "environment_observations"} <= relations
    assert relations >= AGGREGATES


def test_seeding_twice_keeps_one_row_per_reference(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        seed_territory(conn)
        communes, population = conn.execute("SELECT count(*), sum(population) FROM communes").fetchone() or (0, 0)
        facilities = conn.execute("SELECT count(*) FROM facilities").fetchone()
    assert communes == 24
    assert 600_000 < population < 750_000  # Nantes Métropole, about 680,000 inhabitants
    assert facilities and facilities[0] >= 5


def test_an_edited_migration_stops_the_run(empty_pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(empty_pg_dsn, autocommit=True) as conn:
        migrate(conn)
        original = load_migrations()
        edited = [Migration(m.version, m.name, m.sql + "\n-- edited") if i == 0 else m for i, m in enumerate(original)]
        monkeypatch.setattr("synopse.db.migrate.load_migrations", lambda: edited)
        with pytest.raises(MigrationError, match="edited after it was applied"):
            migrate(conn)


def test_a_failing_migration_leaves_the_previous_state(empty_pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = [*load_migrations(), Migration("9999", "9999_broken.sql", "CREATE TABLE ok_table (x int); SELECT 1/0;")]
    monkeypatch.setattr("synopse.db.migrate.load_migrations", lambda: broken)
    with psycopg.connect(empty_pg_dsn, autocommit=True) as conn:
        with pytest.raises(MigrationError, match=r"9999_broken\.sql failed"):
            migrate(conn)
        assert conn.execute("SELECT to_regclass('ok_table')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM schema_migrations WHERE version = '9999'").fetchone() == (0,)


def test_requiring_timescaledb_where_it_is_absent_names_the_setting(empty_pg_dsn: str) -> None:
    with psycopg.connect(empty_pg_dsn, autocommit=True) as conn:
        available = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
        assert available == (0,), "this test needs a PostgreSQL without TimescaleDB"
        with pytest.raises(ConfigurationError, match="SYNOPSE_DB__TIMESCALEDB"):
            migrate(conn, timescale=TimescaleMode.REQUIRE)
