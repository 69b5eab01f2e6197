"""The quota governor's verdicts from its readings."""

from __future__ import annotations

from connector.budget import Budget
from connector.salesforce import ApiUsage


def test_no_reading_and_plenty_left_both_let_jobs_start() -> None:
    """Nothing known yet is no reason to hold; 50% left with a 10% reserve neither."""
    budget = Budget(0.1)
    assert budget.hold_reason() is None
    budget.observe_api(ApiUsage(used=50_000, max=100_000))
    budget.observe_bulk_batches(remaining=7_500, cap=15_000)
    assert budget.hold_reason() is None


def test_api_requests_within_the_reserve_hold_jobs_until_room_returns() -> None:
    """At 90% used of the API cap with a 10% reserve, jobs wait; when usage falls, they go."""
    budget = Budget(0.1)
    budget.observe_api(ApiUsage(used=90_000, max=100_000))
    reason = budget.hold_reason()
    assert reason == (
        "daily API requests at 90000/100000: within the 10% reserve left to other integrations"
    )
    budget.observe_api(ApiUsage(used=89_000, max=100_000))
    assert budget.hold_reason() is None


def test_bulk_batches_within_the_reserve_hold_jobs() -> None:
    """1,000 of 15,000 batches left is inside a 10% reserve (1,500)."""
    budget = Budget(0.1)
    budget.observe_bulk_batches(remaining=1_000, cap=15_000)
    assert budget.hold_reason() == (
        "daily Bulk batches at 14000/15000: within the 10% reserve left to other integrations"
    )


def test_a_zero_reserve_holds_only_at_exhaustion() -> None:
    """A zero reserve spends to the last batch, and stops there rather than fail every job."""
    budget = Budget(0.0)
    budget.observe_bulk_batches(remaining=1, cap=15_000)
    assert budget.hold_reason() is None
    budget.observe_bulk_batches(remaining=0, cap=15_000)
    assert budget.hold_reason() is not None
