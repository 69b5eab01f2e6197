"""deploy/Dockerfile, checked without a Docker engine: linted, parsed, and its build stage run."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import dockerfile
import pytest

from connector.config import MetricsSettings
from tests.deploy.conftest import DEPLOY, ROOT

DOCKERFILE = DEPLOY / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


@pytest.fixture(scope="module")
def commands() -> list[dockerfile.Command]:
    """The instructions, as BuildKit's own parser reads them."""
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def _stages(commands: list[dockerfile.Command]) -> list[list[dockerfile.Command]]:
    stages: list[list[dockerfile.Command]] = []
    for command in commands:
        if command.cmd == "FROM":
            stages.append([])
        stages[-1].append(command)
    return stages


def _copies(stage: list[dockerfile.Command]) -> list[tuple[str, ...]]:
    """The sources of each COPY from the build context (not --from another stage)."""
    return [
        c.value[:-1]
        for c in stage
        if c.cmd == "COPY" and not any(f.startswith("--from") for f in c.flags)
    ]


def test_hadolint_finds_nothing() -> None:
    """Hadolint's rules (pinned versions, no root, no cache left behind, ...) all pass."""
    done = subprocess.run([HADOLINT, DOCKERFILE], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    """The linter bites: an unpinned pip install and a root user fail."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nUSER root\nRUN pip install requests\n")
    done = subprocess.run([HADOLINT, bad], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "DL3013" in done.stdout
    assert "DL3002" in done.stdout


def test_runtime_stage_is_slim_non_root_and_runs_the_console_script(
    commands: list[dockerfile.Command],
) -> None:
    """Two stages on python:3.11-slim; the last runs `sfsink` as a numeric non-root user."""
    build, runtime = _stages(commands)
    assert build[0].value == ("python:3.11-slim", "AS", "build")
    assert runtime[0].value == ("python:3.11-slim",)
    (user,) = [c for c in runtime if c.cmd == "USER"]
    uid, _, gid = user.value[0].partition(":")
    assert uid.isdigit()
    assert int(uid) != 0
    assert gid.isdigit()
    assert int(gid) != 0
    (entrypoint,) = [c for c in runtime if c.cmd == "ENTRYPOINT"]
    assert entrypoint.json
    assert entrypoint.value == ("sfsink",)
    (cmd,) = [c for c in runtime if c.cmd == "CMD"]
    assert cmd.value[0] == "run"


def test_runtime_installs_only_the_built_wheels(commands: list[dockerfile.Command]) -> None:
    """No dev extra, no index: exactly the wheels the build stage made, from a bind mount."""
    build, runtime = _stages(commands)
    (wheel,) = [c for c in build if c.cmd == "RUN"]
    assert "pip wheel" in wheel.value[0]
    assert "[dev]" not in wheel.value[0]
    (install,) = [c for c in runtime if c.cmd == "RUN" and "pip install" in c.value[0]]
    assert "--no-index" in install.value[0]
    assert any("from=build" in flag for flag in install.flags)
    assert "[dev]" not in install.value[0]


def test_healthcheck_asks_healthz_on_the_default_metrics_port(
    commands: list[dockerfile.Command],
) -> None:
    """The HEALTHCHECK and EXPOSE agree with the config's default metrics port."""
    port = MetricsSettings().port
    (check,) = [c for c in commands if c.cmd == "HEALTHCHECK"]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(check.value)
    (expose,) = [c for c in commands if c.cmd == "EXPOSE"]
    assert expose.value == (str(port),)


def test_every_copied_path_exists_and_is_in_the_build_context(
    commands: list[dockerfile.Command],
) -> None:
    """Each COPY source exists in the repository and the .dockerignore lets it through."""
    allowed = {
        line.removeprefix("!")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [source for stage in _stages(commands) for copy in _copies(stage) for source in copy]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source in allowed, f"{source} is not in Dockerfile.dockerignore's allow-list"


def test_build_stage_sources_make_a_wheel_with_both_commands(
    commands: list[dockerfile.Command], tmp_path: Path
) -> None:
    """What the build stage copies is enough to build the wheel both entry points come from."""
    build = _stages(commands)[0]
    context = tmp_path / "src"
    context.mkdir()
    for copy in _copies(build):
        for source in copy:
            subprocess.run(["cp", "-r", ROOT / source, context / source], check=True)
    wheels = tmp_path / "wheels"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, context],
        capture_output=True, text=True, check=False, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = wheels.glob("sfsink-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
        scripts = archive.read(entry_points).decode()
        (metadata,) = [n for n in names if n.endswith("METADATA")]
        requires = [
            line for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line
        ]  # fmt: skip
    assert "sfsink = connector.cli:main" in scripts
    assert "sfsink-emulator = emulator.cli:main" in scripts
    assert "connector/pipeline.py" in names
    assert "emulator/app.py" in names
    assert not any("pytest" in line or "ruff" in line for line in requires)
