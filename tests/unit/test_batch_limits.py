"""A job's share of the memory bound."""

from __future__ import annotations

from connector.config import BatchingSettings
from connector.service import batch_limits


def test_a_job_holds_at_most_half_the_memory_bound() -> None:
    """The next job fills while one runs: its rows may take half the bound, no more."""
    limits = batch_limits(BatchingSettings(max_buffered_bytes=64 * 2**20, max_bytes=50 * 2**20))
    assert limits.max_bytes == 32 * 2**20
    roomy = batch_limits(BatchingSettings(max_buffered_bytes=512 * 2**20, max_bytes=50 * 2**20))
    assert roomy.max_bytes == 50 * 2**20
    assert (roomy.max_records, roomy.max_age) == (100_000, 5.0)
