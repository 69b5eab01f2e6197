"""The Starlette application: every route of the emulated org in one table.

Paths are registered with and without a trailing slash (Data Loader always sends one)
instead of redirecting, because a redirected PUT or PATCH would lose its body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import admin_api, ingest_api, oauth_api, query_api, rest_api, results_api
from emulator.collections_api import collections
from emulator.composite_api import composite
from emulator.http import Call, Handler, api, api_error, guard, not_found, with_limit_info
from emulator.org import Org
from emulator.uri_limit import UriLimit
from emulator.worker import Worker

V = "/services/data/v{version}"
JOB = "/jobs/ingest/{job_id}"
QJOB = "/jobs/query/{job_id}"


def _both(path: str, endpoint: Callable[..., object], methods: list[str]) -> list[Route]:
    return [
        Route(path, endpoint, methods=methods),
        Route(path + "/", endpoint, methods=methods),
    ]


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    def handler(call: Call) -> Response:
        return handlers[call.method](call)

    return handler


async def _not_found(request: Request, exc: Exception) -> Response:
    """Unknown paths: under /services/data the session and cap are checked first."""
    del exc
    if not request.url.path.startswith("/services/data/"):
        return not_found()
    org: Org = request.app.state.org
    refused = await guard(request, org, "sobject")
    return with_limit_info(refused or not_found(), org)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    headers = exc.headers if isinstance(exc, HTTPException) else None
    allowed = (headers or {}).get("Allow", "")
    return api_error(
        405,
        "METHOD_NOT_ALLOWED",
        f"HTTP Method '{request.method}' not allowed. Allowed are {allowed.replace(', ', ',')}",
    )


def routes() -> list[Route]:
    """Every route, in matching order."""
    return [
        Route("/services/oauth2/token", oauth_api.token, methods=["POST"]),
        *_both("/services/data", oauth_api.versions, ["GET"]),
        *_both(V, oauth_api.version_root, ["GET"]),
        *_both(
            V + "/jobs/ingest",
            api(
                "ingest",
                _dispatch(
                    {
                        "POST": ingest_api.create,
                        "GET": lambda c: results_api.listing(c, "ingest", "V2Ingest"),
                    }
                ),
            ),
            ["GET", "POST"],
        ),
        *_both(
            V + JOB,
            api(
                "ingest",
                _dispatch(
                    {
                        "GET": ingest_api.info,
                        "PATCH": ingest_api.patch,
                        "DELETE": ingest_api.delete,
                    }
                ),
            ),
            ["GET", "PATCH", "DELETE"],
        ),
        *_both(V + JOB + "/batches", ingest_api.upload, ["PUT"]),
        *_both(V + JOB + "/{result}", api("ingest", results_api.results), ["GET"]),
        *query_api.routes(V),
        *rest_api.routes(V),
        *_both(V + "/composite", api("composite", composite), ["POST"]),
        *_both(
            V + "/composite/sobjects", api("composite", collections), ["POST", "PATCH", "DELETE"]
        ),
        *_both(
            V + "/composite/sobjects/{sobject}/{field}", api("composite", collections), ["PATCH"]
        ),
        *admin_api.routes(),
    ]


def build(org: Org) -> Starlette:
    """The ASGI app serving `org`, with its job worker started and stopped by the lifespan."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker = Worker(org)
        org.worker = worker
        worker.start()
        app.state.org = org
        try:
            yield
        finally:
            worker.close()

    app = Starlette(
        routes=routes(),
        exception_handlers={404: _not_found, 405: _method_not_allowed},
        middleware=[Middleware(UriLimit), Middleware(GZipMiddleware, minimum_size=1024)],
        lifespan=lifespan,
    )
    app.state.org = org
    return app
