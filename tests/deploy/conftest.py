"""The checkers of deploy/: built or downloaded once, cached under ~/.cache/sfsink."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import gotools, kubeschemas

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@pytest.fixture(scope="session")
def compose_schema() -> dict[str, Any]:
    """The compose-spec JSON schema that `docker compose` itself validates with."""
    schema = gotools.module_dir(*gotools.COMPOSE_GO) / "schema" / "compose-spec.json"
    loaded: dict[str, Any] = json.loads(schema.read_text())
    return loaded


@pytest.fixture(scope="session")
def kustomize() -> Path:
    """The kustomize binary."""
    return gotools.go_install(*gotools.KUSTOMIZE)


@pytest.fixture(scope="session")
def kubeconform() -> Path:
    """The kubeconform binary."""
    return gotools.go_install(*gotools.KUBECONFORM)


@pytest.fixture(scope="session")
def kube_schemas() -> Path:
    """JSON schemas of Kubernetes' kinds and of the prometheus-operator CRDs, one per kind."""
    return kubeschemas.ensure(
        gotools.module_dir(*gotools.KUBERNETES),
        gotools.module_dir(*gotools.PROMETHEUS_OPERATOR),
        gotools.KUBERNETES[1],
    )
