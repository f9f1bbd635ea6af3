"""infra/Dockerfile builds one image holding every service: pinned base, non-root, valid entry point, all files.

No container engine here: the Dockerfile is read as instructions, and the build inputs (packages, package data,
the probe script, .dockerignore) are checked to be what the build needs.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import PurePosixPath

from tests.unit.infra.infra_support import (
    DOCKERFILE,
    REPO,
    check_command,
    dockerignored,
    pyproject,
    top_level_packages,
)


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _runtime_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_the_base_image_is_pinned_and_the_build_has_two_stages() -> None:
    instructions = _instructions()
    args = dict(rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest)
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base
    stages = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    assert any(k == "COPY" and r.startswith("--from=build /opt/synopse") for k, r in _runtime_stage())


def test_the_runtime_runs_as_an_unprivileged_user() -> None:
    users = [rest for keyword, rest in _runtime_stage() if keyword == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "a numeric uid lets Kubernetes check runAsNonRoot"


def test_the_entry_point_and_default_command_are_valid() -> None:
    runtime = dict(_runtime_stage())
    entrypoint = json.loads(runtime["ENTRYPOINT"])
    assert entrypoint == ["/usr/bin/tini", "--"]
    assert any(k == "RUN" and "install" in r and " tini" in r for k, r in _runtime_stage())
    assert check_command(json.loads(runtime["CMD"])) is None


def test_every_package_and_file_the_image_needs_is_copied_and_not_ignored() -> None:
    copies = [rest.split() for keyword, rest in _instructions() if keyword == "COPY" and "--from" not in rest]
    sources = {source.rstrip("/") for parts in copies for source in parts[:-1]}
    for package in top_level_packages():
        assert package in sources, f"COPY {package} missing from the build stage"
    for source in sources:
        assert (REPO / source).exists(), source
        assert not dockerignored(source), f".dockerignore excludes {source}, which the Dockerfile copies"
    assert dockerignored(".venv") and dockerignored(".git") and dockerignored("tests/unit")


def test_every_data_file_of_the_packages_is_in_the_wheel() -> None:
    package_data: dict[str, list[str]] = pyproject()["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *top_level_packages()],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()
    missing = []
    for name in tracked:
        path = PurePosixPath(name)
        if path.suffix in (".py", ".pyi") or path.name == "py.typed":
            continue
        covered = False
        for parent in path.parents:
            package = ".".join(parent.parts)
            relative = path.relative_to(parent).as_posix()
            if any(fnmatch.fnmatch(relative, glob) for glob in package_data.get(package, [])):
                covered = True
        if not covered:
            missing.append(name)
    assert missing == [], "add them to [tool.setuptools.package-data] or the installed image lacks them"
