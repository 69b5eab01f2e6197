"""Delete lookups: keys packed into as few SOQL IN lists as the statement limit allows."""

from __future__ import annotations

from connector.flush import _in_lists


def test_lists_stay_within_the_budget_and_keep_every_key_in_order() -> None:
    """Every key once, in order, in lists no longer than the budget, each one full."""
    keys = [f"key-{n:05d}" for n in range(10_000)]
    lists = list(_in_lists(keys, 1_000))
    assert all(len(values) <= 1_000 for values in lists)
    assert [v.strip("'") for values in lists for v in values.split(",")] == keys
    # Full lists: the next key would not have fitted (12 characters with its comma).
    assert all(len(values) + 12 > 1_000 for values in lists[:-1])


def test_quotes_and_backslashes_are_escaped() -> None:
    """SOQL string literals escape quotes and backslashes."""
    assert list(_in_lists(["O'Brien", "a\\b"], 100)) == ["'O\\'Brien','a\\\\b'"]


def test_a_key_longer_than_the_budget_still_gets_its_own_list() -> None:
    """An oversized key is not dropped: it goes alone (Salesforce will say if it is too long)."""
    assert list(_in_lists(["x" * 50, "y"], 10)) == [f"'{'x' * 50}'", "'y'"]
