"""deploy/kubernetes: kustomize renders it, kubeconform accepts it, and its parts agree."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.cli import build_parser
from connector.config import Config, load_config
from tests.deploy.conftest import DEPLOY

KUBE = DEPLOY / "kubernetes"
SECRET = "sfsink-credentials"  # noqa: S105 - the Secret's name, not a value


def _render(kustomize: Path) -> str:
    done = subprocess.run(
        [kustomize, "build", KUBE], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def rendered(kustomize: Path) -> str:
    """`kustomize build deploy/kubernetes`, as kubectl apply -k would send it."""
    return _render(kustomize)


@pytest.fixture(scope="module")
def objects(rendered: str) -> dict[str, dict[str, Any]]:
    """The rendered objects by kind (one of each)."""
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    by_kind = {doc["kind"]: doc for doc in docs}
    assert len(by_kind) == len(docs), "one object per kind is expected"
    return by_kind


def _kubeconform(kubeconform: Path, schemas: Path, manifests: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [
            kubeconform, "-strict", "-summary", "-output", "json",
            "-schema-location", f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
            "-",
        ],
        input=manifests, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def test_every_manifest_is_a_resource_of_the_kustomization() -> None:
    """A manifest file left out of kustomization.yaml would silently never be applied."""
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    generated = {f for gen in kustomization["configMapGenerator"] for f in gen["files"]}
    on_disk = {path.name for path in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed | generated == on_disk


def test_kubeconform_accepts_every_object(
    kubeconform: Path, kube_schemas: Path, rendered: str, objects: dict[str, Any]
) -> None:
    """Strict validation against Kubernetes' own schemas and the operator's CRDs; none skipped."""
    code, report = _kubeconform(kubeconform, kube_schemas, rendered)
    assert code == 0, report
    assert report["summary"] == {
        "valid": len(objects), "invalid": 0, "errors": 0, "skipped": 0,
    }  # fmt: skip
    assert {"Deployment", "ConfigMap", "Service", "PodMonitor", "PodDisruptionBudget"} <= set(
        objects
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("livenessProbe:", "livenessProbes:"),  # a misspelt field of a container
        ("replicas: 2", "replicas: two"),  # a wrong type
        ("podMetricsEndpoints:", "podMetricEndpoints:"),  # a misspelt field of the CRD
        ("apiVersion: policy/v1", "apiVersion: policy/v1beta2"),  # no such version
    ],
)
def test_kubeconform_rejects_a_broken_manifest(
    kubeconform: Path, kube_schemas: Path, rendered: str, before: str, after: str
) -> None:
    """The schemas bite: each mistake makes the run fail."""
    assert before in rendered
    code, report = _kubeconform(kubeconform, kube_schemas, rendered.replace(before, after))
    assert code != 0
    assert report["summary"]["invalid"] + report["summary"]["errors"] == 1


def _container(objects: dict[str, Any]) -> dict[str, Any]:
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def test_container_arguments_parse(objects: dict[str, Any]) -> None:
    """`sfsink run --config` on the file the ConfigMap is mounted as."""
    container = _container(objects)
    args = build_parser().parse_args(container["args"])
    assert args.command == "run"
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "config"]
    assert args.config == Path(mount["mountPath"]) / "sfsink.yaml"


def test_probes_hit_the_health_endpoints_on_the_configured_port(objects: dict[str, Any]) -> None:
    """Liveness on /healthz, readiness on /readyz, both on the port sfsink listens on."""
    container = _container(objects)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    config = yaml.safe_load(objects["ConfigMap"]["data"]["sfsink.yaml"])
    # The probes come from the kubelet, so sfsink must listen beyond the loopback.
    assert config["metrics"] == {"host": "0.0.0.0", "port": ports["metrics"]}  # noqa: S104


def test_pod_runs_locked_down_with_bounded_resources(objects: dict[str, Any]) -> None:
    """Non-root, read-only root filesystem, no privilege escalation, requests and limits."""
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    container = _container(objects)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}


def test_selectors_match_the_pods(objects: dict[str, Any]) -> None:
    """The Service, the PodMonitor and the PodDisruptionBudget all find the Deployment's pods."""
    labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    selectors = [
        objects["Service"]["spec"]["selector"],
        objects["PodMonitor"]["spec"]["selector"]["matchLabels"],
        objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
        objects["Deployment"]["spec"]["selector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()
    ports = {port["name"] for port in _container(objects)["ports"]}
    assert {e["port"] for e in objects["PodMonitor"]["spec"]["podMetricsEndpoints"]} <= ports


def test_secret_is_referenced_never_shipped(objects: dict[str, Any], tmp_path: Path) -> None:
    """No Secret object; its keys reach the config as overrides and files that load.

    The environment variables the Deployment sets from the Secret are applied to the
    ConfigMap's config, and the key file is looked up where the Secret volume mounts it.
    """
    assert "Secret" not in objects
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    container = _container(objects)
    environ = {}
    for variable in container["env"]:
        ref = variable["valueFrom"]["secretKeyRef"]
        assert ref["name"] == SECRET
        environ[variable["name"]] = f"from-secret-{ref['key']}"
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == SECRET
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    mounted = {f"{mount['mountPath']}/{item['path']}" for item in volume["secret"]["items"]}

    config_text = objects["ConfigMap"]["data"]["sfsink.yaml"]
    key_file = yaml.safe_load(config_text)["salesforce"]["auth"]["private_key_file"]
    assert key_file in mounted
    local_key = tmp_path / "key.pem"
    local_key.write_text("a PEM key")
    config_path = tmp_path / "sfsink.yaml"
    config_path.write_text(config_text.replace(key_file, str(local_key)))
    config: Config = load_config(config_path, environ)
    assert config.kafka.consumer["sasl.password"] == "from-secret-kafka-sasl-password"
    assert config.avro.registry_user_info is not None
    assert config.avro.registry_user_info.get_secret_value() == "from-secret-registry-user-info"
    assert config.salesforce.auth.private_key is not None
