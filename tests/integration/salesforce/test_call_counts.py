"""Every HTTP call the client makes reaches its call observer, with its class and status."""

from __future__ import annotations

import socket
from collections import Counter

import pytest

from connector.salesforce import BulkClient, SalesforceUnavailableError
from tests.integration.salesforce.conftest import settings_for


def test_every_call_is_observed_including_sign_ins_resends_and_errors(org) -> None:
    """Sign-ins, a 401 and its re-send, each job step, /limits and a 503 are all counted.

    The large job is created, uploaded and closed; the small one is created with its data.
    """
    seen: Counter[tuple[str, str]] = Counter()
    large = [{"ExternalKey__c": f"c{n}", "Name": "x" * 200} for n in range(600)]
    with BulkClient(settings_for(org), on_call=lambda e, s: seen.update([(e, s)])) as client:
        client.upsert("Account", large, "ExternalKey__c")
        client.upsert("Account", [{"ExternalKey__c": "c1", "Name": "one"}], "ExternalKey__c")
        org.admin.expire_sessions()
        limits = client.limits()
        org.admin.faults(seed=3, errors={"limits": {"rate": 1.0, "status": 503}})
        with pytest.raises(SalesforceUnavailableError):
            client.limits()
        org.admin.faults(errors={})
    assert limits.bulk_batches_max == 15_000
    assert seen[("oauth", "200")] == 2  # the first sign-in and the one after expiry
    assert seen[("limits", "401")] == 1
    assert seen[("limits", "200")] == 1
    assert seen[("limits", "503")] >= 2  # retried
    assert seen[("ingest_create", "200")] == 2
    assert seen[("ingest_state", "200")] == 1
    assert seen[("ingest_poll", "200")] >= 2
    assert seen[("ingest_upload", "201")] == 1
    assert sum(seen.values()) == client.http_calls + seen[("oauth", "200")]


def test_a_sign_in_that_gets_no_answer_is_observed_as_an_error(org) -> None:
    """A token endpoint nobody listens on: each try is an oauth call without a status."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{probe.getsockname()[1]}"
    seen: Counter[tuple[str, str]] = Counter()
    settings = settings_for(org, login_url=closed)
    client = BulkClient(settings, on_call=lambda e, s: seen.update([(e, s)]))
    with client, pytest.raises(SalesforceUnavailableError, match="token endpoint"):
        client.limits()
    assert seen[("oauth", "error")] == settings.retry.attempts
    assert set(seen) == {("oauth", "error")}
