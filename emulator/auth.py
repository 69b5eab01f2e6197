"""OAuth 2.0 token grants and the sessions they create.

Grants: client_credentials (id/secret in the form or HTTP Basic), the JWT bearer flow
(RS256, verified against the configured certificate or public key; iss, sub, aud and exp
checked) and refresh_token. Errors are Salesforce's: HTTP 400 with error and
error_description. Responses have no expires_in, as on a real org.

Salesforce gives refresh tokens only to interactive flows (web server, user agent),
which an emulator cannot drive. Choice: the admin API mints one
(POST /__emulator/refresh-tokens) so the refresh_token grant can still be exercised.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from emulator import ids

ORG_ID = ids.make_id("00D", 1)
USER_ID = ids.make_id("005", 1)
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


@dataclass(frozen=True, slots=True)
class GrantError(Exception):
    """A refused grant: the error and error_description of the 400 body."""

    error: str
    description: str


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the token endpoint accepts."""

    client_id: str
    client_secret: str
    jwt_public_key: bytes | None


class Sessions:
    """Access tokens with their expiry, and refresh tokens."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._refresh: set[str] = set()

    def issue(self) -> str:
        """A new access token, valid for the TTL."""
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._tokens[token] = time.monotonic() + self.ttl
        return token

    def valid(self, token: str) -> bool:
        """Whether the token was issued here and has not expired."""
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_all(self) -> int:
        """End every session now; return how many there were."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
        return count

    def issue_refresh(self) -> str:
        """A refresh token (see the module docstring for why the admin API mints them)."""
        token = f"5Aep{secrets.token_urlsafe(40)}"
        with self._lock:
            self._refresh.add(token)
        return token

    def known_refresh(self, token: str) -> bool:
        """Whether a refresh token was issued here."""
        with self._lock:
            return token in self._refresh

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._tokens.clear()
            self._refresh.clear()


def grant(
    form: Mapping[str, str],
    basic: tuple[str, str] | None,
    creds: Credentials,
    sessions: Sessions,
    instance_url: str,
) -> dict[str, str]:
    """The 200 body of a token request, or raise GrantError."""
    kind = form.get("grant_type", "")
    if kind == "client_credentials":
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        _check_client(creds, client_id, secret)
    elif kind == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        _check_assertion(creds, form.get("assertion", ""), instance_url)
    elif kind == "refresh_token":
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id != creds.client_id:
            raise GrantError("invalid_client_id", "client identifier invalid")
        if secret and secret != creds.client_secret:
            raise GrantError("invalid_client", "invalid client credentials")
        if not sessions.known_refresh(form.get("refresh_token", "")):
            raise GrantError("invalid_grant", "expired access/refresh token")
    else:
        raise GrantError("unsupported_grant_type", "grant type not supported")
    return _token_body(sessions.issue(), creds.client_secret, instance_url)


def _check_client(creds: Credentials, client_id: str, secret: str) -> None:
    if client_id != creds.client_id:
        raise GrantError("invalid_client_id", "client identifier invalid")
    if not hmac.compare_digest(secret, creds.client_secret):
        raise GrantError("invalid_client", "invalid client credentials")


def _public_key(pem: bytes) -> object:
    if b"BEGIN CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_key()
    return load_pem_public_key(pem)


def _check_assertion(creds: Credentials, assertion: str, instance_url: str) -> None:
    if creds.jwt_public_key is None:
        raise GrantError("invalid_grant", "invalid assertion")
    try:
        claims = jwt.decode(
            assertion,
            _public_key(creds.jwt_public_key),  # type: ignore[arg-type]
            algorithms=["RS256"],
            options={"require": ["iss", "sub", "aud", "exp"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise GrantError("invalid_grant", "expired authorization code") from None
    except jwt.InvalidTokenError:
        raise GrantError("invalid_grant", "invalid assertion") from None
    if claims["iss"] != creds.client_id:
        raise GrantError("invalid_client_id", "client identifier invalid")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if not set(audiences) & {*AUDIENCES, instance_url.rstrip("/")}:
        raise GrantError("invalid_grant", "audience is invalid")
    if not str(claims["sub"]).strip():
        raise GrantError("invalid_grant", "invalid assertion")


def _token_body(token: str, secret: str, instance_url: str) -> dict[str, str]:
    issued_at = str(int(time.time() * 1000))
    identity = f"{instance_url.rstrip('/')}/id/{ORG_ID}/{USER_ID}"
    digest = hmac.new(secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    return {
        "access_token": token,
        "signature": base64.b64encode(digest).decode(),
        "scope": "api",
        "instance_url": instance_url.rstrip("/"),
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }
