"""Job phases are read from the state transitions the polls see."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, Histogram

from connector.jobphases import JobPhases
from connector.salesforce import BulkJob, JobState, Operation


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        """The time now."""
        return self.now


def job(state: JobState, job_id: str = "750A") -> BulkJob:
    """A job in `state`, as a poll returns it."""
    return BulkJob(job_id, Operation.UPSERT, "Account", state, number_records_processed=7)


def observed(registry: CollectorRegistry, phase: str) -> tuple[float, float]:
    """(count, sum) of one phase's histogram."""
    count = registry.get_sample_value("t_seconds_count", {"phase": phase}) or 0.0
    total = registry.get_sample_value("t_seconds_sum", {"phase": phase}) or 0.0
    return count, total


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh registry per test."""
    return CollectorRegistry()


def test_each_phase_is_observed_once_with_its_length(registry, caplog) -> None:
    """Upload until the first poll, queue until it leaves UploadComplete, then processing."""
    clock = Clock()
    phases = JobPhases(Histogram("t_seconds", "t", ["phase"], registry=registry), clock)
    clock.now += 2.0
    phases.note(job(JobState.UPLOAD_COMPLETE))
    clock.now += 3.0
    phases.note(job(JobState.UPLOAD_COMPLETE))
    clock.now += 1.0
    phases.note(job(JobState.IN_PROGRESS))
    clock.now += 4.0
    with caplog.at_level(logging.INFO, logger="connector.jobphases"):
        phases.note(job(JobState.JOB_COMPLETE))
        phases.note(job(JobState.JOB_COMPLETE))
    assert observed(registry, "upload") == (1.0, 2.0)
    assert observed(registry, "queue") == (1.0, 4.0)
    assert observed(registry, "processing") == (1.0, 4.0)
    assert len(caplog.messages) == 1
    assert "750A" in caplog.messages[0]
    assert "7 processed" in caplog.messages[0]
    assert "processing 4.00s" in caplog.messages[0]


def test_a_job_done_before_its_first_poll_has_no_queue_or_processing_time(registry) -> None:
    """A job already complete at its first poll: all its time counts as upload."""
    clock = Clock()
    phases = JobPhases(Histogram("t_seconds", "t", ["phase"], registry=registry), clock)
    clock.now += 1.5
    phases.note(job(JobState.JOB_COMPLETE))
    assert observed(registry, "upload") == (1.0, 1.5)
    assert observed(registry, "queue") == (1.0, 0.0)
    assert observed(registry, "processing") == (1.0, 0.0)


def test_jobs_of_one_call_are_timed_apart(registry) -> None:
    """A call split into two jobs: one upload, each job's queue and processing."""
    clock = Clock()
    phases = JobPhases(Histogram("t_seconds", "t", ["phase"], registry=registry), clock)
    clock.now += 1.0
    phases.note(job(JobState.IN_PROGRESS, "750A"))
    clock.now += 1.0
    phases.note(job(JobState.JOB_COMPLETE, "750A"))
    phases.note(job(JobState.UPLOAD_COMPLETE, "750B"))
    clock.now += 2.0
    phases.note(job(JobState.FAILED, "750B"))
    assert observed(registry, "upload") == (1.0, 1.0)
    assert observed(registry, "queue") == (2.0, 2.0)
    assert observed(registry, "processing") == (2.0, 1.0)
