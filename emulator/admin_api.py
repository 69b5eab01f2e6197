"""The admin API under /__emulator/: inspect the org and inject faults. No auth, not counted.

POST /__emulator/reset                    empty org, no jobs, sessions, usage or faults
GET  /__emulator/records/{object}         every record, deleted ones included
GET  /__emulator/faults                   the current faults
PUT  /__emulator/faults                   change some faults (JSON; see faults.Faults)
POST /__emulator/sessions/expire          end every session now
POST /__emulator/refresh-tokens           mint a refresh token for the refresh_token grant
PUT  /__emulator/limits                   {"daily_api_cap": N, "api_requests": used,
                                          "bulk_batches": used}
GET  /__emulator/calls                    calls per endpoint class, and usage
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator import faults
from emulator.org import Org
from emulator.values import to_json


def _org(request: Request) -> Org:
    return request.app.state.org  # type: ignore[no-any-return]


async def reset(request: Request) -> Response:
    """Empty the org."""
    await run_in_threadpool(_org(request).reset)
    return JSONResponse({"reset": True})


async def records(request: Request) -> Response:
    """Every record of an object in REST JSON form, with IsDeleted."""
    org = _org(request)
    obj = org.schema.get(request.path_params["sobject"])
    if obj is None:
        return JSONResponse({"error": "unknown object"}, 404)
    kinds = {f.name: f.type for f in obj.fields.values()}

    def read() -> list[dict[str, object]]:
        rows = org.store.rows(obj, include_deleted=True)
        return [{k: to_json(kinds[k], v) for k, v in row.items()} for row in rows]

    found = await run_in_threadpool(read)
    return JSONResponse({"object": obj.name, "totalSize": len(found), "records": found})


async def get_faults(request: Request) -> Response:
    """The faults in force."""
    return JSONResponse(_org(request).faults.current.to_json())


async def put_faults(request: Request) -> Response:
    """Change faults; the seed restarts the random source."""
    state = _org(request).faults
    try:
        body = json.loads(await request.body() or b"{}")
        state.set(faults.from_json(body, state.current))
    except (ValueError, TypeError) as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse(state.current.to_json())


async def expire_sessions(request: Request) -> Response:
    """End every session: the next API call with an old token gets 401."""
    return JSONResponse({"expired": _org(request).sessions.expire_all()})


async def refresh_token(request: Request) -> Response:
    """A refresh token, standing in for an interactive OAuth flow."""
    return JSONResponse({"refresh_token": _org(request).sessions.issue_refresh()})


async def put_limits(request: Request) -> Response:
    """Set the daily API cap and, optionally, the API requests and Bulk batches used so far."""
    limits = _org(request).limits
    body = json.loads(await request.body() or b"{}")
    if "daily_api_cap" in body:
        limits.daily_api_cap = int(body["daily_api_cap"])
    if "api_requests" in body:
        limits.api_requests = int(body["api_requests"])
    if "bulk_batches" in body:
        limits.bulk_batches = int(body["bulk_batches"])
    return JSONResponse(
        {
            "daily_api_cap": limits.daily_api_cap,
            "api_requests": limits.api_requests,
            "bulk_batches": limits.bulk_batches,
        }
    )


async def calls(request: Request) -> Response:
    """How many calls each endpoint class has had, and the allocations used."""
    limits = _org(request).limits
    return JSONResponse(
        {
            "calls": dict(limits.calls),
            "api_requests": limits.api_requests,
            "daily_api_cap": limits.daily_api_cap,
            "bulk_batches": limits.bulk_batches,
            "query_jobs": limits.query_jobs,
        }
    )


def routes() -> list[Route]:
    """The admin routes."""
    base = "/__emulator"
    return [
        Route(f"{base}/reset", reset, methods=["POST"]),
        Route(f"{base}/records/{{sobject}}", records, methods=["GET"]),
        Route(f"{base}/faults", get_faults, methods=["GET"]),
        Route(f"{base}/faults", put_faults, methods=["PUT", "POST"]),
        Route(f"{base}/sessions/expire", expire_sessions, methods=["POST"]),
        Route(f"{base}/refresh-tokens", refresh_token, methods=["POST"]),
        Route(f"{base}/limits", put_limits, methods=["PUT", "POST"]),
        Route(f"{base}/calls", calls, methods=["GET"]),
    ]
