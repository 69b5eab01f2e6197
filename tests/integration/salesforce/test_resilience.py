"""Expired sessions, 5xx bursts, the API cap, Failed jobs, timeouts, splitting, lost creates."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from connector.errors import (
    JobFailedError,
    JobTimeoutError,
    SalesforceBusyError,
    SalesforceUnavailableError,
)
from connector.salesforce import BulkClient, JobState, RetryPolicy
from tests.support.emulator import EmulatorHandle


def _accounts(n: int, prefix: str = "K") -> list[dict[str, object]]:
    return [{"ExternalKey__c": f"{prefix}-{i}", "Name": f"Account {i}"} for i in range(n)]


def _ingest_jobs(client: BulkClient):
    return client.jobs("ingest")


def test_a_session_expiring_mid_job_is_renewed_once(client: BulkClient, org: EmulatorHandle):
    """Sessions end while the job runs; the client signs in again and finishes."""
    org.admin.faults(job_delay_seconds=0.3)
    expired: list[int] = []

    def expire_once(_job) -> None:
        if not expired:
            expired.append(org.admin.expire_sessions())

    result = client.upsert("Account", _accounts(20), "ExternalKey__c", on_progress=expire_once)
    assert expired == [1]
    assert result.success_count == 20
    assert org.admin.calls()["calls"]["auth"] == 2
    assert len(org.admin.live("Account")) == 20


def test_a_burst_of_5xx_is_retried_without_duplicate_jobs(make_client, org: EmulatorHandle):
    """Half the ingest calls fail with 503; every row lands once and one job exists."""
    client = make_client(retry=RetryPolicy(attempts=12, initial=0.01, maximum=0.05))
    org.admin.faults(seed=7, errors={"ingest": {"rate": 0.5, "status": 503}})
    result = client.upsert("Account", _accounts(50), "ExternalKey__c")
    org.admin.faults(errors={})
    assert result.success_count == 50
    assert len(org.admin.live("Account")) == 50
    jobs = _ingest_jobs(client)
    assert [j.state for j in jobs] == [JobState.JOB_COMPLETE]
    assert client.http_calls > 6


def test_5xx_that_never_ends_raises_unavailable(make_client, org: EmulatorHandle):
    """When every try fails, the caller gets a retriable SalesforceUnavailableError.

    A create is never sent again before the sweep for its lost job has run; here the
    sweep's listing fails too, so the error comes from it and no second create is sent.
    """
    client = make_client(retry=RetryPolicy(attempts=3, initial=0.01, maximum=0.02))
    org.admin.faults(errors={"ingest": {"rate": 1.0, "status": 500}})
    with pytest.raises(SalesforceUnavailableError) as caught:
        client.insert("Account", [{"Name": "x"}])
    assert caught.value.status == 500
    assert org.admin.calls()["calls"]["ingest"] == 1 + 3  # one create, three listings
    org.admin.faults(errors={})
    assert _ingest_jobs(client) == []


def test_the_api_cap_is_waited_out(make_client, org: EmulatorHandle):
    """At the daily cap calls are refused; once it is raised, the load goes through."""
    client = make_client(retry=RetryPolicy(attempts=50, initial=0.05, maximum=0.1))
    client.insert("Account", [{"Name": "warm-up"}])
    used = org.admin.calls()["api_requests"]
    org.admin.limits(daily_api_cap=used)
    timer = threading.Timer(0.5, lambda: org.admin.limits(daily_api_cap=100_000))
    timer.start()
    try:
        result = client.insert("Account", [{"Name": "after the cap"}])
    finally:
        timer.join()
    assert result.success_count == 1
    usage = client.api_usage
    assert usage is not None
    assert usage.max == 100_000
    assert usage.used == org.admin.calls()["api_requests"]


def test_the_api_cap_that_stays_raises_busy(make_client, org: EmulatorHandle):
    """A cap that does not lift ends in SalesforceBusyError with a retry_after."""
    client = make_client(retry=RetryPolicy(attempts=3, initial=0.01, maximum=0.02, busy_after=42))
    client.insert("Account", [{"Name": "warm-up"}])
    org.admin.limits(daily_api_cap=org.admin.calls()["api_requests"])
    with pytest.raises(SalesforceBusyError) as caught:
        client.insert("Account", [{"Name": "refused"}])
    assert caught.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert caught.value.retry_after == 42
    assert client.api_usage is not None
    assert client.api_usage.used == client.api_usage.max


def test_a_failed_job_raises_with_its_error_message(client: BulkClient, org: EmulatorHandle):
    """A job that ends Failed is reported with Salesforce's errorMessage, never as success."""
    org.admin.faults(fail_jobs=1, fail_message="TooManyLockFailure : Too many lock failure")
    with pytest.raises(JobFailedError, match="TooManyLockFailure") as caught:
        client.upsert("Account", _accounts(10), "ExternalKey__c")
    error = caught.value
    assert error.state == "Failed"
    assert error.job_id
    result = error.result
    assert result.job.state is JobState.FAILED
    assert result.success_count + result.failed_count + result.unprocessed_count == 10


