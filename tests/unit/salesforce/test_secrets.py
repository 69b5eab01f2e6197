"""No token, client secret or private key in a repr, a message or a log line."""

from __future__ import annotations

import logging

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector.errors import AuthenticationError
from connector.salesforce import (
    AccessToken,
    BulkClient,
    ClientCredentials,
    ClientSettings,
    JwtBearer,
    RefreshToken,
)
from connector.salesforce.auth import SessionAuth, Token, _read_token
from connector.salesforce.settings import settings_from_env

SECRET = "s3cr3t-VALUE-never-shown"  # noqa: S105 - a marker to search for


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def pem() -> str:
    """One RSA private key in PEM for the module."""
    return _pem()


def _flows(pem: str):
    return [
        ClientCredentials("id", SECRET),
        RefreshToken("id", SECRET, SECRET),
        AccessToken(SECRET, "https://x.my.salesforce.com"),
        JwtBearer("id", "user@x", pem),
    ]


def test_flows_settings_and_clients_hide_secrets(pem):
    """Reprs of flows, settings, tokens, auth and clients show no secret."""
    key_line = pem.splitlines()[1]
    for flow in _flows(pem):
        settings = ClientSettings(login_url="https://x.my.salesforce.com", auth=flow)
        client = BulkClient(settings)
        auth = SessionAuth(flow, "https://x", requests.Session(), {})
        shown = " ".join([repr(flow), str(flow), repr(settings), repr(client), repr(auth)])
        assert SECRET not in shown
        assert key_line not in shown
        client.close()
    assert SECRET not in repr(Token(SECRET, "https://x"))


def test_settings_from_env_hide_the_secret():
    """Settings built from the environment do not show the secret either."""
    env = {"SF_LOGIN_URL": "https://x", "SF_CLIENT_ID": "id", "SF_CLIENT_SECRET": SECRET}
    assert SECRET not in repr(settings_from_env(env))


def test_a_refused_grant_names_no_secret():
    """The token endpoint's refusal becomes an error with its code, not the form sent."""
    response = requests.Response()
    response.status_code = 400
    response._content = (  # noqa: SLF001 - a canned response
        b'{"error":"invalid_client","error_description":"invalid client credentials"}'
    )
    with pytest.raises(AuthenticationError) as caught:
        _read_token(response)
    assert caught.value.error_code == "invalid_client"
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)


def test_a_failed_sign_in_logs_and_raises_no_secret(caplog):
    """Signing in against nothing fails with no secret in the error or the logs."""
    caplog.set_level(logging.DEBUG)
    auth = SessionAuth(
        ClientCredentials("id", SECRET), "http://127.0.0.1:9", requests.Session(), {"timeout": 1}
    )
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any error, as long as it is clean
        auth.token()
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert SECRET not in caplog.text
