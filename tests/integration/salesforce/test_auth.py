"""Every auth flow against the emulator, one re-auth on 401, and a final 401."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connector.errors import AuthenticationError
from connector.salesforce import (
    AccessToken,
    BulkClient,
    ClientCredentials,
    JwtBearer,
    RefreshToken,
)
from emulator.org import Settings
from emulator.schema import default_path
from emulator.server import EmulatorServer, Listen
from tests.integration.salesforce.conftest import settings_for
from tests.support.emulator import EmulatorAdmin, EmulatorHandle


def _start(home: Path, **settings: object) -> EmulatorServer:
    server = EmulatorServer(
        Settings(db=home / "org.db", objects=default_path(), **settings),  # type: ignore[arg-type]
        Listen(host="127.0.0.1", port=0),
    )
    server.start()
    return server


def _handle(server: EmulatorServer) -> EmulatorHandle:
    assert server.tls is not None
    settings = server.org.settings
    return EmulatorHandle(
        base_url=server.base_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        ca_path=server.tls.ca,
        jwt_private_key=Path(),
        admin=EmulatorAdmin(server.base_url, server.tls.ca),
    )


@pytest.fixture(scope="module")
def instant_expiry_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """An emulator whose sessions are over the moment they are issued."""
    server = _start(tmp_path_factory.mktemp("expiring-org"), token_ttl=0.0)
    try:
        yield _handle(server)
    finally:
        server.stop()


def _load_one(client: BulkClient) -> int:
    with client:
        return client.insert("Account", [{"Name": "signed in"}]).success_count


def test_client_credentials(org: EmulatorHandle):
    """The client credentials flow signs in and loads."""
    assert _load_one(BulkClient(settings_for(org))) == 1


def test_jwt_bearer(org: EmulatorHandle):
    """The JWT bearer flow signs an RS256 assertion the org accepts."""
    key = org.jwt_private_key.read_text()
    flow = JwtBearer(org.client_id, "integration@sfsink.emulator", key)
    assert _load_one(BulkClient(settings_for(org, auth=flow))) == 1


def test_jwt_with_a_key_the_org_does_not_trust(org: EmulatorHandle):
    """An assertion signed by another key is refused as an authentication error."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    flow = JwtBearer(org.client_id, "integration@sfsink.emulator", pem)
    with pytest.raises(AuthenticationError, match="invalid_grant") as caught:
        _load_one(BulkClient(settings_for(org, auth=flow)))
    assert pem.splitlines()[1] not in str(caught.value)


def test_refresh_token(org: EmulatorHandle):
    """The refresh token flow signs in, and signs in again after sessions expire."""
    flow = RefreshToken(org.client_id, org.admin.refresh_token())
    client = BulkClient(settings_for(org, auth=flow))
    client.insert("Account", [{"Name": "one"}])
    org.admin.expire_sessions()
    assert _load_one(client) == 1
    assert org.admin.calls()["calls"]["auth"] == 2


def test_a_ready_access_token(org: EmulatorHandle):
    """A ready token works until it expires; then the error says authentication failed."""
    client = BulkClient(settings_for(org, auth=AccessToken(org.token(), org.base_url)))
    client.insert("Account", [{"Name": "one"}])
    org.admin.expire_sessions()
    with pytest.raises(AuthenticationError, match="INVALID_SESSION_ID"):
        _load_one(client)


def test_wrong_client_secret_is_an_authentication_error(org: EmulatorHandle):
    """Refused credentials raise AuthenticationError naming Salesforce's error, not the secret."""
    flow = ClientCredentials(org.client_id, "not-the-secret-at-all")
    with pytest.raises(AuthenticationError) as caught:
        _load_one(BulkClient(settings_for(org, auth=flow)))
    assert caught.value.error_code == "invalid_client"
    assert "not-the-secret-at-all" not in str(caught.value)
    assert "not-the-secret-at-all" not in repr(caught.value)


def test_a_second_401_raises(instant_expiry_org: EmulatorHandle):
    """A fresh session refused too ends in AuthenticationError after exactly one re-auth."""
    org = instant_expiry_org
    org.admin.reset()
    client = BulkClient(settings_for(org))
    with pytest.raises(AuthenticationError, match="INVALID_SESSION_ID") as caught:
        _load_one(client)
    assert caught.value.status == 401
    calls = org.admin.calls()["calls"]
    assert calls["auth"] == 2
    assert calls["ingest"] == 2


def test_from_env(org: EmulatorHandle):
    """from_env reads SF_LOGIN_URL, one flow's credentials and SF_CA_BUNDLE."""
    env = {
        "SF_LOGIN_URL": org.base_url,
        "SF_CLIENT_ID": org.client_id,
        "SF_CLIENT_SECRET": org.client_secret,
        "SF_CA_BUNDLE": str(org.ca_path),
    }
    assert _load_one(BulkClient.from_env(env)) == 1


def test_no_secret_in_any_log_line(org: EmulatorHandle, caplog: pytest.LogCaptureFixture):
    """A load with a re-auth and retries, logged at DEBUG, shows no token and no secret."""
    caplog.set_level(logging.DEBUG)
    client = BulkClient(settings_for(org))
    org.admin.faults(seed=3, errors={"ingest": {"rate": 0.3, "status": 503}})
    client.insert("Account", [{"Name": "one"}])
    first = client._transport.auth.token().access_token  # noqa: SLF001 - what must not leak
    org.admin.expire_sessions()
    client.insert("Account", [{"Name": "two"}])
    second = client._transport.auth.token().access_token  # noqa: SLF001
    org.admin.faults(errors={})
    assert first != second
    assert "retrying" in caplog.text
    for secret in (first, second, org.client_secret):
        assert secret not in caplog.text
