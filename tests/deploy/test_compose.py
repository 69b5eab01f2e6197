"""deploy/compose.yaml: valid by the compose-spec schema, every mounted file exists, parts agree."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from connector.cli import build_parser
from connector.config import load_config
from emulator import cli as emulator_cli
from tests.deploy.conftest import DEPLOY

COMPOSE = DEPLOY / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file, anchors and merge keys resolved as compose resolves them."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _errors(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_matches_the_compose_spec(
    compose_schema: dict[str, Any], compose: dict[str, Any]
) -> None:
    """No structural error against compose-go's schema (what `docker compose config` uses)."""
    assert _errors(compose_schema, compose) == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["services"]["sfsink"].update(stop_grace="2m"),  # unknown key
        lambda c: c["services"]["sfsink"].update(ports=9464),  # a list expected
        lambda c: c["services"]["sfsink"].update(depends_on={"topics": {"condition": "done"}}),
    ],
)
def test_compose_spec_rejects_a_broken_file(
    compose_schema: dict[str, Any], compose: dict[str, Any], break_it: Any
) -> None:
    """The schema bites: each mistake is reported."""
    broken = copy.deepcopy(compose)
    break_it(broken)
    assert _errors(compose_schema, broken)


def _bind_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes", []):
        source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
        if source.startswith((".", "/")):
            sources.append(source)
    return sources


def test_every_mounted_file_and_build_input_exists(compose: dict[str, Any]) -> None:
    """Bind mounts, the build context and its Dockerfile resolve from deploy/."""
    checked = []
    for service in compose["services"].values():
        for source in _bind_sources(service):
            assert (DEPLOY / source).exists(), source
            checked.append(source)
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file()
    assert "../grafana/sfsink.json" in checked
    assert "./prometheus/alerts.yml" in checked


def test_the_stack_has_every_part(compose: dict[str, Any]) -> None:
    """Kafka, a registry, the emulator and sfsink from one image, Prometheus and Grafana."""
    services = compose["services"]
    assert {"kafka", "registry", "emulator", "sfsink", "prometheus", "grafana"} <= set(services)
    assert services["emulator"]["build"] == services["sfsink"]["build"]
    assert services["emulator"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["emulator"]["entrypoint"] == ["sfsink-emulator"]
    assert "entrypoint" not in services["sfsink"]  # the image's: sfsink
    for service in services.values():
        if "image" in service and "build" not in service:
            assert ":" in service["image"]
            assert not service["image"].endswith(":latest")


def _mounted(service: dict[str, Any], target: str) -> Path:
    for volume in service["volumes"]:
        source, mounted_at = volume.split(":")[:2]
        if mounted_at == target:
            return DEPLOY / source
    raise AssertionError(f"nothing is mounted at {target}")


def _option(command: list[str], name: str) -> str:
    (value,) = [item.split("=", 1)[1] for item in command if item.startswith(f"--{name}=")]
    return value


def test_connector_config_points_at_the_other_services(compose: dict[str, Any]) -> None:
    """The mounted sfsink.yaml is valid and names the broker, registry and emulator as served."""
    services = compose["services"]
    config_file = _mounted(services["sfsink"], "/etc/sfsink/sfsink.yaml")
    config = load_config(config_file, {})
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"//{config.kafka.consumer['bootstrap.servers']}" in advertised
    login = urlsplit(config.salesforce.login_url)
    emulator = services["emulator"]["command"]
    assert (login.hostname, str(login.port)) == ("emulator", _option(emulator, "port"))
    assert login.scheme == "http"
    assert "--plain-http" in emulator
    registry = urlsplit(config.avro.registry_url or "")
    assert (registry.hostname, registry.port) == ("registry", 8080)
    assert registry.path == "/apis/ccompat/v7"
    assert config.metrics.host == "0.0.0.0"  # noqa: S104 - Prometheus scrapes it from its container
    assert f"{config.metrics.port}:{config.metrics.port}" in services["sfsink"]["ports"]


def test_prometheus_scrapes_sfsink_and_loads_the_alerts(compose: dict[str, Any]) -> None:
    """The scrape target is the connector's metrics port; the rule file is the mounted one."""
    services = compose["services"]
    prometheus = services["prometheus"]
    config_path = _option(prometheus["command"], "config.file")
    scrape = yaml.safe_load(_mounted(prometheus, config_path).read_text())
    config = load_config(_mounted(services["sfsink"], "/etc/sfsink/sfsink.yaml"), {})
    targets = [
        t for job in scrape["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    ]
    assert f"sfsink:{config.metrics.port}" in targets
    for rule_file in scrape["rule_files"]:
        assert _mounted(prometheus, rule_file).is_file()


def test_grafana_provisions_the_datasource_and_the_dashboard(compose: dict[str, Any]) -> None:
    """The datasource names Prometheus's service; the dashboard folder holds sfsink.json."""
    grafana = compose["services"]["grafana"]
    root = "/etc/grafana/provisioning"
    (datasource,) = yaml.safe_load(
        (_mounted(grafana, f"{root}/datasources") / "prometheus.yaml").read_text()
    )["datasources"]
    assert datasource["type"] == "prometheus"
    assert urlsplit(datasource["url"]).hostname == "prometheus"
    (provider,) = yaml.safe_load(
        (_mounted(grafana, f"{root}/dashboards") / "sfsink.yaml").read_text()
    )["providers"]
    folder = provider["options"]["path"]
    assert _mounted(grafana, f"{folder}/sfsink.json").is_file()


def test_commands_are_ones_the_programs_accept(compose: dict[str, Any]) -> None:
    """The emulator's and the connector's arguments parse (a renamed option would not)."""
    services = compose["services"]
    emulator = emulator_cli.parser().parse_args(services["emulator"]["command"])
    assert emulator.plain_http
    assert str(emulator.objects) == "/app/schemas/objects.yaml"
    assert (DEPLOY.parent / "schemas" / "objects.yaml").is_file()  # COPY schemas/ /app/schemas/
    connector = build_parser().parse_args(services["sfsink"]["command"])
    assert connector.command == "run"


def test_promtool_accepts_the_prometheus_config(compose: dict[str, Any], tmp_path: Path) -> None:
    """`promtool check config` on the scrape config, its rule file read from the repository."""
    prometheus = compose["services"]["prometheus"]
    config_path = _option(prometheus["command"], "config.file")
    scrape = yaml.safe_load(_mounted(prometheus, config_path).read_text())
    scrape["rule_files"] = [str(_mounted(prometheus, f)) for f in scrape["rule_files"]]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(scrape))
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus (deploy/local/install-system-deps.sh)"
    done = subprocess.run(
        [promtool, "check", "config", local], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr
