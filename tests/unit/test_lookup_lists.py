"""Delete lookups: keys packed into SOQL IN lists, each run over REST or as a Bulk query."""

from __future__ import annotations

from urllib.parse import quote_plus

from connector.salesforce.lookup import (
    BULK_CHARS,
    HEADER_ALLOWANCE,
    MAX_URI_BYTES,
    pack,
    plan,
    rest_uri,
    soql_string,
)

URI_ROOM = MAX_URI_BYTES - HEADER_ALLOWANCE


def keys_of(statement: str) -> list[str]:
    """The keys of an IN list statement, unquoted."""
    values = statement.split(" IN (", 1)[1].rstrip(")")
    return [v.strip("'") for v in values.split(",")]


def test_lists_stay_within_the_budget_and_keep_every_literal_in_order() -> None:
    """Every literal once, in order, in lists no longer than the budget, each one full."""
    literals = [soql_string(f"key-{n:05d}") for n in range(10_000)]
    lists = list(pack(literals, 1_000, len, 1))
    assert all(len(",".join(chunk)) <= 1_000 for chunk in lists)
    assert [v for chunk in lists for v in chunk] == literals
    # Full lists: the next literal would not have fitted (12 characters with its comma).
    assert all(len(",".join(chunk)) + 12 > 1_000 for chunk in lists[:-1])


def test_quotes_and_backslashes_are_escaped() -> None:
    """SOQL string literals escape quotes and backslashes."""
    assert [soql_string(k) for k in ["O'Brien", "a\\b"]] == ["'O\\'Brien'", "'a\\\\b'"]


def test_a_key_longer_than_the_budget_still_gets_its_own_list() -> None:
    """An oversized literal is not dropped: it goes alone (Salesforce will say if too long)."""
    assert list(pack(["x" * 50, "y"], 10, len, 1)) == [["x" * 50], ["y"]]


def test_a_300_key_lookup_is_one_rest_call_within_the_uri_limit() -> None:
    """300 uuid-sized keys fit one URI: one REST statement, no Bulk query."""
    keys = [f"{n:08d}-aaaa-bbbb-cccc-dddddddddddd" for n in range(300)]
    chosen = plan("Account", "ExternalKey__c", keys, api_version="62.0")
    assert chosen.bulk == ()
    assert len(chosen.rest) == 1
    assert keys_of(chosen.rest[0]) == keys
    assert len(rest_uri("62.0", chosen.rest[0])) <= URI_ROOM


def test_every_rest_uri_stays_under_the_limit_however_keys_encode() -> None:
    """Keys full of characters that percent-encode (quotes, spaces, accents) still fit."""
    keys = [f"é clé n°{n} O'x & y" for n in range(500)]
    chosen = plan("Account", "ExternalKey__c", keys, api_version="62.0")
    assert chosen.rest
    assert all(len(rest_uri("62.0", s)) <= URI_ROOM for s in chosen.rest)
    assert all("IN ('é clé n°" in s for s in chosen.rest)
    found = [k for s in chosen.rest for k in keys_of(s)]
    assert len(found) == len(keys)
    assert quote_plus("'") in rest_uri("62.0", chosen.rest[0])


def test_a_tie_goes_to_rest_and_more_rest_calls_than_a_bulk_query_go_bulk() -> None:
    """Three REST calls against a Bulk query's three: REST. Four: one Bulk query."""
    keys = [f"k{n:07d}" for n in range(5_000)]
    per_uri = len(keys_of(plan("A", "K", keys[:1_000], api_version="62.0").rest[0]))
    three = plan("A", "K", keys[: 3 * per_uri], api_version="62.0")
    assert len(three.rest) == 3
    assert three.bulk == ()
    four = plan("A", "K", keys[: 3 * per_uri + 1], api_version="62.0")
    assert four.rest == ()
    assert len(four.bulk) == 1


def test_a_big_lookup_takes_full_bulk_lists_and_a_small_tail_over_rest() -> None:
    """Bulk lists hold up to 90,000 characters; a short last list goes over REST."""
    keys = [f"k{n:07d}" for n in range(18_000)]  # 11 characters each, comma included
    chosen = plan("Account", "ExternalKey__c", keys, api_version="62.0")
    assert all(len(s) <= BULK_CHARS for s in chosen.bulk)
    assert len(chosen.bulk) == 2
    assert len(chosen.rest) == 2
    assert [k for s in (*chosen.bulk, *chosen.rest) for k in keys_of(s)] == keys


def test_a_rest_list_never_holds_a_page_or_more_of_keys() -> None:
    """Even the shortest keys make URIs full before 2,000 keys: one page answers each call."""
    keys = ["", *(str(n) for n in range(9))] * 400
    chosen = plan("A", "K", keys, api_version="62.0")
    assert chosen.rest
    assert all(len(keys_of(s)) < 2_000 for s in chosen.rest)
