"""infra/kubernetes/: schema-valid manifests whose labels, probes, resources, variables and commands hold together.

The JSON schemas of Kubernetes come with the kubernetes-validate wheel (offline); the rest are the rules a
schema cannot see: selectors that select, probes that exist and mean something, names that are settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_schemas

from synopse.config import load_settings
from synopse.errors import ConfigurationError
from tests.unit.infra.infra_support import (
    K8S_DIR,
    check_command,
    compose_config,
    containers,
    k8s_documents,
    pod_labels,
    pod_spec,
    setting_names,
    unknown_variables,
)

# Created by the operator, never in the repository: the CA certificates of Kafka and PostgreSQL.
EXTERNAL_OBJECTS = {("ConfigMap", "synopse-ca")}
# The oldest Kubernetes these manifests target (unhealthyPodEvictionPolicy is GA from 1.31) and the newest known.
KUBERNETES_VERSIONS = ["1.31.0", kubernetes_schemas.latest_version() + ".0"]


def _objects() -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in k8s_documents()}


def _workloads() -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_documents() if pod_spec(doc) is not None]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_matches_the_kubernetes_schema(version: str) -> None:
    problems = []
    for name, document in k8s_documents():
        try:
            kubernetes_schemas.validate(document, version, strict=True)
        except kubernetes_schemas.ValidationError as exc:
            problems.append(f"{name} {document['kind']}: {exc.message} at {list(exc.path)}")
    assert problems == []


def test_the_kustomization_deploys_every_manifest_and_sets_the_image() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    files = {path.name for path in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert [image["name"] for image in kustomization["images"]] == ["synopse"]
    for workload in _workloads():
        spec = pod_spec(workload)
        assert spec is not None
        assert {c["image"] for c in containers(spec)} == {"synopse"}, workload["metadata"]["name"]


def test_the_required_workloads_exist() -> None:
    kinds = {(doc["kind"], doc["metadata"]["labels"]["app.kubernetes.io/component"]) for doc in _workloads()}
    required = {("Deployment", "worker"), ("Deployment", "dashboard"), ("Deployment", "alerts"), ("Job", "migrate")}
    assert required <= kinds
    assert kinds & {("CronJob", "forecasting"), ("Deployment", "forecasting")}
    pdbs = [doc for _, doc in k8s_documents() if doc["kind"] == "PodDisruptionBudget"]
    assert any(pdb["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") == "worker" for pdb in pdbs)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_selectors_select_their_pods_and_ports_exist() -> None:
    deployments = [doc for doc in _workloads() if doc["kind"] == "Deployment"]
    for deployment in deployments:
        assert _selects(deployment["spec"]["selector"]["matchLabels"], pod_labels(deployment))
    for _, document in k8s_documents():
        if document["kind"] == "PodDisruptionBudget":
            selector = document["spec"]["selector"]["matchLabels"]
        elif document["kind"] == "Service":
            selector = document["spec"]["selector"]
        else:
            continue
        targets = [d for d in deployments if _selects(selector, pod_labels(d))]
        assert len(targets) == 1, f"{document['kind']} {document['metadata']['name']} selects {len(targets)}"
        if document["kind"] == "Service":
            spec = pod_spec(targets[0])
            assert spec is not None
            names = {port["name"] for c in spec["containers"] for port in c.get("ports", [])}
            for port in document["spec"]["ports"]:
                assert port["targetPort"] in names, document["metadata"]["name"]


def test_every_container_is_sized_unprivileged_and_read_only() -> None:
    for workload in _workloads():
        spec = pod_spec(workload)
        assert spec is not None
        name = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in containers(spec):
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) >= {"cpu", "memory"}, (name, container["name"], kind)
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            # args, not command: the image's entrypoint (tini) forwards signals and reaps children.
            assert "command" not in container and container["args"], name


def test_long_running_containers_have_probes_and_the_worker_probe_watches_consumption() -> None:
    for workload in (doc for doc in _workloads() if doc["kind"] == "Deployment"):
        spec = pod_spec(workload)
        assert spec is not None
        for container in spec["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, (workload["metadata"]["name"], probe)
    worker = _objects()[("Deployment", "synopse-worker")]
    spec = pod_spec(worker)
    assert spec is not None
    probes = {name: spec["containers"][0][name]["exec"]["command"] for name in ("readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"] == ["synopse-probe", "worker", "ready"]
    assert probes["livenessProbe"][:3] == ["synopse-probe", "worker", "live"]
    # The liveness window must outlast a stall threshold, or a slow batch would restart a healthy worker.
    live = spec["containers"][0]["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] >= 60


def test_every_command_and_exec_probe_is_real() -> None:
    problems = []
    for workload in _workloads():
        spec = pod_spec(workload)
        assert spec is not None
        for container in containers(spec):
            commands = [container["args"]]
            commands += [
                container[probe]["exec"]["command"]
                for probe in ("startupProbe", "readinessProbe", "livenessProbe")
                if "exec" in container.get(probe, {})
            ]
            for argv in commands:
                problem = check_command(argv)
                if problem:
                    problems.append(f"{workload['metadata']['name']}/{container['name']}: {problem}")
    assert problems == []


def test_the_migration_job_runs_what_compose_runs() -> None:
    job = _objects()[("Job", "synopse-migrate")]
    spec = pod_spec(job)
    assert spec is not None
    services = compose_config()["services"]
    assert spec["initContainers"][0]["args"] == services["migrate"]["command"]
    assert spec["containers"][0]["args"] == services["seed"]["command"]
    config = _objects()[("ConfigMap", "synopse-config")]["data"]
    assert config["SYNOPSE_DB__TIMESCALEDB"] == "require"


def test_variables_and_secret_files_are_settings() -> None:
    objects = _objects()
    config = objects[("ConfigMap", "synopse-config")]["data"]
    secret = objects[("Secret", "synopse-secrets")]["stringData"]
    names = set(config) | set(secret)
    for workload in _workloads():
        spec = pod_spec(workload)
        assert spec is not None
        for container in containers(spec):
            names |= {variable["name"] for variable in container.get("env", [])}
    assert unknown_variables(names) == set()
    assert set(secret) <= setting_names(), "secret files are read as settings named like them"


def test_volumes_mount_objects_that_exist_and_settings_point_into_them() -> None:
    objects = _objects()
    config = objects[("ConfigMap", "synopse-config")]["data"]
    secret = objects[("Secret", "synopse-secrets")]["stringData"]
    for workload in _workloads():
        spec = pod_spec(workload)
        assert spec is not None
        name = workload["metadata"]["name"]
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for volume in volumes.values():
            if "secret" in volume:
                assert ("Secret", volume["secret"]["secretName"]) in objects, name
                for item in volume["secret"]["items"]:
                    assert item["key"] in secret and item["path"] == item["key"], (name, item)
            if "configMap" in volume:
                key = ("ConfigMap", volume["configMap"]["name"])
                assert key in objects or key in EXTERNAL_OBJECTS, (name, key)
        for container in containers(spec):
            assert [ref["configMapRef"]["name"] for ref in container["envFrom"]] == ["synopse-config"], name
            mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
            assert set(mounts) <= set(volumes), name
            assert mounts["secrets"] == config["SYNOPSE_SECRETS_DIR"], name
            assert Path(config["SYNOPSE_KAFKA__SSL_CAFILE"]).parent == Path(mounts["ca"]), name


def test_the_configuration_loads_and_the_placeholder_secrets_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    objects = _objects()
    for key in [key for key in os.environ if key.startswith("SYNOPSE_")]:
        monkeypatch.delenv(key)
    for key, value in objects[("ConfigMap", "synopse-config")]["data"].items():
        monkeypatch.setenv(key, value)
    for key, value in objects[("Secret", "synopse-secrets")]["stringData"].items():
        (tmp_path / key).write_text(value + "\n")
    monkeypatch.setenv("SYNOPSE_SECRETS_DIR", str(tmp_path))
    with pytest.raises(ConfigurationError, match="SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY"):
        load_settings()
    (tmp_path / "SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY").write_text("ab" * 32)
    settings = load_settings()
    assert settings.kafka.security_protocol == "SASL_SSL" and settings.kafka.replication_factor == 3
    assert "sslmode=verify-full" in settings.dsn and "sslrootcert=" in settings.dsn
