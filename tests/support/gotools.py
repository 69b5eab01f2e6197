"""Checkers and schemas that come from the Go module proxy, cached under ~/.cache/sfsink/go.

`go install` builds a tool once per version (kubeconform, kustomize); `go mod download`
fetches a module's files once (the compose-spec schema, Kubernetes' OpenAPI spec, the
prometheus-operator CRDs). A second run finds them in the cache and touches no network.
Go must be on PATH or in /usr/local/go/bin: 1.26 or newer, which these tools' go.mod ask
for (an older Go 1.21+ fetches that toolchain from the proxy itself, GOTOOLCHAIN=auto).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from devstack import cache_dir

KUBECONFORM = ("github.com/yannh/kubeconform/cmd/kubeconform", "v0.8.0")
KUSTOMIZE = ("sigs.k8s.io/kustomize/kustomize/v5", "v5.8.2")
COMPOSE_GO = ("github.com/compose-spec/compose-go/v2", "v2.16.2")
KUBERNETES = ("k8s.io/kubernetes", "v1.35.4")
PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0")


def go_home() -> Path:
    """GOPATH, module cache, build cache and binaries, shared by every clone."""
    return cache_dir() / "go"


def _go() -> str:
    found = shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")
    if found is None:
        raise RuntimeError("Go (1.21+) is needed for the deploy/ checks: install it on PATH")
    return found


def _env(**extra: str) -> dict[str, str]:
    home = go_home()
    return {
        **os.environ,
        "GOPATH": str(home),
        "GOMODCACHE": str(home / "mod"),
        "GOCACHE": str(home / "build"),
        "GOFLAGS": "-mod=mod -modcacherw",
        "GOTOOLCHAIN": "auto",
        **extra,
    }


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def go_install(package: str, version: str) -> Path:
    """The binary of `package@version`, built on first use into its own versioned folder."""
    name = package.rstrip("/").split("/")[-1]
    if name.startswith("v") and name[1:].isdigit():  # a major-version suffix, e.g. kustomize/v5
        name = package.split("/")[-2]
    bin_dir = go_home() / "bin" / f"{name}@{version}"
    binary = bin_dir / name
    if not binary.exists():
        _run([_go(), "install", f"{package}@{version}"], _env(GOBIN=str(bin_dir)))
    return binary


def module_dir(module: str, version: str) -> Path:
    """The unpacked files of `module@version` (read-only), downloaded on first use."""
    out = _run([_go(), "mod", "download", "-json", f"{module}@{version}"], _env())
    return Path(json.loads(out)["Dir"])
