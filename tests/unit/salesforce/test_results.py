"""Typed results: jobs from JobInfo, row errors taken apart, merged counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.salesforce import (
    ApiUsage,
    BulkError,
    BulkJob,
    BulkResult,
    JobState,
    Operation,
    OrgLimits,
)
from connector.salesforce.results import FailedRecord, SuccessRecord

FAILED_INFO = {
    "id": "750Dp0000090ZSUIA2",
    "object": "Touchpoint__c",
    "operation": "upsert",
    "state": "Failed",
    "externalIdFieldName": "external_id__c",
    "numberRecordsProcessed": 0,
    "numberRecordsFailed": 0,
    "errorMessage": "InvalidBatch : Field name not found : ContactId__c",
    "createdDate": "2024-03-20T21:42:13.000+0000",
    "systemModstamp": "2024-03-20T21:42:15.000+0000",
    "apiVersion": 59.0,
}


def test_job_from_a_real_failed_job_info():
    """A JobInfo from a real org reads into typed fields."""
    job = BulkJob.from_json(FAILED_INFO)
    assert job.operation is Operation.UPSERT
    assert job.state is JobState.FAILED
    assert job.created_date == datetime(2024, 3, 20, 21, 42, 13, tzinfo=UTC)
    assert job.error_message == "InvalidBatch : Field name not found : ContactId__c"
    assert job.is_complete()
    assert not job.is_successful()


def test_a_completed_job_with_failed_rows_is_not_successful():
    """JobComplete with failed rows is complete, but not a success."""
    info = {**FAILED_INFO, "state": "JobComplete", "numberRecordsProcessed": 5}
    assert BulkJob.from_json(info).is_successful()
    info["numberRecordsFailed"] = 1
    assert not BulkJob.from_json(info).is_successful()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            BulkError("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ("Name",)),
        ),
        (
            (
                "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 200 "
                "records: 001x:--"
            ),
            BulkError(
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record or 200 records: 001x",
            ),
        ),
        (
            "STRING_TOO_LONG:Name: data value too large: abc (max length=3):Name,Phone --",
            BulkError(
                "STRING_TOO_LONG",
                "Name: data value too large: abc (max length=3)",
                ("Name", "Phone"),
            ),
        ),
        ("JUST_CODE:free text, no fields", BulkError("JUST_CODE", "free text, no fields")),
        ("no code at all", BulkError("", "no code at all")),
    ],
)
def test_row_errors_are_taken_apart(text, error):
    """sf__Error splits into code, message (colons allowed) and fields."""
    assert BulkError.parse(text) == error


def test_counts_merge_across_jobs():
    """Counts add up over the jobs of a split input, unprocessed rows included."""
    done = {
        **FAILED_INFO,
        "state": "JobComplete",
        "numberRecordsProcessed": 3,
        "numberRecordsFailed": 1,
    }
    jobs = (BulkJob.from_json(done), BulkJob.from_json({**done, "id": "750B"}))
    result = BulkResult(
        jobs,
        success_records=(SuccessRecord("001A", created=True),) * 4,
        failed_records=(FailedRecord("", BulkError("X", "y")),) * 2,
        unprocessed_records=({"Name": "z"},),
    )
    assert (result.success_count, result.failed_count, result.total_records) == (4, 2, 7)
    assert result.job.id == "750Dp0000090ZSUIA2"
    assert result.errors == (BulkError("X", "y"), BulkError("X", "y"))
    assert not result.is_successful()


def test_success_rows_read_id_created_and_fields():
    """A successfulResults row gives the Id, the created flag and the sent fields."""
    row = SuccessRecord.from_row({"sf__Id": "001A", "sf__Created": "true", "Name": "Acme"})
    assert (row.sf_id, row.created, dict(row.fields)) == ("001A", True, {"Name": "Acme"})


def test_org_limits_read_api_requests_and_bulk_batches() -> None:
    """/limits' DailyApiRequests becomes used/max; DailyBulkApiBatches its remaining."""
    body = {
        "DailyApiRequests": {"Max": 15000, "Remaining": 14000},
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 14990},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
    }
    limits = OrgLimits.from_json(body)
    assert limits.api_requests == ApiUsage(used=1000, max=15000)
    assert (limits.bulk_batches_max, limits.bulk_batches_remaining) == (15000, 14990)
    assert OrgLimits.from_json({}).bulk_batches_remaining == 0