def test_an_unknown_column_fails_the_job_clearly(client: BulkClient):
    """A bad header fails the whole job; the error names the field."""
    with pytest.raises(JobFailedError, match="NoSuchField__c"):
        client.insert("Account", [{"Name": "x", "NoSuchField__c": "y"}])


def test_a_timeout_names_the_job_and_leaves_it_running(client: BulkClient, org: EmulatorHandle):
    """The wait gives up with TimeoutError naming the job; the job goes on and can be resumed."""
    org.admin.faults(stall_jobs=True)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        client.insert("Account", [{"Name": "slow"}], timeout=0.3)
    assert time.monotonic() - started < 3
    error = caught.value
    assert isinstance(error, JobTimeoutError)
    assert error.job_id in str(error)
    handle = client.job(error.job_id)
    assert handle.info().state is JobState.UPLOAD_COMPLETE
    org.admin.faults(stall_jobs=False)
    result = handle.wait(timeout=30)
    assert result.success_count == 1
    assert result.job.id == error.job_id


def test_no_wait_returns_the_job_to_wait_on_later(client: BulkClient):
    """wait=False returns at once with the job; job(id).wait() finishes it."""
    started = client.insert("Account", [{"Name": "later"}], wait=False)
    assert started.job.state is JobState.UPLOAD_COMPLETE
    assert started.success_records == ()
    finished = client.job(started.job.id).wait(timeout=30)
    assert finished.success_count == 1


def test_abort_and_results_of_an_existing_job(client: BulkClient, org: EmulatorHandle):
    """job(id).abort() stops a job; its rows come back unprocessed."""
    org.admin.faults(stall_jobs=True)
    started = client.insert("Account", _accounts(3), wait=False)
    handle = client.job(started.job.id)
    assert handle.abort().state is JobState.ABORTED
    org.admin.faults(stall_jobs=False)
    results = handle.results()
    assert results.job.state is JobState.ABORTED
    assert len(results.unprocessed_records) == 3
    with pytest.raises(JobFailedError, match="Aborted"):
        handle.wait(timeout=5)


def test_input_over_one_upload_is_split_and_merged(make_client, org: EmulatorHandle):
    """Input larger than the upload limit becomes several jobs whose results are merged."""
    org.admin.faults(max_upload_bytes=1000)
    client = make_client(max_upload_bytes=1000)
    records = _accounts(200)
    result = client.upsert("Account", records, "ExternalKey__c")
    assert len(result.jobs) > 3
    assert len({j.id for j in result.jobs}) == len(result.jobs)
    assert result.success_count == 200
    assert result.total_records == 200
    keys = {r.fields["ExternalKey__c"] for r in result.success_records}
    assert keys == {r["ExternalKey__c"] for r in records}
    assert len(org.admin.live("Account")) == 200


