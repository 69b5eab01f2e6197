"""Salesforce's limit on the request line and headers: 414 and 431 before any routing.

Salesforce Help, knowledge article 000386264: "In each REST call, the maximum length for
the combined URI and headers is 16,384 bytes. A request exceeding this limit returns a
431 Request Header Fields Too Large error. If the URI itself exceeds this limit, the
request returns a 414 URI Too Long error." The statuses are documented; the body is not
(a front door answers, not the API): a short text here. Such a request never reaches
the API, so it is not counted as an API call.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_BYTES = 16_384


def request_target(scope: Scope) -> bytes:
    """The URI as sent on the request line: raw path, then `?` and the raw query."""
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return path + b"?" + query if query else path


def header_bytes(scope: Scope) -> int:
    """The headers' size as sent: `name: value` and CRLF each."""
    return sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))


class UriLimit:
    """ASGI middleware answering 414 or 431 the way Salesforce's front door does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an HTTP request whose URI, or URI and headers, is over the limit."""
        if scope["type"] == "http":
            uri = len(request_target(scope))
            if uri > MAX_BYTES:
                await PlainTextResponse("URI Too Long", 414)(scope, receive, send)
                return
            if uri + header_bytes(scope) > MAX_BYTES:
                await PlainTextResponse("Request Header Fields Too Large", 431)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)
