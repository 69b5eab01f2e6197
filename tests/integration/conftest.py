"""Integration fixtures shared across folders: a real Schema Registry (Apicurio)."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator

import pytest
from registry import SchemaRegistryServer

from devstack import free_port


@pytest.fixture(scope="session")
def schema_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Confluent-compatible URL of a running Apicurio Registry, empty at start.

    SFSINK_TEST_SCHEMA_REGISTRY names a registry to use instead of starting one.
    """
    given = os.environ.get("SFSINK_TEST_SCHEMA_REGISTRY")
    if given:
        with urllib.request.urlopen(f"{given}/subjects", timeout=10) as answer:  # noqa: S310 - the operator's URL
            assert answer.status == 200, f"SFSINK_TEST_SCHEMA_REGISTRY={given} does not answer"
        yield given.rstrip("/")
        return
    server = SchemaRegistryServer(home=tmp_path_factory.mktemp("registry"), port=free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