class _LoseFirstAnswer(HTTPAdapter):
    """The network loses the answer to the first matching call: sent, done, never heard."""

    def __init__(self, method: str, ending: str) -> None:
        super().__init__()
        self.method = method
        self.ending = ending
        self.lost = 0

    def send(self, request, *args, **kwargs):
        response = super().send(request, *args, **kwargs)
        path = request.url.split("?", 1)[0].rstrip("/")
        if request.method == self.method and path.endswith(self.ending) and not self.lost:
            self.lost += 1
            response.close()
            raise requests.ConnectionError("connection reset by peer")
        return response


def test_a_create_whose_answer_was_lost_leaves_one_job(client: BulkClient, org: EmulatorHandle):
    """The lost create's job is swept before the retry; one job remains, the rows land once.

    An insert, small as it is, is created, uploaded and closed: a multipart create
    whose answer was lost could have inserted its rows already.
    """
    adapter = _LoseFirstAnswer("POST", "/jobs/ingest")
    client._transport.session.mount("https://", adapter)  # noqa: SLF001 - a network fault
    result = client.insert("Account", [{"Name": f"Account {i}"} for i in range(5)])
    assert adapter.lost == 1
    assert result.success_count == 5
    jobs = _ingest_jobs(client)
    assert [(j.id, j.state) for j in jobs] == [(result.job.id, JobState.JOB_COMPLETE)]
    assert len(org.admin.live("Account")) == 5


def test_a_lost_multipart_create_is_aborted_before_its_retry(
    client: BulkClient, org: EmulatorHandle
):
    """A small upsert's job came with its data; lost, it is swept (aborted, deleted) while queued.

    Left alone it would run after its retry, and a later job of the same keys could land
    before it.
    """
    org.admin.faults(job_delay_seconds=1.0)
    adapter = _LoseFirstAnswer("POST", "/jobs/ingest")
    client._transport.session.mount("https://", adapter)  # noqa: SLF001 - a network fault
    result = client.upsert("Account", _accounts(5), "ExternalKey__c")
    org.admin.faults(job_delay_seconds=0.0)
    assert adapter.lost == 1
    assert result.success_count == 5
    jobs = _ingest_jobs(client)
    assert [(j.id, j.state) for j in jobs] == [(result.job.id, JobState.JOB_COMPLETE)]
    assert len(org.admin.live("Account")) == 5


@pytest.mark.parametrize(("method", "ending"), [("PUT", "/batches"), ("PATCH", "")])
def test_a_lost_answer_to_upload_or_close_is_not_an_error(
    client: BulkClient, org: EmulatorHandle, method: str, ending: str
):
    """A retried upload or close that finds its first try got through carries on."""
    adapter = _LoseFirstAnswer(method, ending)
    client._transport.session.mount("https://", adapter)  # noqa: SLF001 - a network fault
    rows = [{"ExternalKey__c": f"K-{i}", "Name": f"{i:0200d}"} for i in range(600)]
    result = client.upsert("Account", rows, "ExternalKey__c")  # too big to go with the create
    assert adapter.lost == 1
    assert result.success_count == 600
    assert len(org.admin.live("Account")) == 600


def test_a_split_load_that_times_out_names_every_job(make_client, org: EmulatorHandle):
    """A timeout over several jobs names the one waited on and notes all that run."""
    org.admin.faults(stall_jobs=True)
    client = make_client(max_upload_bytes=500)
    with pytest.raises(JobTimeoutError) as caught:
        client.upsert("Account", _accounts(40), "ExternalKey__c", timeout=0.2)
    listed = {j.id for j in _ingest_jobs(client)}
    assert len(listed) > 1
    notes = " ".join(caught.value.__notes__)
    assert all(job_id in notes for job_id in listed)
    org.admin.faults(stall_jobs=False)
