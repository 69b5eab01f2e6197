"""Which listed jobs a retried create may sweep as its own lost job."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connector.salesforce import BulkJob, JobState, Operation
from connector.salesforce.jobs import CreateRequest, is_orphan

SINCE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WANTED = CreateRequest("Account", Operation.UPSERT, "ExternalKey__c")
LOST = BulkJob(
    id="750L",
    operation=Operation.UPSERT,
    object="Account",
    state=JobState.OPEN,
    created_date=SINCE + timedelta(seconds=1),
    external_id_field_name="ExternalKey__c",
    created_by_id="005U",
)


def _orphan(job: BulkJob, known=()) -> bool:
    return is_orphan(job, WANTED, user_id="005U", since=SINCE, known=known)


def test_an_open_job_of_ours_created_during_the_create_is_an_orphan():
    """Same object, operation, key field and user, Open, created since: swept."""
    assert _orphan(LOST)


def test_jobs_that_differ_are_left_alone():
    """Another state, object, operation, key field, user, an older job, or one we own: kept."""
    assert not _orphan(replace(LOST, state=JobState.UPLOAD_COMPLETE))
    assert not _orphan(replace(LOST, object="Contact"))
    assert not _orphan(replace(LOST, operation=Operation.INSERT))
    assert not _orphan(replace(LOST, external_id_field_name="Other__c"))
    assert not _orphan(replace(LOST, created_by_id="005OTHER"))
    assert not _orphan(replace(LOST, created_date=SINCE - timedelta(minutes=5)))
    assert not _orphan(LOST, known={"750L"})


def test_clock_skew_is_allowed_for():
    """A job stamped a little before our clock's start still counts (clocks differ)."""
    assert _orphan(replace(LOST, created_date=SINCE - timedelta(seconds=30)))
