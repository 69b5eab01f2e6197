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

So a call looks up about 4,700 twelve-character keys. A Bulk query costs at least three
calls (create, poll, results) for a statement of up to 100,000 characters, about 7,000
such keys: never fewer calls, and a wait besides.

One limit is worded ambiguously: "Strings in WHERE clauses can't exceed 4,000
characters" (SOQL and SOSL Reference, "WHERE"; the limits cheat sheet says "for each
string within a WHERE clause"), and some of Salesforce's own tools keep a whole IN list
under 4,000 characters. A lookup refused as a malformed or too complicated query is
therefore tried again in lists of at most SHORT_WHERE_CHARS (BulkClient.find_ids), and
if that works the client keeps to them.
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
# Lists for an org that holds a whole WHERE clause to 4,000 characters (see above).
SHORT_WHERE_CHARS = 4_000
# What such an org could answer a longer list with.
LONG_LIST_REFUSED = frozenset({"MALFORMED_QUERY", "QUERY_TOO_COMPLICATED"})


class Queries(Protocol):
    """What runs the lists (BulkClient does)."""

    def composite_queries(self, paths: Sequence[str]) -> Sequence[Sequence[Mapping[str, object]]]:
        """The records of each REST query path, run in one Composite call."""


def rest_uri(api_version: str, soql: str) -> str:
    """The path and query string of a REST query, as sent."""
    return f"/services/data/v{api_version}/query?q={quote_plus(soql, safe=URI_SAFE)}"


def plan(
    sobject: str, field: str, keys: list[str], *, api_version: str, where_chars: int | None = None
) -> list[list[str]]:
    """The query URIs that find every key's record, grouped into Composite calls.

    `where_chars` also holds each WHERE clause to that many characters.
    """
    head = f"SELECT Id, {field} FROM {sobject} WHERE {field} IN ("  # noqa: S608 - SOQL; values escaped, names checked by describe
    budget = MAX_URI_BYTES - HEADER_ALLOWANCE - len(rest_uri(api_version, head + ")"))
    literals = [soql_string(key) for key in keys]
    lists = [literals]
    if where_chars is not None:
        room = where_chars - len(f"{field} IN ()")
        lists = list(pack(literals, room, len, 1, most=MAX_KEYS))
    uris = [
        rest_uri(api_version, f"{head}{','.join(chunk)})")
        for short in lists
        for chunk in pack(short, budget, _encoded, _encoded(","), most=MAX_KEYS)
    ]
    return [uris[n : n + QUERIES_PER_CALL] for n in range(0, len(uris), QUERIES_PER_CALL)]


def find_ids(  # noqa: PLR0913 - the lookup's own terms, by keyword
    queries: Queries,
    sobject: str,
    field: str,
    keys: list[str],
    *,
    api_version: str,
    where_chars: int | None = None,
) -> dict[str, str]:
    """External id → Id, for the keys that have a record, in the fewest calls."""
    found: dict[str, str] = {}
    calls = plan(sobject, field, keys, api_version=api_version, where_chars=where_chars)
    for call in calls:
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
