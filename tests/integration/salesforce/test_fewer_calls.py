"""Fewer calls per job: multipart creates, cheaper lookups, polls when jobs should be done.

Small jobs are created with their data, lookups go five queries to a Composite call, and
the first poll comes when the job should be done.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from connector.errors import InvalidRequestError
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

    def last(self, *endpoints: str) -> float:
        """When the last call of these classes was answered."""
        return max(at for at, e in self.log if e in endpoints)


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


def test_a_300_key_lookup_is_one_composite_call(counted) -> None:
    """300 keys, 200 of them in the org: one call, every found key mapped to its Id."""
    client, calls = counted()
    client.upsert("Account", accounts(200), "ExternalKey__c", fetch_successes=False)
    ids = {
        r["ExternalKey__c"]: r["Id"]
        for r in client.query("SELECT Id, ExternalKey__c FROM Account").records
    }
    calls.log.clear()
    keys = [f"k{n:07d}" for n in range(300)]
    assert client.find_ids("Account", "ExternalKey__c", keys) == ids
    assert calls.counts() == Counter({"composite": 1})


def test_keys_with_quotes_and_accents_are_found(counted) -> None:
    """Escaped and percent-encoded keys come back exactly."""
    client, calls = counted()
    keys = ["O'Brien", "a\\b", "é & ü?", "x+y=z#", "(a,b)"]
    client.upsert("Account", [{"ExternalKey__c": k, "Name": "n"} for k in keys], "ExternalKey__c")
    calls.log.clear()
    assert set(client.find_ids("Account", "ExternalKey__c", keys)) == set(keys)
    assert calls.counts() == Counter({"composite": 1})


def test_a_big_lookup_costs_a_call_per_five_uris_of_keys(counted) -> None:
    """20,000 keys: 4 calls, where Bulk queries took 3 queries of 3 calls or more."""
    client, calls = counted()
    client.upsert("Account", accounts(20_000), "ExternalKey__c", fetch_successes=False)
    calls.log.clear()
    keys = [f"k{n:07d}" for n in range(20_000)]
    found = client.find_ids("Account", "ExternalKey__c", keys)
    assert set(found) == set(keys)
    assert len(set(found.values())) == 20_000
    assert calls.counts() == Counter({"composite": 4})


def test_a_result_longer_than_a_page_is_read_to_its_end(counted) -> None:
    """2,500 records share one value of a field that is not unique: the rest by nextRecordsUrl."""
    client, calls = counted()
    client.upsert(
        "Account",
        [{"ExternalKey__c": f"k{n:07d}", "Name": "same"} for n in range(2_500)],
        "ExternalKey__c",
        fetch_successes=False,
    )
    calls.log.clear()
    soql = "SELECT Id FROM Account WHERE Name = 'same'"
    [records] = client.composite_queries([lookup.rest_uri(client.settings.api_version, soql)])
    assert len({r["Id"] for r in records}) == 2_500
    assert calls.counts() == Counter({"composite": 1, "query": 1})


def test_a_refused_subrequest_raises_salesforces_error(counted) -> None:
    """A query Salesforce refuses inside the call raises its errorCode, not an empty answer."""
    client, _ = counted()
    with pytest.raises(InvalidRequestError) as refused:
        client.find_ids("Account", "NoSuchField__c", ["k1"])
    assert refused.value.error_code == "INVALID_FIELD"
    assert refused.value.status == 400


def test_an_org_refusing_long_in_lists_gets_short_ones_from_then_on(
    counted, org: EmulatorHandle
) -> None:
    """WHERE clauses held to 4,000 characters: one refused call, then short lists, kept."""
    client, calls = counted()
    client.upsert("Account", accounts(3_000), "ExternalKey__c", fetch_successes=False)
    keys = [f"k{n:07d}" for n in range(3_000)]
    org.admin.faults(max_where_chars=4_000)
    try:
        calls.log.clear()
        assert set(client.find_ids("Account", "ExternalKey__c", keys)) == set(keys)
        first = calls.counts()["composite"]
        calls.log.clear()
        assert set(client.find_ids("Account", "ExternalKey__c", keys)) == set(keys)
        again = calls.counts()["composite"]
    finally:
        org.admin.faults(max_where_chars=None)
    # 3,000 keys of 11 characters with their comma: 9 lists of 4,000, two calls.
    assert (first, again) == (1 + 2, 2)


def close_to_seen_done(client: BulkClient, calls: Calls, rows: int) -> tuple[int, float]:
    """Upsert `rows` rows: the polls it took, and the seconds from close to seen done.

    A small job is closed by its create (multipart), a large one by its own call.
    """
    calls.log.clear()
    client.upsert("Account", accounts(rows), "ExternalKey__c", fetch_successes=False)
    closed = calls.last("ingest_state", "ingest_create")
    return calls.counts()["ingest_poll"], calls.last("ingest_poll") - closed


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


def test_a_small_job_is_created_with_its_data_in_one_call(counted, org: EmulatorHandle) -> None:
    """Upsert and delete of 50 rows: a multipart create and polls; no upload, no close."""
    client, calls = counted()
    upserted = client.upsert("Account", accounts(50), "ExternalKey__c", fetch_successes=False)
    ids = list(
        client.find_ids("Account", "ExternalKey__c", [f"k{n:07d}" for n in range(50)]).values()
    )
    calls.log.clear()
    deleted = client.delete("Account", ids, fetch_successes=False)
    counts = calls.counts()
    assert (upserted.success_count, deleted.success_count) == (50, 50)
    assert counts["ingest_create"] == 1
    assert counts["ingest_upload"] == counts["ingest_state"] == 0
    assert org.admin.live("Account") == []


def test_a_job_past_the_multipart_limit_is_uploaded_and_closed(counted) -> None:
    """Over 100,000 bytes of CSV the create carries no data: create, upload, close."""
    client, calls = counted()
    result = client.upsert("Account", accounts(8_000), "ExternalKey__c", fetch_successes=False)
    counts = calls.counts()
    assert result.success_count == 8_000
    assert (counts["ingest_create"], counts["ingest_upload"], counts["ingest_state"]) == (1, 1, 1)


def test_an_org_with_the_older_multipart_limit_steps_down_to_it(
    counted, org: EmulatorHandle
) -> None:
    """30,000 characters refused: that job goes in three calls, later ones under 20,000 in one."""
    org.admin.faults(max_multipart_chars=20_000)
    try:
        client, calls = counted()
        client.upsert("Account", accounts(2_000), "ExternalKey__c", fetch_successes=False)
        first = calls.counts()
        calls.log.clear()
        client.upsert("Account", accounts(2_000), "ExternalKey__c", fetch_successes=False)
        after = calls.counts()
        calls.log.clear()
        client.upsert("Account", accounts(500), "ExternalKey__c", fetch_successes=False)
        small = calls.counts()
    finally:
        org.admin.faults(max_multipart_chars=None)
    assert (first["ingest_create"], first["ingest_upload"], first["ingest_state"]) == (2, 1, 1)
    assert (after["ingest_create"], after["ingest_upload"], after["ingest_state"]) == (1, 1, 1)
    assert (small["ingest_create"], small["ingest_upload"], small["ingest_state"]) == (1, 0, 0)


def test_a_job_seen_running_is_looked_at_again_when_its_progress_says(
    counted, org: EmulatorHandle
) -> None:
    """40,000 rows, each 10,000-row batch half a second or more, a fixed schedule of 0.4 s.

    The schedule alone looks every 0.4 s until the job is done; the pace of the rows
    processed so far sends the follow-ups to when the job should be done, so at most
    half as many looks. The bound is relative to how long the job took: a slower
    machine makes both counts grow.
    """
    client, calls = counted(poll=PollPolicy(initial=0.4, factor=1.0, maximum=5.0, learn=False))
    org.admin.faults(chunk_delay_seconds=0.5)
    try:
        result = client.upsert("Account", accounts(40_000), "ExternalKey__c", fetch_successes=False)
    finally:
        org.admin.faults(chunk_delay_seconds=0.0)
    assert result.success_count == 40_000
    waited = calls.last("ingest_poll") - calls.last("ingest_state")
    assert calls.counts()["ingest_poll"] <= waited / 0.4 / 2


def test_a_job_queued_behind_others_is_looked_at_less_and_less_often(
    counted, org: EmulatorHandle
) -> None:
    """Learned on quick jobs, then a 2,000-row job held 4 s in UploadComplete.

    Looked at every rows' time (tens of milliseconds) for as long as the queue lasts, it
    took dozens of polls; looks that wait half as long again as the job has waited take
    about ten, and see it done at most half as late again as it was held.
    """
    client, calls = counted(poll=PollPolicy(initial=0.05, factor=1.5, maximum=5.0, floor=0.05))
    for _ in range(3):
        close_to_seen_done(client, calls, 2_000)
    org.admin.faults(job_delay_seconds=4.0)
    try:
        polls, seen_after = close_to_seen_done(client, calls, 2_000)
    finally:
        org.admin.faults(job_delay_seconds=0.0)
    assert polls <= 15
    assert seen_after < 4.0 * 1.5 + 0.5
