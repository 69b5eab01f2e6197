"""External id → Id lookups: keys packed into SOQL IN lists, five lists to an API call.

The lists run as the query subrequests of Composite calls (`POST composite`). Salesforce
(REST API Developer Guide, "Composite"): "The entire series of requests counts as a
single call toward your API limits"; a call holds up to 25 subrequests, at most 5 of
them queries. Each list:
- holds fewer than 2,000 keys, so one page (2,000 records) answers it when the
  external id is unique (further pages, if any, are read by nextRecordsUrl);
- makes a query URI within Salesforce's REST limit, less an allowance for headers:
  "In each REST call, the maximum length for the combined URI and headers is 16,384
  bytes" (Salesforce Help, knowledge article 000386264). Whether a subrequest's url is
  held to that limit is not documented; staying within it never fails.

So a call looks up about 5,000 twelve-character keys. A Bulk query costs at least three
calls (create, poll, results) for a statement of up to 100,000 characters, about 7,000
such keys: never fewer calls, and a wait besides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol
from urllib.parse import quote_plus

MAX_URI_BYTES = 16_384
HEADER_ALLOWANCE = 2_048
# Query subrequests in one Composite call (Salesforce's limit).
QUERIES_PER_CALL = 5
# Keys in one list: fewer than a REST page of records.
MAX_KEYS = 1_999
# Characters a query URI keeps as they are: legal in a query string, and they make up
# much of an IN list (each key's quotes and comma), so a URI holds more keys.
URI_SAFE = "'(),"


class Queries(Protocol):
    """What runs the lists (BulkClient does)."""

    def composite_queries(self, paths: Sequence[str]) -> Sequence[Sequence[Mapping[str, object]]]:
        """The records of each REST query path, run in one Composite call."""


def rest_uri(api_version: str, soql: str) -> str:
    """The path and query string of a REST query, as sent."""
    return f"/services/data/v{api_version}/query?q={quote_plus(soql, safe=URI_SAFE)}"


def plan(sobject: str, field: str, keys: list[str], *, api_version: str) -> list[list[str]]:
    """The query URIs that find every key's record, grouped into Composite calls."""
    head = f"SELECT Id, {field} FROM {sobject} WHERE {field} IN ("  # noqa: S608 - SOQL; values escaped, names checked by describe
    budget = MAX_URI_BYTES - HEADER_ALLOWANCE - len(rest_uri(api_version, head + ")"))
    literals = [soql_string(key) for key in keys]
    uris = [
        rest_uri(api_version, f"{head}{','.join(chunk)})")
        for chunk in pack(literals, budget, _encoded, _encoded(","), most=MAX_KEYS)
    ]
    return [uris[n : n + QUERIES_PER_CALL] for n in range(0, len(uris), QUERIES_PER_CALL)]


def find_ids(
    queries: Queries, sobject: str, field: str, keys: list[str], *, api_version: str
) -> dict[str, str]:
    """External id → Id, for the keys that have a record, in the fewest calls."""
    found: dict[str, str] = {}
    for call in plan(sobject, field, keys, api_version=api_version):
        for records in queries.composite_queries(call):
            found.update((str(r[field]), str(r["Id"])) for r in records)
    return found


def pack(
    literals: list[str], budget: int, size: Callable[[str], int], comma: int, *, most: int
) -> Iterator[list[str]]:
    """Literals in order, in lists of at most `most` whose `size` with commas stays in `budget`.

    A literal longer than the budget is not dropped: it goes alone (Salesforce says if
    it is too long).
    """
    chunk: list[str] = []
    used = 0
    for literal in literals:
        cost = size(literal)
        if chunk and (used + comma + cost > budget or len(chunk) >= most):
            yield chunk
            chunk, used = [], 0
        used += cost + (comma if chunk else 0)
        chunk.append(literal)
    if chunk:
        yield chunk


def soql_string(value: str) -> str:
    """A SOQL string literal: quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _encoded(text: str) -> int:
    return len(quote_plus(text, safe=URI_SAFE))
