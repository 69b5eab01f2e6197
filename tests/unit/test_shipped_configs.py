"""Every sfsink config the project ships (deploy/, the README) passes `sfsink check --offline`.

That is the check an operator runs before deploying.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from connector.cli import main

ROOT = Path(__file__).resolve().parents[2]
README_YAML = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def _is_config(text: str) -> bool:
    """A YAML document with sfsink's required sections (not compose, Kubernetes, Prometheus)."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and {"kafka", "salesforce", "routes"} <= set(loaded)


def _shipped() -> Iterator[tuple[str, str]]:
    for path in sorted(ROOT.glob("deploy/**/*.y*ml")):
        text = path.read_text()
        if _is_config(text):
            yield str(path.relative_to(ROOT)), text
    for number, block in enumerate(README_YAML.findall((ROOT / "README.md").read_text())):
        if _is_config(block):
            yield f"README.md#{number}", block


SHIPPED = dict(_shipped())


def test_every_known_config_is_found() -> None:
    """The detection finds at least the configs we know of, so it cannot silently find none."""
    assert {
        "deploy/local/sfsink.yaml",
        "deploy/compose/sfsink.yaml",
        "deploy/kubernetes/sfsink.yaml",
        "deploy/examples/production.yaml",
    } <= set(SHIPPED)
    assert any(name.startswith("README.md#") for name in SHIPPED)


def _secret_files(node: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Key paths of `*_file` settings: secrets the platform mounts at deploy time."""
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key).endswith("_file") and isinstance(value, str):
                yield (*path, str(key))
            else:
                yield from _secret_files(value, (*path, str(key)))


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_config_passes_the_offline_check(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sfsink check --offline` exits 0 and names every route.

    The secret files a config reads are not here at test time: each is pointed at a stand-in
    through its SFSINK_ override, as an operator would for a local check.
    """
    text = SHIPPED[name]
    config = tmp_path / "sfsink.yaml"
    config.write_text(text)
    for key_path in _secret_files(yaml.safe_load(text)):
        stand_in = tmp_path / key_path[-1]
        stand_in.write_text("a secret\n")
        monkeypatch.setenv("SFSINK_" + "__".join(key_path).upper(), str(stand_in))
    assert main(["check", "--offline", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    for route in yaml.safe_load(text)["routes"]:
        assert f"→ {route['sobject']}" in out


def test_a_broken_config_fails_the_offline_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check bites: an unknown key makes it exit 2 and name the key."""
    config = tmp_path / "sfsink.yaml"
    config.write_text(SHIPPED["deploy/local/sfsink.yaml"].replace("max_records:", "max_record:"))
    assert main(["check", "--offline", "--config", str(config)]) == 2
    assert "batching.max_record: unknown key" in capsys.readouterr().err
