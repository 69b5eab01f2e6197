"""The HTTP conventions every API endpoint shares: errors, JSON, auth, limits and faults.

`api(endpoint_class)` wraps a plain function `handler(call) -> Response` and does what
Salesforce does before and after every API call, in this order: count the call, inject
a configured fault, check the session (401 INVALID_SESSION_ID), check the daily cap
(403 REQUEST_LIMIT_EXCEEDED), run the handler in a worker thread (SQLite blocks), and
add Sforce-Limit-Info to the answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from emulator.org import API_VERSIONS, Org

JSON_TYPE = "application/json;charset=UTF-8"
CSV_TYPE = "text/csv"
_UNKNOWN = (
    "An unexpected error occurred. Please include this ErrorId if you contact support: "
    "1234567890-12345 (-1234567890)"
)
_FAULT_BODIES = {
    500: ("UNKNOWN_EXCEPTION", _UNKNOWN),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable"),
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests"),
}


@dataclass(frozen=True, slots=True)
class Call:
    """One API request, as a handler sees it."""

    org: Org
    method: str
    path: str
    version: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str

    def json(self) -> object:
        """The body parsed as JSON; raises ValueError when it is not."""
        return json.loads(self.body or b"null")


def sf_json(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer with Salesforce's content type."""
    return Response(
        json.dumps(body), status, headers={**(headers or {}), "Content-Type": JSON_TYPE}
    )


def api_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """Salesforce's error body: always an array of {errorCode, message[, fields]}."""
    item: dict[str, object] = {"errorCode": code, "message": message}
    if fields is not None:
        item["fields"] = fields
    return sf_json([item], status)


def not_found() -> Response:
    """The 404 for an unknown job, record or resource."""
    return api_error(404, "NOT_FOUND", "The requested resource does not exist")


def session_error() -> Response:
    """The 401 for a missing, bad or expired token, as recorded from a real org."""
    response = sf_json(
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
    )
    response.headers["WWW-Authenticate"] = "Token"
    return response


def limit_error() -> Response:
    """The 403 once the daily API request cap is reached."""
    return sf_json(
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}], 403
    )


def fault_error(status: int) -> Response:
    """The answer to an injected HTTP fault."""
    code, message = _FAULT_BODIES.get(status, ("UNKNOWN_EXCEPTION", "Injected fault"))
    return api_error(status, code, message)


def _token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() in {"bearer", "oauth"} else ""


Handler = Callable[[Call], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


async def guard(request: Request, org: Org, endpoint_class: str) -> Response | None:
    """The checks before any API handler; a Response means: answer with this."""
    org.limits.count_call(endpoint_class)
    status = org.faults.http_error(endpoint_class)
    if status is not None:
        return fault_error(status)
    if not org.sessions.valid(_token(request)):
        return session_error()
    if not org.limits.take_api_request():
        return limit_error()
    version = request.path_params.get("version")
    if version is not None and version not in API_VERSIONS:
        return not_found()
    return None


def api(endpoint_class: str, handler: Handler) -> Endpoint:
    """A Starlette endpoint running `handler` behind the shared checks."""

    async def endpoint(request: Request) -> Response:
        org: Org = request.app.state.org
        refused = await guard(request, org, endpoint_class)
        if refused is not None:
            return with_limit_info(refused, org)
        call = Call(
            org=org,
            method=request.method,
            path=request.url.path,
            version=str(request.path_params.get("version", "")),
            params={k: str(v) for k, v in request.path_params.items()},
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=await request.body(),
            base_url=str(request.base_url).rstrip("/"),
        )
        return with_limit_info(await run_in_threadpool(handler, call), org)

    return endpoint


def with_limit_info(response: Response, org: Org) -> Response:
    """Add Sforce-Limit-Info, which Salesforce puts on every API response."""
    response.headers["Sforce-Limit-Info"] = org.limits.header()
    return response
