"""Kubernetes JSON schemas for kubeconform, made from sources the Go module proxy serves.

kubeconform fetches its schemas from GitHub, which CI cannot reach. They are derived here
the way its openapi2jsonschema.py derives them: from k8s.io/kubernetes's
api/openapi-spec/swagger.json for the built-in kinds, and from the prometheus-operator's
CRDs for PodMonitor and friends. Output, in kubeconform's layout (`-schema-location
DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json`): one file per kind and version, e.g.
`deployment-apps-v1.json`, `podmonitor-monitoring-v1.json`, plus `_definitions.json` that
the built-in kinds refer to. Every schema is strict: an object with known properties
rejects unknown ones (a misspelt `livenessProbes` fails), `kind` and `apiVersion` must be
the kind's own, and int-or-string fields and quantities accept both.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from devstack import cache_dir

FORMAT = 2  # bump when the output changes, so a cached copy is rebuilt
_INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
_QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}
_OPEN_TYPES = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": _INT_OR_STRING,
    "io.k8s.apimachinery.pkg.api.resource.Quantity": _QUANTITY,
}


class _CrdLoader(yaml.CSafeLoader):
    """Safe loading, with a bare `=` (an enum value in the CRDs) read as the string it is."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", _CrdLoader.construct_scalar)


def ensure(kubernetes: Path, operator: Path, version: str) -> Path:
    """The schema folder for `version`, written on first use into the cache."""
    target = cache_dir() / "kube-schemas" / f"{version}-{operator.name.split('@')[-1]}-f{FORMAT}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    try:
        swagger = json.loads((kubernetes / "api" / "openapi-spec" / "swagger.json").read_text())
        _write_builtin(swagger["definitions"], partial)
        for crd in sorted((operator / "example" / "prometheus-operator-crd").glob("*.yaml")):
            _write_crd(yaml.load(crd.read_text(), _CrdLoader), partial)  # noqa: S506 - safe
        partial.rename(target)
    except OSError:
        if not target.is_dir():  # not another session finishing first: a real failure
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def file_name(kind: str, group: str, version: str) -> str:
    """The file kubeconform looks up for a kind: the group's first label, none for core."""
    suffix = f"-{group.split('.', maxsplit=1)[0]}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix}.json"


def _write_builtin(definitions: dict[str, Any], out: Path) -> None:
    strict = {name: _strict(_OPEN_TYPES.get(name, schema)) for name, schema in definitions.items()}
    _dump({"definitions": strict}, out / "_definitions.json")
    for schema in strict.values():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            own = _rebase(_pin_kind(schema, gvk["kind"], gvk["group"], gvk["version"]))
            _dump(own, out / file_name(gvk["kind"], gvk["group"], gvk["version"]))


def _write_crd(crd: dict[str, Any], out: Path) -> None:
    spec = crd["spec"]
    kind = spec["names"]["kind"]
    for version in spec["versions"]:
        schema = _strict(_from_openapi_v3(version["schema"]["openAPIV3Schema"]))
        pinned = _pin_kind(schema, kind, spec["group"], version["name"])
        _dump(pinned, out / file_name(kind, spec["group"], version["name"]))


def _pin_kind(schema: dict[str, Any], kind: str, group: str, version: str) -> dict[str, Any]:
    api_version = f"{group}/{version}" if group else version
    properties = dict(schema.get("properties", {}))
    properties["kind"] = {"type": "string", "enum": [kind]}
    properties["apiVersion"] = {"type": "string", "enum": [api_version]}
    required = sorted({*schema.get("required", ()), "kind", "apiVersion"})
    return {**schema, "properties": properties, "required": required}


def _map_objects(node: Any, fix: Callable[[dict[str, Any]], Any]) -> Any:
    """The JSON tree rebuilt with every object passed through `fix`, children first."""
    if isinstance(node, list):
        return [_map_objects(item, fix) for item in node]
    if isinstance(node, dict):
        return fix({key: _map_objects(value, fix) for key, value in node.items()})
    return node


def _strict(node: Any) -> Any:
    """Unknown properties rejected wherever the known ones are listed."""

    def fix(schema: dict[str, Any]) -> Any:
        if schema.get("format") == "int-or-string":
            return _INT_OR_STRING
        if (
            isinstance(schema.get("properties"), dict)
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            return {**schema, "additionalProperties": False}
        return schema

    return _map_objects(node, fix)


def _from_openapi_v3(node: Any) -> Any:
    """OpenAPI v3 spellings a JSON schema validator does not know, in its own terms."""

    def fix(schema: dict[str, Any]) -> Any:
        if schema.get("x-kubernetes-int-or-string") is True:
            return _INT_OR_STRING
        if schema.get("nullable") is True and isinstance(schema.get("type"), str):
            rest = {key: value for key, value in schema.items() if key != "nullable"}
            return {**rest, "type": [schema["type"], "null"]}
        return schema

    return _map_objects(node, fix)


def _rebase(node: Any) -> Any:
    """Refs of a kind's own file point into _definitions.json beside it."""

    def fix(schema: dict[str, Any]) -> Any:
        ref = schema.get("$ref")
        return {**schema, "$ref": f"_definitions.json{ref}"} if isinstance(ref, str) else schema

    return _map_objects(node, fix)


def _dump(schema: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(schema, separators=(",", ":")))
