"""Routes checked against the emulator's describe; `sfsink check` and `run` act on it."""

from __future__ import annotations

import subprocess

import yaml

from connector.preflight import check_routes
from connector.salesforce import BulkClient
from connector.service import client_settings
from tests.integration.pipeline.test_process import SFSINK


def config_file(sink, tmp_path, **route_changes) -> str:
    """The sink's config with the first route changed, written to a file."""
    data = sink.config.model_dump(mode="json", exclude_none=True)
    data["salesforce"]["auth"]["client_secret"] = (
        sink.config.salesforce.auth.client_secret.get_secret_value()
    )
    data["routes"][0].update(route_changes)
    path = tmp_path / "sfsink.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_sound_route_has_no_problems(sink_factory) -> None:
    """Existing writable fields, a real external id and a lookup by it pass."""
    sink = sink_factory(
        route={
            "fields": {"name": "Name", "n": "NumberOfEmployees"},
            "coerce": {"NumberOfEmployees": "int"},
        },
        extra_routes=(
            {
                "sobject": "Contact",
                "external_id": "ExternalKey__c",
                "relationships": {"a": "Account.ExternalKey__c"},
            },
        ),
    )
    with BulkClient(client_settings(sink.config)) as client:
        assert check_routes(sink.config, client.describe) == []


def test_every_mapping_mistake_is_named(sink_factory) -> None:
    """Unknown object and field, read-only field, non-external id, bad lookup, bad coercion."""
    sink = sink_factory(
        route={
            "external_id": "Name",
            "fields": {"a": "Nmae", "b": "CreatedDate"},
            "coerce": {"Phone": "boolean"},
            "relationships": {"p": "Parent.ExternalKey__c"},
        },
        extra_routes=({"sobject": "Acount", "external_id": "ExternalKey__c"},),
    )
    with BulkClient(client_settings(sink.config)) as client:
        problems = "\n".join(check_routes(sink.config, client.describe))
    for expected in (
        "Name is not an external id field",
        "field Nmae does not exist on Account",
        "field CreatedDate is read-only",
        "Phone is a phone field; coercing to boolean won't fit",
        "Account has no relationship named Parent",
        "object Acount does not exist",
    ):
        assert expected in problems


def test_check_and_run_refuse_a_broken_mapping(sink_factory, tmp_path) -> None:
    """`sfsink check` exits 2 naming the problem; `sfsink run` refuses to start, also 2."""
    sink = sink_factory()
    path = config_file(sink, tmp_path, fields={"a": "Nmae"})
    check = subprocess.run(
        [str(SFSINK), "check", "--config", path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 2
    assert "field Nmae does not exist on Account" in check.stderr
    run = subprocess.run(
        [str(SFSINK), "run", "--config", path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "refusing to start" in run.stderr
    good = config_file(sink, tmp_path)
    ok = subprocess.run(
        [str(SFSINK), "check", "--config", good],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "every route matches the org" in ok.stdout
