"""Delete lookups: keys packed into SOQL IN lists, five lists to a Composite call."""

from __future__ import annotations

from urllib.parse import unquote_plus

from connector.salesforce.lookup import (
    HEADER_ALLOWANCE,
    MAX_KEYS,
    MAX_URI_BYTES,
    QUERIES_PER_CALL,
    pack,
    plan,
    soql_string,
)

URI_ROOM = MAX_URI_BYTES - HEADER_ALLOWANCE


def keys_of(uri: str) -> list[str]:
    """The keys of an IN list query URI, unquoted."""
    values = unquote_plus(uri.split("?q=", 1)[1]).split(" IN (", 1)[1].rstrip(")")
    return [v.strip("'") for v in values.split(",")]


def uris(calls: list[list[str]]) -> list[str]:
    """Every query URI of a plan, in order."""
    return [uri for call in calls for uri in call]


def test_lists_stay_within_the_budget_and_keep_every_literal_in_order() -> None:
    """Every literal once, in order, in lists no longer than the budget, each one full."""
    literals = [soql_string(f"key-{n:05d}") for n in range(10_000)]
    lists = list(pack(literals, 1_000, len, 1, most=10_000))
    assert all(len(",".join(chunk)) <= 1_000 for chunk in lists)
    assert [v for chunk in lists for v in chunk] == literals
    # Full lists: the next literal would not have fitted (12 characters with its comma).
    assert all(len(",".join(chunk)) + 12 > 1_000 for chunk in lists[:-1])


def test_lists_hold_at_most_the_given_number_of_literals() -> None:
    """A count cap cuts lists however much budget is left."""
    lists = list(pack([str(n) for n in range(25)], 10_000, len, 1, most=10))
    assert [len(chunk) for chunk in lists] == [10, 10, 5]


def test_quotes_and_backslashes_are_escaped() -> None:
    """SOQL string literals escape quotes and backslashes."""
    assert [soql_string(k) for k in ["O'Brien", "a\\b"]] == ["'O\\'Brien'", "'a\\\\b'"]


def test_a_key_longer_than_the_budget_still_gets_its_own_list() -> None:
    """An oversized literal is not dropped: it goes alone (Salesforce will say if too long)."""
    assert list(pack(["x" * 50, "y"], 10, len, 1, most=100)) == [["x" * 50], ["y"]]


def test_a_300_key_lookup_is_one_query_in_one_call_within_the_uri_limit() -> None:
    """300 uuid-sized keys fit one URI: one call of one query."""
    keys = [f"{n:08d}-aaaa-bbbb-cccc-dddddddddddd" for n in range(300)]
    calls = plan("Account", "ExternalKey__c", keys, api_version="62.0")
    assert len(calls) == 1
    [[uri]] = calls
    assert keys_of(uri) == keys
    assert len(uri) <= URI_ROOM
    assert uri.startswith("/services/data/v62.0/query?q=SELECT+Id")


def test_every_uri_stays_under_the_limit_however_keys_encode() -> None:
    """Keys full of characters that percent-encode (quotes, spaces, accents) still fit."""
    keys = [f"é clé n°{n} O'x & y" for n in range(500)]
    every = uris(plan("Account", "ExternalKey__c", keys, api_version="62.0"))
    assert len(every) > 1
    assert all(len(uri) <= URI_ROOM for uri in every)
    assert [k.replace("\\'", "'") for uri in every for k in keys_of(uri)] == keys


def test_quotes_and_commas_of_the_in_list_travel_unencoded() -> None:
    """Each key costs its own length and three characters, not nine more for %27 and %2C."""
    [[uri]] = plan("A", "K", ["k1", "k2"], api_version="62.0")
    assert uri.endswith("IN+('k1','k2')")


def test_a_big_lookup_takes_five_full_lists_a_call() -> None:
    """20,000 keys of 8 characters: full URIs, five to a call, every key in order."""
    keys = [f"k{n:07d}" for n in range(20_000)]
    calls = plan("Account", "ExternalKey__c", keys, api_version="62.0")
    assert all(len(call) == QUERIES_PER_CALL for call in calls[:-1])
    assert all(len(uri) <= URI_ROOM for uri in uris(calls))
    assert [k for uri in uris(calls) for k in keys_of(uri)] == keys
    # About 1,290 keys a URI (11 characters each with its comma): 16 URIs, 4 calls.
    assert len(calls) == 4


def test_a_list_never_holds_a_page_or_more_of_keys() -> None:
    """Even the shortest keys stop at 1,999 a list: one page of 2,000 answers each query."""
    keys = ["", *(str(n) for n in range(9))] * 400
    every = uris(plan("A", "K", keys, api_version="62.0"))
    assert all(len(keys_of(uri)) <= MAX_KEYS for uri in every)
    assert len(keys_of(every[0])) == MAX_KEYS


def test_short_lists_hold_each_where_clause_to_the_given_length() -> None:
    """For an org that holds a whole WHERE clause to 4,000 characters: more, shorter lists."""
    keys = [f"k{n:07d}" for n in range(20_000)]
    short = uris(plan("Account", "ExternalKey__c", keys, api_version="62.0", where_chars=4_000))
    wheres = [unquote_plus(uri).partition(" WHERE ")[2] for uri in short]
    assert all(len(where) <= 4_000 for where in wheres)
    assert all(len(where) > 3_980 for where in wheres[:-1])
    assert [k for uri in short for k in keys_of(uri)] == keys
    assert len(short) > len(uris(plan("Account", "ExternalKey__c", keys, api_version="62.0")))
