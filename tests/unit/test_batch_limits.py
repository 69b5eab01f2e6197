"""A job's share of the memory bound."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from connector.config import BatchingSettings
from connector.service import batch_limits


def test_a_job_holds_at_most_seven_tenths_of_the_memory_bound() -> None:
    """The next job fills while one runs: its rows may take 0.7 of the bound, no more."""
    limits = batch_limits(BatchingSettings(max_buffered_bytes=64 * 2**20, max_bytes=50 * 2**20))
    assert limits.max_bytes == int(64 * 2**20 * 0.7)
    roomy = batch_limits(BatchingSettings(max_buffered_bytes=512 * 2**20, max_bytes=50 * 2**20))
    assert roomy.max_bytes == 50 * 2**20
    assert (roomy.max_records, roomy.max_age) == (100_000, 5.0)


def test_backlog_max_age_defaults_to_30_s_or_max_age_and_is_never_shorter() -> None:
    """A backlog's batches wait at least as long as live ones; 30 s unless max age is longer."""
    assert batch_limits(BatchingSettings()).backlog_max_age == 30.0
    assert batch_limits(BatchingSettings(max_age_seconds=45)).backlog_max_age == 45.0
    assert batch_limits(BatchingSettings(backlog_max_age_seconds=90)).backlog_max_age == 90.0
    with pytest.raises(ValidationError, match=r"backlog_max_age_seconds \(2\) is less than"):
        BatchingSettings(max_age_seconds=5, backlog_max_age_seconds=2)
