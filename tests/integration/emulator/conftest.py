"""Per-test access to the session's emulator: an empty org and clients that trust it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from tests.support.emulator import EmulatorHandle

API = "v59.0"


@pytest.fixture
def org(emulator: EmulatorHandle) -> EmulatorHandle:
    """The session's emulator, emptied for this test."""
    emulator.admin.reset()
    return emulator


@pytest.fixture
def sf(org: EmulatorHandle) -> Salesforce:
    """simple-salesforce, unchanged, on a fresh session of the emptied org."""
    return Salesforce(instance_url=org.base_url, session_id=org.token(), session=org.session())


@pytest.fixture
def http(org: EmulatorHandle) -> Iterator[Callable[..., requests.Response]]:
    """Raw calls to the versioned API with a valid token, as `http(method, path, **kwargs)`."""
    session = org.session()
    session.headers["Authorization"] = f"Bearer {org.token()}"

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{org.base_url}/services/data/{API}{path}"
        return session.request(method, url, **kwargs)

    call.base_url = org.base_url  # type: ignore[attr-defined]
    yield call
    session.close()


def wait_for_state(
    http: Callable[..., requests.Response], path: str, states: set[str], timeout: float = 30
) -> dict[str, Any]:
    """Poll a job until its state is one of `states`; return its JobInfo."""
    deadline = time.monotonic() + timeout
    while True:
        info = http("GET", path).json()
        if info["state"] in states or time.monotonic() > deadline:
            return info
        time.sleep(0.02)
