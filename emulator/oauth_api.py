"""/services/oauth2/token and the two unversioned discovery endpoints."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from emulator import auth
from emulator.http import fault_error, guard, sf_json, with_limit_info
from emulator.org import API_VERSIONS, Org


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


async def token(request: Request) -> Response:
    """POST /services/oauth2/token: 200 with a session, or 400 {error, error_description}."""
    org: Org = request.app.state.org
    org.limits.count_call("auth")
    status = org.faults.http_error("auth")
    if status is not None:
        return fault_error(status)
    # Parsed by hand: Starlette's form parser needs python-multipart, which we do not ship.
    form = dict(parse_qsl((await request.body()).decode(errors="replace")))
    settings = org.settings
    creds = auth.Credentials(settings.client_id, settings.client_secret, settings.jwt_public_key)
    instance_url = str(request.base_url).rstrip("/")
    try:
        body = auth.grant(form, _basic(request), creds, org.sessions, instance_url)
    except auth.GrantError as exc:
        return sf_json({"error": exc.error, "error_description": exc.description}, 400)
    return sf_json(body)


async def versions(request: Request) -> Response:
    """GET /services/data: every version; no auth and no Sforce-Limit-Info, as on a real org."""
    org: Org = request.app.state.org
    org.limits.count_call("versions")
    return sf_json(
        [
            {"label": f"Emulated v{v}", "url": f"/services/data/v{v}", "version": v}
            for v in API_VERSIONS
        ]
    )


async def version_root(request: Request) -> Response:
    """GET /services/data/vXX.X: the resources of one version."""
    org: Org = request.app.state.org
    refused = await guard(request, org, "versions")
    if refused is not None:
        return with_limit_info(refused, org)
    base = f"/services/data/v{request.path_params['version']}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
    return with_limit_info(sf_json({n: f"{base}/{n}" for n in names}), org)
