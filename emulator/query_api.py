"""Bulk API 2.0 query jobs: create, info, abort, delete, list, and paged results.

Pages are byte ranges of the job's result file, each sent with the header row again,
streamed in 1 MiB pieces. Sforce-Locator is `null` on the last page and
Sforce-NumberOfRecords is on every page. Without maxRecords a page holds up to
100,000 rows (Salesforce picks its own default; this one keeps pages a few MB).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from starlette.concurrency import iterate_in_threadpool
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from emulator import results_api, soql
from emulator.http import Call, Handler, api, api_error, not_found, sf_json
from emulator.jobs import DELIMITERS, LINE_ENDINGS, TERMINAL, Job, State, created_info, full_info
from emulator.query_worker import decode_locator, encode_locator, index_path

DEFAULT_PAGE = 100_000
_PIECE = 1 << 20
_OPERATIONS = ("query", "queryAll")


def _refuse(message: str) -> Response:
    return api_error(400, "INVALIDJOB", f"Failed to process query: {message}")


def _check_body(call: Call) -> dict[str, object] | Response:
    try:
        body = call.json()
    except ValueError:
        return api_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
    if not isinstance(body, dict) or body.get("operation") not in _OPERATIONS:
        shown = body.get("operation") if isinstance(body, dict) else ""
        return _invalid("operation", shown)
    allowed = {"columnDelimiter": DELIMITERS, "lineEnding": LINE_ENDINGS, "contentType": {"CSV"}}
    for name, values in allowed.items():
        if name in body and body[name] not in values:
            return _invalid(name, body[name])
    return body


def _invalid(name: str, value: object) -> Response:
    shown = value or ""
    return api_error(400, "API_ERROR", f"Invalid value: '{shown}' supplied for property: '{name}'")


def _parse(call: Call, text: str) -> soql.Query | Response:
    try:
        query = soql.parse(text, call.org.schema.field_types)
    except soql.SoqlError as exc:
        return _refuse(f"{exc.error_code}: {exc.message}")
    if query.is_count:
        return _refuse("Aggregate queries are not supported by Bulk API 2.0")
    if query.offset is not None:
        return _refuse("OFFSET is not supported by Bulk API 2.0")
    return query


def create(call: Call) -> Response:
    """POST /jobs/query: checks the SOQL now, so a bad query fails the create (400)."""
    body = _check_body(call)
    if isinstance(body, Response):
        return body
    query = _parse(call, str(body.get("query") or ""))
    if isinstance(query, Response):
        return query
    if not call.org.limits.take_query_job():
        return api_error(400, "EXCEEDEDQUOTA", "ExceededQuota : daily Bulk query job limit reached")
    job = call.org.jobs.create("query", query.sobject, str(body["operation"]), call.version)
    job.query = str(body["query"])
    job.column_delimiter = str(body.get("columnDelimiter") or "COMMA")
    job.line_ending = str(body.get("lineEnding") or "LF")
    with call.org.jobs.lock:
        job.move(State.UPLOAD_COMPLETE)
    call.org.worker.submit(job)
    return sf_json(created_info(job))


def _job(call: Call) -> Job | None:
    return call.org.jobs.get(call.params["job_id"], "query")


def job(call: Call) -> Response:
    """GET (info), PATCH (abort) or DELETE /jobs/query/{id}."""
    found = _job(call)
    if found is None:
        return not_found()
    with call.org.jobs.lock:
        if call.method == "GET":
            return sf_json(full_info(found))
        if call.method == "DELETE":
            if found.state not in TERMINAL:
                return api_error(
                    400,
                    "API_ERROR",
                    "Error encountered when deleting the job because the job is not terminated",
                )
            call.org.jobs.delete(found)
            return Response(status_code=204)
        return _abort(call, found)


def _abort(call: Call, found: Job) -> Response:
    body = call.json() if call.body else {}
    if not isinstance(body, dict) or body.get("state") != State.ABORTED:
        return api_error(
            400, "INVALIDJOBSTATE", "Only a state of Aborted can be set on a query job"
        )
    if found.state in TERMINAL:
        said = "Completed" if found.state == State.JOB_COMPLETE else str(found.state)
        return api_error(400, "INVALIDJOBSTATE", f"Aborting already {said} Job not allowed")
    found.move(State.ABORTED)
    return sf_json(full_info(found))


def _row_offsets(job: Job, first: int, count: int) -> tuple[int, int | None, int]:
    """Byte offset of row `first`, of the row after the page (None: end), and total rows."""
    index = index_path(job)
    total = index.stat().st_size // 8
    with index.open("rb") as rows:
        rows.seek(first * 8)
        start = int.from_bytes(rows.read(8), "little") if first < total else -1
        after = first + count
        rows.seek(after * 8)
        end = int.from_bytes(rows.read(8), "little") if after < total else None
    return start, end, total


def _stream(path: Path, header_end: int, start: int, end: int | None) -> Iterator[bytes]:
    with path.open("rb") as data:
        yield data.read(header_end)
        if start < 0:
            return
        data.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            piece = data.read(_PIECE if left is None else min(_PIECE, left))
            if not piece:
                return
            left = None if left is None else left - len(piece)
            yield piece


def results(call: Call) -> Response:
    """GET /jobs/query/{id}/results?locator=&maxRecords=."""
    found = _job(call)
    if found is None:
        return not_found()
    if found.state != State.JOB_COMPLETE:
        return api_error(
            400, "INVALIDJOBSTATE", f"Results are not available for a {found.state} Job"
        )
    if call.version != found.api_version:
        return api_error(
            409, "API_VERSION_MISMATCH", "Results must be read with the job's API version"
        )
    first = decode_locator(call.query["locator"]) if call.query.get("locator") else 0
    size = call.query.get("maxRecords", str(DEFAULT_PAGE))
    if first is None or not size.isdigit() or int(size) < 1:
        return api_error(400, "INVALIDLOCATOR", "Invalid locator or maxRecords")
    start, end, total = _row_offsets(found, first, int(size))
    count = max(0, min(int(size), total - first))
    path = found.result_path("query")
    with path.open("rb") as data:
        header_end = len(data.readline())
    headers = {
        "Sforce-Locator": "null" if end is None else encode_locator(first + int(size)),
        "Sforce-NumberOfRecords": str(count),
    }
    stream = iterate_in_threadpool(_stream(path, header_end, start, end))
    return StreamingResponse(stream, headers=headers, media_type="text/csv")


def _since_v47(handler: Handler) -> Handler:
    """Bulk API 2.0 query arrived in v47.0; earlier versions have no such resource."""

    def checked(call: Call) -> Response:
        if float(call.version) < 47.0:  # noqa: PLR2004 - the version query jobs arrived in
            return not_found()
        return handler(call)

    return checked


def routes(prefix: str) -> list[Route]:
    """The query job routes (with trailing-slash twins)."""
    table = [
        (
            "/jobs/query",
            lambda c: (
                create(c) if c.method == "POST" else results_api.listing(c, "query", "V2Query")
            ),
            ["GET", "POST"],
        ),
        ("/jobs/query/{job_id}", job, ["GET", "PATCH", "DELETE"]),
        ("/jobs/query/{job_id}/results", results, ["GET"]),
    ]
    out: list[Route] = []
    for path, handler, methods in table:
        endpoint = api("bulk_query", _since_v47(handler))
        out += [
            Route(prefix + path, endpoint, methods=methods),
            Route(prefix + path + "/", endpoint, methods=methods),
        ]
    return out
