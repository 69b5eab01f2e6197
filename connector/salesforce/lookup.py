"""External id → Id lookups: keys packed into SOQL IN lists, each run the cheaper way.

Two ways to run a list, counted in API calls:
- REST (`GET query?q=`): one call per page of up to 2,000 records, answered at once,
  but the whole statement travels in the URI. Salesforce: "In each REST call, the
  maximum length for the combined URI and headers is 16,384 bytes ... If the URI
  itself exceeds this limit, the request returns a 414 URI Too Long error" (Salesforce
  Help, knowledge article 000386264, "Maximum number of rows returned by SOQL queries
  over the REST API"). The URI here stays under that limit less an allowance for our
  headers (a bearer token, a few standard ones). A list that fits has fewer than 2,000
  keys (each takes at least 9 bytes of URI: `%27%27%2C`): one page answers it.
- Bulk query: a create, at least one poll, at least one result page (3+ calls and a
  wait), but statements of up to 100,000 characters (lists of BULK_CHARS).

Keys are cut into Bulk-sized lists; each list runs as a Bulk query, unless the REST
lists its keys make cost no more calls (a tie goes to REST: nothing to wait for).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote_plus

from connector.errors import InvalidRequestError
from connector.salesforce.query import BulkQueryResult

MAX_URI_BYTES = 16_384
HEADER_ALLOWANCE = 2_048
# Characters per Bulk statement, under Salesforce's 100,000-character SOQL limit.
BULK_CHARS = 90_000
# A Bulk query's fewest calls: create, one poll, one result page.
BULK_CALLS = 3
# What a URI (or URI and headers) too long gets: an org whose limit is lower than
# documented; the statement then runs as a Bulk query.
URI_REFUSED = frozenset({414, 431})


class Queries(Protocol):
    """The two ways to run SOQL (BulkClient has both)."""

    def rest_query(self, soql: str) -> Iterator[Mapping[str, object]]:
        """Records of a REST query, every page."""

    def query(self, soql: str) -> BulkQueryResult:
        """A Bulk query's result."""


@dataclass(frozen=True, slots=True)
class LookupPlan:
    """The statements of one lookup: those to send over REST, and those as Bulk queries."""

    rest: tuple[str, ...]
    bulk: tuple[str, ...]


def rest_uri(api_version: str, soql: str) -> str:
    """The path and query string of a REST query, as sent."""
    return f"/services/data/v{api_version}/query?q={quote_plus(soql)}"


def plan(sobject: str, field: str, keys: list[str], *, api_version: str) -> LookupPlan:
    """The statements that find every key's record in the fewest calls (see the module doc)."""
    head = f"SELECT Id, {field} FROM {sobject} WHERE {field} IN ("  # noqa: S608 - SOQL; values escaped, names checked by describe
    uri_budget = MAX_URI_BYTES - HEADER_ALLOWANCE - len(rest_uri(api_version, head + ")"))
    literals = [soql_string(key) for key in keys]
    rest: list[str] = []
    bulk: list[str] = []
    for chunk in pack(literals, BULK_CHARS - len(head) - 1, len, 1):
        pieces = list(pack(chunk, uri_budget, _encoded, _encoded(",")))
        if len(pieces) <= BULK_CALLS:
            rest += [f"{head}{','.join(p)})" for p in pieces]
        else:
            bulk.append(f"{head}{','.join(chunk)})")
    return LookupPlan(tuple(rest), tuple(bulk))


def find_ids(
    queries: Queries, sobject: str, field: str, keys: list[str], *, api_version: str
) -> dict[str, str]:
    """External id → Id, for the keys that have a record, in the fewest calls."""
    chosen = plan(sobject, field, keys, api_version=api_version)
    found: dict[str, str] = {}
    for soql in chosen.rest:
        try:
            records: Iterable[Mapping[str, object]] = list(queries.rest_query(soql))
        except InvalidRequestError as exc:
            if exc.status not in URI_REFUSED:
                raise
            records = queries.query(soql).records
        found.update((str(r[field]), str(r["Id"])) for r in records)
    for soql in chosen.bulk:
        found.update((r[field], r["Id"]) for r in queries.query(soql).records)
    return found


def pack(
    literals: list[str], budget: int, size: Callable[[str], int], comma: int
) -> Iterator[list[str]]:
    """Literals in order, in lists whose `size` with commas stays within `budget`.

    A literal longer than the budget is not dropped: it goes alone (Salesforce says if
    it is too long).
    """
    chunk: list[str] = []
    used = 0
    for literal in literals:
        cost = size(literal)
        if chunk and used + comma + cost > budget:
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
    return len(quote_plus(text))
