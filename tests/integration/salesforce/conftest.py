"""A fresh org per test and BulkClients on it, with short polls and retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from connector.salesforce import (
    BulkClient,
    ClientCredentials,
    ClientSettings,
    PollPolicy,
    RetryPolicy,
)
from tests.support.emulator import EmulatorHandle

FAST_POLL = PollPolicy(initial=0.02, factor=1.5, maximum=0.2)
FAST_RETRY = RetryPolicy(attempts=8, initial=0.01, maximum=0.1, max_elapsed=20, busy_after=1.0)


@pytest.fixture
def org(emulator: EmulatorHandle) -> EmulatorHandle:
    """The session's emulator, emptied for this test."""
    emulator.admin.reset()
    return emulator


def settings_for(org: EmulatorHandle, **changes: object) -> ClientSettings:
    """Client settings for the emulator: client credentials, its CA, fast polls."""
    values: dict[str, object] = {
        "login_url": org.base_url,
        "auth": ClientCredentials(org.client_id, org.client_secret),
        "ca_bundle": str(org.ca_path),
        "poll": FAST_POLL,
        "retry": FAST_RETRY,
    }
    values.update(changes)
    return ClientSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_client(org: EmulatorHandle) -> Iterator[Callable[..., BulkClient]]:
    """Builds clients on the emptied org; closes them after the test."""
    made: list[BulkClient] = []

    def make(**changes: object) -> BulkClient:
        client = BulkClient(settings_for(org, **changes))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., BulkClient]) -> BulkClient:
    """A client with the default test settings."""
    return make_client()
