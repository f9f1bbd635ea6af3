"""The supervisor as `synopse up` uses it: run in its own process, signalled, and checked with psutil."""

import json
import re
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from synopse.runtime.ports import find_free_port

pytestmark = pytest.mark.integration

# The supervised program: specs come as JSON in argv[1]; a child counts as ready once it has
# created its marker file, and the broker service is added on request.
SUPERVISOR_PROGRAM = textwrap.dedent("""
    import json, logging, pathlib, sys
    from synopse.runtime.broker import EmbeddedBroker
    from synopse.runtime.postgres import EmbeddedPostgres
    from synopse.runtime.supervisor import ProcessSpec, Supervisor

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    config = json.loads(sys.argv[1])

    def marker_exists(path):
        return lambda: pathlib.Path(path).exists()

    specs = [
        ProcessSpec(
            name=p["name"], argv=p["argv"], ready_timeout_s=p.get("ready_timeout_s", 20),
            ready=marker_exists(p["marker"]) if "marker" in p else None,
        )
        for p in config["processes"]
    ]
    services = []
    if "broker_port" in config:
        services.append(EmbeddedBroker(config["broker_port"]))
    if "postgres_port" in config:
        services.append(EmbeddedPostgres(pathlib.Path(config["postgres_dir"]), config["postgres_port"]))
    sys.exit(Supervisor(specs, services, grace_s=config.get("grace_s", 5)).run())
""")


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _long_runner(marker, message):
    return _python(f"""
        import pathlib, time
        print({message!r}, flush=True)
        pathlib.Path({str(marker)!r}).touch()
        time.sleep(600)
    """)


class SupervisorRun:
    def __init__(self, tmp_path, config):
        self.out_path = tmp_path / "supervisor.out"
        self.err_path = tmp_path / "supervisor.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SUPERVISOR_PROGRAM, json.dumps(config)], stdout=out, stderr=err
            )

    @property
    def out(self):
        return self.out_path.read_text()

    @property
    def err(self):
        return self.err_path.read_text()

    def wait_for_output(self, text, timeout_s=20):
        deadline = time.monotonic() + timeout_s
        while text not in self.out + self.err:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r}; stdout:\n{self.out}\nstderr:\n{self.err}")
            time.sleep(0.05)

    def descendants(self):
        return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]

    def wait(self, timeout_s=20):
        return self.proc.wait(timeout=timeout_s)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def run_supervisor(tmp_path):
    runs = []

    def start(config):
        runs.append(SupervisorRun(tmp_path, config))
        return runs[-1]

    yield start
    for run in runs:
        run.kill()


def test_ctrl_c_stops_every_child_and_grandchild(tmp_path, run_supervisor, wait_gone):
    run = run_supervisor(
        {
            "processes": [
                {
                    "name": "alpha",
                    "argv": _long_runner(tmp_path / "alpha", "alpha up"),
                    "marker": str(tmp_path / "alpha"),
                },
                # beta has a child of its own: stopping beta's process group must take it too.
                {"name": "beta", "argv": ["sh", "-c", "sleep 600 & echo beta up; wait"]},
            ],
        }
    )
    run.wait_for_output("beta  | beta up")
    run.wait_for_output("alpha | alpha up")
    pids = run.descendants()
    assert len(pids) == 3  # alpha, beta's shell, beta's sleep

    run.proc.send_signal(signal.SIGINT)

    assert run.wait() == 130
    assert wait_gone(pids, timeout_s=1) == []
    assert "received SIGINT; stopping everything" in run.err


def test_a_child_that_dies_stops_the_others_and_is_named(tmp_path, run_supervisor, wait_gone):
    run = run_supervisor(
        {
            "processes": [
                {
                    "name": "steady",
                    "argv": _long_runner(tmp_path / "steady", "steady up"),
                    "marker": str(tmp_path / "steady"),
                },
                {
                    "name": "crasher",
                    "argv": _python("import sys, time; print('crashing', flush=True); time.sleep(0.5); sys.exit(3)"),
                },
            ],
        }
    )
    run.wait_for_output("steady up")
    pids = run.descendants()

    assert run.wait() == 3
    assert wait_gone(pids, timeout_s=1) == []
    assert "crasher exited unexpectedly with code 3" in run.err
    assert "crasher | crashing" in run.out


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path, run_supervisor, wait_gone):
    stubborn = _python(f"""
        import pathlib, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pathlib.Path({str(tmp_path / "stubborn")!r}).touch()
        time.sleep(600)
    """)
    run = run_supervisor(
        {
            "grace_s": 1,
            "processes": [{"name": "stubborn", "argv": stubborn, "marker": str(tmp_path / "stubborn")}],
        }
    )
    run.wait_for_output("stubborn is ready")
    pids = run.descendants()

    run.proc.send_signal(signal.SIGTERM)

    assert run.wait() == 143
    assert wait_gone(pids, timeout_s=1) == []
    assert re.search(r"stubborn \(pid \d+\) still running 1\.\d s after SIGTERM; sending SIGKILL", run.err)


def test_a_child_never_ready_fails_the_start(run_supervisor, wait_gone):
    run = run_supervisor(
        {
            "processes": [
                {"name": "sleepy", "argv": ["sleep", "600"], "marker": "/nonexistent", "ready_timeout_s": 0.5}
            ],
        }
    )
    run.wait_for_output("starting sleepy")
    pids = run.descendants()

    assert run.wait() == 1
    assert wait_gone(pids, timeout_s=1) == []
    assert "sleepy was not ready within 0.5 s" in run.err


def test_children_die_when_the_supervisor_is_killed(tmp_path, run_supervisor, wait_gone):
    run = run_supervisor(
        {
            "processes": [
                {"name": "orphan", "argv": _long_runner(tmp_path / "o", "up"), "marker": str(tmp_path / "o")}
            ],
        }
    )
    run.wait_for_output("orphan is ready")
    pids = run.descendants()

    run.kill()  # SIGKILL: only the kernel's parent-death signal can stop the child now

    assert wait_gone(pids) == []


def test_ctrl_c_stops_children_then_postgres_then_the_broker(tmp_path, run_supervisor, wait_gone):
    run = run_supervisor(
        {
            "broker_port": find_free_port(),
            "postgres_port": find_free_port(),
            "postgres_dir": str(tmp_path / "pgdata"),
            "processes": [
                {"name": "app", "argv": _long_runner(tmp_path / "app", "app up"), "marker": str(tmp_path / "app")}
            ],
        }
    )
    run.wait_for_output("app is ready", timeout_s=60)
    pids = run.descendants()  # app, tansu, the postmaster and its backends
    names = {psutil.Process(pid).name() for pid in pids}
    assert {"tansu", "postgres"} <= names

    run.proc.send_signal(signal.SIGINT)

    assert run.wait(timeout_s=60) == 130
    assert wait_gone(pids, timeout_s=1) == []
    err = run.err
    assert err.index("stopping app") < err.index("stopping postgres") < err.index("stopping broker")
