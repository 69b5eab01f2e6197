"""Composite (`POST /composite`): up to 25 subrequests in one API call, at most 5 of them queries.

The emulator runs query and queryAll subrequests (first pages and nextRecordsUrl pages),
which is what a client batching its lookups needs; any other subrequest is answered
with an error naming that limit of the emulator, never silently. The top-level answer
is 200 with one result per subrequest, in order, each with its own status and body.
With allOrNone, once a subrequest fails the others answer PROCESSING_HALTED.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

from starlette.responses import Response

from emulator import rest_query
from emulator.http import Call, api_error, sf_json

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
BAD_REQUEST = 400
_QUERY_URL = re.compile(
    r"^/services/data/v(?P<version>\d+\.\d)/(?:query|queryAll)(?:/(?P<locator>[^/]+))?/?$"
)
_HALTED = (
    "PROCESSING_HALTED",
    "The transaction was rolled back since another operation in the same transaction failed.",
)


def composite(call: Call) -> Response:
    """POST /composite: every subrequest's result, in request order."""
    try:
        body = call.json()
    except ValueError:
        return api_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        return api_error(400, "INVALID_INPUT", "compositeRequest must be a non-empty list")
    if len(subrequests) > MAX_SUBREQUESTS:
        return api_error(
            400, "INVALID_INPUT", f"A composite request has at most {MAX_SUBREQUESTS} subrequests"
        )
    if sum(1 for s in subrequests if _query_url(s)) > MAX_QUERIES:
        return api_error(
            400, "INVALID_INPUT", f"A composite request has at most {MAX_QUERIES} query subrequests"
        )
    answers = [_run(call, sub) for sub in subrequests]
    if body.get("allOrNone") and any(status >= BAD_REQUEST for status, _ in answers):
        answers = [a if a[0] >= BAD_REQUEST else (BAD_REQUEST, _error(*_HALTED)) for a in answers]
    return sf_json(
        {
            "compositeResponse": [
                {
                    "body": answer,
                    "httpHeaders": {},
                    "httpStatusCode": status,
                    "referenceId": sub.get("referenceId") if isinstance(sub, dict) else None,
                }
                for sub, (status, answer) in zip(subrequests, answers, strict=True)
            ]
        }
    )


def _query_url(sub: object) -> re.Match[str] | None:
    """The query URL's parts, if `sub` is a query or queryAll subrequest."""
    if not isinstance(sub, dict):
        return None
    return _QUERY_URL.match(urlsplit(str(sub.get("url", ""))).path)


def _error(code: str, message: str) -> list[dict[str, str]]:
    return [{"errorCode": code, "message": message}]


def _run(call: Call, sub: object) -> tuple[int, object]:
    """One subrequest: its status and body."""
    if not isinstance(sub, dict) or not sub.get("referenceId") or not sub.get("url"):
        return 400, _error("INVALID_INPUT", "each subrequest needs method, url and referenceId")
    found = _query_url(sub)
    if sub.get("method") != "GET" or found is None:
        return 400, _error(
            "EMULATOR_UNSUPPORTED", "the emulator runs only GET query and queryAll subrequests"
        )
    url = urlsplit(str(sub["url"]))
    if found["version"] != call.version:
        return 400, _error("INVALID_INPUT", "subrequests must use the request's API version")
    headers = sub.get("httpHeaders") or {}
    inner = Call(
        org=call.org,
        method="GET",
        path=url.path,
        version=call.version,
        params={"locator": found["locator"]} if found["locator"] else {},
        query=dict(parse_qsl(url.query, keep_blank_values=True)),
        headers={str(k).lower(): str(v) for k, v in dict(headers).items()},
        body=b"",
        base_url=call.base_url,
    )
    handler = rest_query.next_page if found["locator"] else rest_query.first_page
    response = handler(inner)
    return response.status_code, json.loads(bytes(response.body))
