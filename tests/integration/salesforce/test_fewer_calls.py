"""Fewer calls per job: lookups over REST when cheaper, first polls when jobs should be done."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from connector.salesforce import BulkClient, PollPolicy, lookup
from tests.integration.salesforce.conftest import settings_for
from tests.support.emulator import EmulatorHandle


class Calls:
    """Every call a client made: when, and its endpoint class."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str]] = []

    def __call__(self, endpoint: str, _status: str) -> None:
        """The client's on_call hook."""
        self.log.append((time.monotonic(), endpoint))

    def counts(self) -> Counter[str]:
        """Calls by endpoint class, since the last clear."""
        return Counter(endpoint for _, endpoint in self.log)

    def last(self, endpoint: str) -> float:
        """When the last call of a class was answered."""
        return max(at for at, e in self.log if e == endpoint)


Counted = tuple[BulkClient, Calls]


def accounts(count: int) -> list[dict[str, str]]:
    """Account rows keyed by ExternalKey__c."""
    return [{"ExternalKey__c": f"k{n:07d}", "Name": f"n{n}"} for n in range(count)]


@pytest.fixture
def counted(org: EmulatorHandle) -> Iterator[Callable[..., Counted]]:
    """Builds signed-in clients on the emptied org, each with a log of its calls."""
    made: list[BulkClient] = []

    def make(**changes: object) -> Counted:
        calls = Calls()
        client = BulkClient(settings_for(org, **changes), on_call=calls)
        made.append(client)
        client.limits()  # sign in now: the calls that follow are the test's alone
        calls.log.clear()
        return client, calls

    yield make
    for client in made:
        client.close()


def test_a_300_key_lookup_is_one_rest_call(counted) -> None:
    """300 keys, 200 of them in the org: one GET query, every found key mapped to its Id."""
    client, calls = counted()
    client.upsert("Account", accounts(200), "ExternalKey__c", fetch_successes=False)
    ids = {
        r["ExternalKey__c"]: r["Id"]
        for r in client.query("SELECT Id, ExternalKey__c FROM Account").records
    }
    calls.log.clear()
    keys = [f"k{n:07d}" for n in range(300)]
    assert client.find_ids("Account", "ExternalKey__c", keys) == ids
    assert calls.counts() == Counter({"query": 1})


def test_keys_with_quotes_and_accents_are_found_over_rest(counted) -> None:
    """Escaped and percent-encoded keys come back exactly."""
    client, calls = counted()
    keys = ["O'Brien", "a\\b", "é & ü?", "x+y=z#"]
    client.upsert("Account", [{"ExternalKey__c": k, "Name": "n"} for k in keys], "ExternalKey__c")
    calls.log.clear()
    assert set(client.find_ids("Account", "ExternalKey__c", keys)) == set(keys)
    assert calls.counts() == Counter({"query": 1})


def test_a_lookup_too_long_for_urls_runs_as_bulk_queries(counted) -> None:
    """20,000 keys: three Bulk queries (a few calls each) instead of 27 REST calls."""
    client, calls = counted()
    client.upsert("Account", accounts(20_000), "ExternalKey__c", fetch_successes=False)
    calls.log.clear()
    keys = [f"k{n:07d}" for n in range(20_000)]
    found = client.find_ids("Account", "ExternalKey__c", keys)
    assert set(found) == set(keys)
    counts = calls.counts()
    assert counts["query"] == 0
    assert counts["bulk_query_create"] == 3
    assert counts.total() < 27


def test_an_org_refusing_a_long_uri_gets_a_bulk_query_instead(counted, monkeypatch) -> None:
    """A 414 (an org whose limit is lower than documented) falls back to a Bulk query."""
    monkeypatch.setattr(lookup, "HEADER_ALLOWANCE", -10_000)  # URIs up to 26 kB: refused
    client, calls = counted()
    client.upsert("Account", accounts(1_500), "ExternalKey__c", fetch_successes=False)
    calls.log.clear()
    keys = [f"k{n:07d}" for n in range(1_500)]
    assert set(client.find_ids("Account", "ExternalKey__c", keys)) == set(keys)
    assert calls.counts()["query"] == 1
    assert calls.counts()["bulk_query_create"] == 1


def close_to_seen_done(client: BulkClient, calls: Calls, rows: int) -> tuple[int, float]:
    """Upsert `rows` rows: the polls it took, and the seconds from close to seen done."""
    calls.log.clear()
    client.upsert("Account", accounts(rows), "ExternalKey__c", fetch_successes=False)
    return calls.counts()["ingest_poll"], calls.last("ingest_poll") - calls.last("ingest_state")


SLOW_START = PollPolicy(initial=1.0, factor=1.5, maximum=5.0)


def test_small_jobs_are_seen_soon_after_they_finish_once_learned(counted) -> None:
    """The fixed schedule looks after 1 s; after a few jobs the first look comes far sooner."""
    client, calls = counted(poll=SLOW_START)
    seen = [close_to_seen_done(client, calls, 2_000) for _ in range(6)]
    assert seen[0][0] == 1
    assert seen[0][1] >= 1.0
    assert seen[-1][1] < 0.6


def test_a_big_job_is_seen_done_at_its_first_poll_once_learned(counted) -> None:
    """60,000 rows take over a second: the fixed schedule needs 2 polls, learned ones 1."""
    client, calls = counted(poll=SLOW_START)
    seen = [close_to_seen_done(client, calls, 60_000) for _ in range(5)]
    assert sum(polls for polls, _ in seen[2:]) <= 4
