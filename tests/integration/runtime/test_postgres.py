"""The embedded PostgreSQL: initdb once, real logins, data that survives restarts and crashes."""

import os
import signal
import socket

import psycopg
import pytest

from synopse.runtime.ports import PortInUseError
from synopse.runtime.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


def test_data_survives_a_restart(tmp_path, free_port, wait_gone):
    pg = EmbeddedPostgres(tmp_path / "pgdata", free_port)
    with pg:
        assert pg.dsn() == f"postgresql://postgres@127.0.0.1:{free_port}/synopse"
        with psycopg.connect(pg.dsn()) as conn:
            conn.execute("CREATE TABLE readings (station text PRIMARY KEY, pm10_ugm3 real)")
            conn.execute("INSERT INTO readings VALUES (%s, %s)", ("lyon-centre", 21.5))
        pid = pg.pid
    assert wait_gone([pid]) == []
    assert pg.pid is None

    with pg, psycopg.connect(pg.dsn()) as conn:
        assert conn.execute("SELECT station, pm10_ugm3 FROM readings").fetchall() == [("lyon-centre", 21.5)]


def test_a_killed_server_restarts_despite_its_stale_pid_file(tmp_path, free_port, wait_gone):
    pg = EmbeddedPostgres(tmp_path / "pgdata", free_port)
    pg.start()
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE marks (n int)")
        conn.execute("INSERT INTO marks VALUES (1)")
    os.killpg(pg.pid, signal.SIGKILL)  # a crash: no shutdown, postmaster.pid stays behind
    assert wait_gone([pg.pid]) == []
    pg.stop()  # reaps the dead child
    assert (tmp_path / "pgdata" / "postmaster.pid").exists()

    with pg, psycopg.connect(pg.dsn()) as conn:
        assert conn.execute("SELECT n FROM marks").fetchall() == [(1,)]


def test_a_taken_port_fails_before_anything_runs(tmp_path, free_port):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port))
        sock.listen()
        pg = EmbeddedPostgres(tmp_path / "pgdata", free_port)
        with pytest.raises(PortInUseError, match=f"port {free_port} on 127.0.0.1 is already in use"):
            pg.start()
    assert pg.pid is None
    assert not (tmp_path / "pgdata").exists()
