"""Limits (Sforce-Limit-Info, the daily cap) and faults injected through the admin API."""

from __future__ import annotations

import csv
import io
import re

from tests.integration.emulator.conftest import wait_for_state
from tests.support.emulator import EmulatorHandle

ACCOUNTS = "ExternalKey__c,Name\n" + "".join(f"K-{i},Name {i}\n" for i in range(200))


def _job(http, text: str = ACCOUNTS) -> str:
    job = http(
        "POST",
        "/jobs/ingest",
        json={"object": "Account", "operation": "upsert", "externalIdFieldName": "ExternalKey__c"},
    ).json()
    assert (
        http(
            "PUT",
            f"/jobs/ingest/{job['id']}/batches",
            data=text.encode(),
            headers={"Content-Type": "text/csv"},
        ).status_code
        == 201
    )
    assert http("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).ok
    return job["id"]


def test_every_api_response_carries_limit_info(http):
    """Sforce-Limit-Info counts each call: api-usage=N/cap."""
    first = http("GET", "/limits").headers["Sforce-Limit-Info"]
    second = http("GET", "/sobjects").headers["Sforce-Limit-Info"]
    used = [int(re.match(r"api-usage=(\d+)/100000", h).group(1)) for h in (first, second)]
    assert used[1] == used[0] + 1


def test_daily_cap_refuses_with_request_limit_exceeded(org: EmulatorHandle, http):
    """Past the daily cap every API call is a 403 REQUEST_LIMIT_EXCEEDED."""
    org.admin.limits(daily_api_cap=5, api_requests=5)
    response = http("GET", "/limits")
    assert response.status_code == 403
    assert response.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert response.headers["Sforce-Limit-Info"] == "api-usage=5/5"


def test_bulk_batches_used_can_be_set_and_limits_report_them(org: EmulatorHandle, http):
    """PUT /__emulator/limits bulk_batches lowers what /limits says is left of 15,000."""
    org.admin.limits(bulk_batches=14_000)
    batches = http("GET", "/limits").json()["DailyBulkApiBatches"]
    assert batches == {"Max": 15_000, "Remaining": 1_000}


def test_error_rate_is_repeatable_with_a_seed(org: EmulatorHandle, http):
    """The same seed fails the same calls of an endpoint class, with the configured status."""
    runs = []
    for _ in range(2):
        org.admin.faults(seed=7, errors={"limits": {"rate": 0.5, "status": 503}})
        runs.append([http("GET", "/limits").status_code for _ in range(20)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}
    assert http("GET", "/sobjects").status_code == 200  # other classes are untouched
    org.admin.faults(errors={})
    failed = http("GET", "/limits")
    assert failed.status_code == 200


def test_lock_failures_fail_a_fraction_of_rows(org: EmulatorHandle, http):
    """UNABLE_TO_LOCK_ROW hits about the configured fraction of rows and counts as retries."""
    org.admin.faults(seed=1, lock_rate=0.25)
    job_id = _job(http)
    info = wait_for_state(http, f"/jobs/ingest/{job_id}", {"JobComplete"})
    assert 20 <= info["numberRecordsFailed"] <= 80
    assert info["retries"] == info["numberRecordsFailed"]
    failed = list(
        csv.DictReader(io.StringIO(http("GET", f"/jobs/ingest/{job_id}/failedResults").text))
    )
    assert all(
        r["sf__Error"].startswith("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access")
        for r in failed
    )
    assert len(org.admin.live("Account")) == 200 - info["numberRecordsFailed"]


def test_stalled_jobs_wait_until_released(org: EmulatorHandle, http):
    """A stalled job stays UploadComplete until the stall is cleared."""
    org.admin.faults(stall_jobs=True)
    job_id = _job(http)
    for _ in range(5):
        assert http("GET", f"/jobs/ingest/{job_id}").json()["state"] == "UploadComplete"
    org.admin.faults(stall_jobs=False)
    assert wait_for_state(http, f"/jobs/ingest/{job_id}", {"JobComplete"})["state"] == "JobComplete"


def test_injected_job_failure_leaves_rows_unprocessed(org: EmulatorHandle, http):
    """A job failed on demand is Failed with errorMessage, its rows in unprocessedrecords."""
    org.admin.faults(fail_jobs=1, fail_message="InvalidBatch : injected")
    job_id = _job(http)
    info = wait_for_state(http, f"/jobs/ingest/{job_id}", {"Failed"})
    assert info["errorMessage"] == "InvalidBatch : injected"
    unprocessed = http("GET", f"/jobs/ingest/{job_id}/unprocessedrecords").text.splitlines()
    assert unprocessed[0] == "ExternalKey__c,Name"
    assert len(unprocessed) == 201
    assert org.admin.records("Account") == []
    second = _job(http)  # the fault was for one job only
    assert (
        wait_for_state(http, f"/jobs/ingest/{second}", {"JobComplete", "Failed"})["state"]
        == "JobComplete"
    )


def test_calls_are_counted_by_endpoint_class(org: EmulatorHandle, http):
    """The admin API reports how many calls each endpoint class had."""
    http("GET", "/limits")
    http("GET", "/sobjects/Account/describe")
    calls = org.admin.calls()["calls"]
    assert calls["limits"] == 1
    assert calls["describe"] == 1
    assert calls["auth"] == 1
