"""OAuth grants, session expiry and the 401 body on every API path."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from emulator.org import Settings
from emulator.schema import default_path
from emulator.server import EmulatorServer, Listen
from tests.support.emulator import EmulatorHandle, trusting_session

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
API_PATHS = [
    ("GET", "/services/data/v62.0/"),
    ("GET", "/services/data/v62.0/sobjects"),
    ("GET", "/services/data/v62.0/sobjects/Account/describe"),
    ("GET", "/services/data/v62.0/query?q=SELECT+Id+FROM+Account"),
    ("GET", "/services/data/v62.0/limits"),
    ("POST", "/services/data/v62.0/jobs/ingest"),
    ("GET", "/services/data/v62.0/jobs/ingest/7505g0000000001AAA"),
    ("PUT", "/services/data/v62.0/jobs/ingest/7505g0000000001AAA/batches"),
    ("GET", "/services/data/v62.0/jobs/query"),
    ("POST", "/services/data/v62.0/composite/sobjects"),
    ("GET", "/services/data/v62.0/no/such/path"),
]


def _token(org: EmulatorHandle, **form: str) -> requests.Response:
    with org.session() as session:
        return session.post(f"{org.base_url}/services/oauth2/token", data=form)


def test_client_credentials_in_body_or_basic(org: EmulatorHandle):
    """Both ways of sending the client secret give a Salesforce token response."""
    by_body = _token(
        org,
        grant_type="client_credentials",
        client_id=org.client_id,
        client_secret=org.client_secret,
    )
    assert by_body.status_code == 200
    body = by_body.json()
    assert body["token_type"] == "Bearer"  # noqa: S105 - a token type, not a secret
    assert body["instance_url"] == org.base_url
    assert body["issued_at"].isdigit()
    assert "expires_in" not in body
    assert org.token()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
            {"error": "invalid_client_id", "error_description": "client identifier invalid"},
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "sfsink-emulator",
                "client_secret": "x",
            },
            {"error": "invalid_client", "error_description": "invalid client credentials"},
        ),
        (
            {"grant_type": "password"},
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
        ),
        (
            {"grant_type": "refresh_token", "client_id": "sfsink-emulator", "refresh_token": "x"},
            {"error": "invalid_grant", "error_description": "expired access/refresh token"},
        ),
    ],
)
def test_refused_grants_get_oauth_error_bodies(org: EmulatorHandle, form, error):
    """A refused grant is a 400 with error and error_description."""
    response = _token(org, **form)
    assert response.status_code == 400
    assert response.json() == error


def _assertion(org: EmulatorHandle, **claims) -> str:
    payload = {
        "iss": org.client_id,
        "sub": "integration@example.com",
        "aud": "https://login.salesforce.com",
        "exp": str(int(time.time()) + 180),  # simple-salesforce sends exp as a string
    }
    payload.update(claims)
    return jwt.encode(payload, org.jwt_private_key.read_bytes(), algorithm="RS256")


def test_jwt_bearer_grant_checks_signature_and_claims(org: EmulatorHandle):
    """A signed assertion gets a token; a wrong audience, issuer or expired one does not."""
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert _token(org, grant_type=grant, assertion=_assertion(org)).status_code == 200
    cases = {
        "audience is invalid": _assertion(org, aud="https://evil.example"),
        "client identifier invalid": _assertion(org, iss="someone-else"),
        "expired authorization code": _assertion(org, exp=int(time.time()) - 60),
        "invalid assertion": _assertion(org)[:-4] + "AAAA",
    }
    for description, assertion in cases.items():
        response = _token(org, grant_type=grant, assertion=assertion)
        assert response.status_code == 400
        assert response.json()["error_description"] == description


def test_refresh_token_grant(org: EmulatorHandle):
    """A refresh token minted by the admin API gets a new access token."""
    refresh = org.admin.refresh_token()
    response = _token(
        org, grant_type="refresh_token", client_id=org.client_id, refresh_token=refresh
    )
    assert response.status_code == 200
    assert response.json()["access_token"]


@pytest.mark.parametrize(("method", "path"), API_PATHS)
def test_bad_token_gets_401_invalid_session_everywhere(org: EmulatorHandle, method, path):
    """Every API path answers a bad token with Salesforce's 401 body."""
    with org.session() as session:
        response = session.request(
            method, org.base_url + path, headers={"Authorization": "Bearer nope"}
        )
    assert response.status_code == 401
    assert response.json() == INVALID_SESSION
    assert response.headers["WWW-Authenticate"] == "Token"


def test_expire_sessions_ends_every_token(org: EmulatorHandle, http):
    """After the admin expires sessions, a token that worked gets 401."""
    assert http("GET", "/limits").status_code == 200
    assert org.admin.expire_sessions() >= 1
    response = http("GET", "/limits")
    assert response.status_code == 401
    assert response.json() == INVALID_SESSION


def test_tokens_expire_after_the_ttl(tmp_path):
    """A token stops working once the configured TTL has passed."""
    settings = Settings(db=tmp_path / "org.db", objects=default_path(), token_ttl=0.3)
    server = EmulatorServer(settings, Listen(port=0))
    server.start()
    try:
        assert server.tls is not None
        with trusting_session(server.tls.ca) as session:
            token = session.post(
                f"{server.base_url}/services/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(settings.client_id, settings.client_secret),
            ).json()["access_token"]
            url = f"{server.base_url}/services/data/v62.0/limits"
            headers = {"Authorization": f"Bearer {token}"}
            assert session.get(url, headers=headers).status_code == 200
            deadline = time.monotonic() + 5
            while session.get(url, headers=headers).status_code == 200:
                assert time.monotonic() < deadline, "the token never expired"
                time.sleep(0.05)
            assert session.get(url, headers=headers).json() == INVALID_SESSION
    finally:
        server.stop()
