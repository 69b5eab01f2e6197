"""REST SOQL: /query and /queryAll, paged by nextRecordsUrl.

A cursor keeps only the query text and how far it got; each page re-runs the query and
skips to its offset, so an abandoned cursor costs nothing and a large result is never
held. Pages hold 2,000 records unless Sforce-Query-Options asks for 200 to 2,000.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from starlette.responses import Response

from emulator import soql
from emulator.http import Call, api_error, sf_json

PAGE = 2000
_MIN_PAGE = 200


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a query left off."""

    text: str
    include_deleted: bool
    page: int


def _page_size(call: Call) -> int:
    options = call.headers.get("sforce-query-options", "")
    for option in options.split(","):
        name, _, value = option.strip().partition("=")
        if name == "batchSize" and value.isdigit():
            return min(max(int(value), _MIN_PAGE), PAGE)
    return PAGE


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _page(call: Call, cursor: Cursor, offset: int) -> Response:
    limit = call.org.faults.current.max_where_chars
    if limit is not None and len(cursor.text.upper().partition(" WHERE ")[2]) > limit:
        return api_error(
            400, "MALFORMED_QUERY", f"WHERE clause too long: at most {limit} characters"
        )
    try:
        query = soql.parse(cursor.text, call.org.schema.field_types)
    except soql.SoqlError as exc:
        return api_error(400, exc.error_code, exc.message)
    obj = call.org.schema.objects[query.sobject]

    def rows() -> Iterator[dict[str, object]]:
        return call.org.store.python_rows(
            obj, include_deleted=cursor.include_deleted, narrow=query.narrow
        )

    total = query.count(rows())
    if query.is_count:
        return sf_json({"totalSize": total, "done": True, "records": []})
    found = query.run(rows())
    page = list(itertools.islice(found, offset, offset + cursor.page))
    base = f"/services/data/v{call.version}/sobjects/{obj.name}/"
    records = [
        {
            "attributes": {"type": obj.name, "url": base + str(r.get("Id", ""))},
            **{name: _json_value(r.get(name)) for name in query.fields},
        }
        for r in page
    ]
    done = offset + len(page) >= total
    body: dict[str, object] = {"totalSize": total, "done": done, "records": records}
    if not done:
        cursor_id = "01g" + secrets.token_hex(6)
        with call.org.cursor_lock:
            call.org.cursors[cursor_id] = cursor
        kind = "queryAll" if cursor.include_deleted else "query"
        body["nextRecordsUrl"] = (
            f"/services/data/v{call.version}/{kind}/{cursor_id}-{offset + len(page)}"
        )
    return sf_json(body)


def first_page(call: Call) -> Response:
    """GET /query?q=... or /queryAll?q=..."""
    text = call.query.get("q")
    if not text:
        return api_error(400, "MALFORMED_QUERY", "A query string must be provided")
    include_deleted = "/queryAll" in call.path
    return _page(call, Cursor(text, include_deleted, _page_size(call)), 0)


def next_page(call: Call) -> Response:
    """GET /query/{cursor}-{offset}."""
    cursor_id, _, offset = call.params["locator"].rpartition("-")
    with call.org.cursor_lock:
        cursor = call.org.cursors.get(cursor_id)
    if not isinstance(cursor, Cursor) or not offset.isdigit():
        return api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(call, cursor, int(offset))
