"""OAuth 2.0 flows and the requests Auth that puts the session on every call.

One flow per client: client credentials, JWT bearer, refresh token, or a ready access
token. `SessionAuth` is the one place that knows about sessions: it adds the bearer
header, and when Salesforce answers 401 INVALID_SESSION_ID it signs in again once and
resends that request once; a second 401 goes back to the caller, whom `classify` turns
into an AuthenticationError. Secrets live in fields left out of every repr.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from requests.auth import AuthBase

from connector.errors import AuthenticationError, SalesforceUnavailableError
from connector.salesforce.endpoints import CallObserver, endpoint_class

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a secret
_JWT_LIFETIME = 180
_TEST_HOSTS = ("test.salesforce.com", ".sandbox.")


@dataclass(frozen=True, slots=True)
class Token:
    """A session: the access token (never shown), the instance to call, the user."""

    access_token: str = field(repr=False)
    instance_url: str
    user_id: str = ""


class Flow(Protocol):
    """How to get a session from the token endpoint."""

    def grant(self, login_url: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        """The form to post and the HTTP Basic credentials, if any."""


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """The client credentials flow (a My Domain login URL, an integration user)."""

    client_id: str
    client_secret: str = field(repr=False)

    def grant(self, login_url: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        """Client id and secret go in HTTP Basic, as Salesforce prefers."""
        del login_url
        return {"grant_type": "client_credentials"}, (self.client_id, self.client_secret)


@dataclass(frozen=True, slots=True)
class JwtBearer:
    """The JWT bearer flow: an RS256 assertion signed with the app's private key."""

    client_id: str
    username: str
    private_key: str = field(repr=False)
    audience: str | None = None

    def grant(self, login_url: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        """A fresh assertion, valid three minutes."""
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience or default_audience(login_url),
            "exp": int(time.time()) + _JWT_LIFETIME,
        }
        # PyJWT brings cryptography: 9 MB of every process's memory, for this flow alone.
        import jwt  # noqa: PLC0415

        assertion = jwt.encode(claims, self.private_key, algorithm="RS256")
        return {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion,
        }, None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """The refresh token flow (the secret is optional for some connected apps)."""

    client_id: str
    refresh_token: str = field(repr=False)
    client_secret: str | None = field(default=None, repr=False)

    def grant(self, login_url: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        """The refresh token and client id in the form."""
        del login_url
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
        }
        if self.client_secret:
            form["client_secret"] = self.client_secret
        return form, None


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A session obtained elsewhere; it cannot be renewed, so its expiry is final."""

    access_token: str = field(repr=False)
    instance_url: str


AuthFlow = ClientCredentials | JwtBearer | RefreshToken | AccessToken


def default_audience(login_url: str) -> str:
    """The JWT audience Salesforce expects for a login URL (sandbox or production)."""
    if any(host in login_url for host in _TEST_HOSTS):
        return "https://test.salesforce.com"
    return "https://login.salesforce.com"


def is_invalid_session(response: requests.Response) -> bool:
    """Whether a response is Salesforce's 401 for a missing, bad or expired session."""
    return response.status_code == 401 and b"INVALID_SESSION_ID" in response.content  # noqa: PLR2004


class _NoAuth(AuthBase):
    """Keeps the session's own auth off the token request."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class SessionAuth(AuthBase):
    """Bearer auth with one re-sign-in and one resend on 401 INVALID_SESSION_ID."""

    def __init__(
        self,
        flow: AuthFlow,
        login_url: str,
        session: requests.Session,
        request_options: dict[str, Any],
        on_call: CallObserver | None = None,
    ) -> None:
        """`on_call` is told of a sign-in that got no answer; answers reach the session's hook."""
        self._flow = flow
        self._on_call = on_call
        self._login_url = login_url.rstrip("/")
        self._session = session
        self._options = request_options
        self._lock = threading.Lock()
        self._token: Token | None = None

    def __repr__(self) -> str:
        return f"SessionAuth(flow={self._flow!r}, login_url={self._login_url!r})"

    def token(self) -> Token:
        """The current session, signing in first if there is none."""
        with self._lock:
            if self._token is None:
                self._token = self._sign_in()
            return self._token

    def renew(self, stale: str | None) -> Token:
        """A new session, unless another thread already replaced the stale one."""
        with self._lock:
            if self._token is None or self._token.access_token == stale:
                self._token = self._sign_in()
            return self._token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the bearer header and the 401 hook."""
        request.headers["Authorization"] = f"Bearer {self.token().access_token}"
        request.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return request

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:  # noqa: ANN401 - requests' send options, passed on
        if not is_invalid_session(response) or isinstance(self._flow, AccessToken):
            return response
        sent = str(response.request.headers.get("Authorization", ""))
        token = self.renew(sent.removeprefix("Bearer "))
        response.close()
        again = response.request.copy()
        again.headers["Authorization"] = f"Bearer {token.access_token}"
        again.hooks = {"response": []}  # the resend is the last try: its 401 is final
        resent: requests.Response = response.connection.send(again, **kwargs)
        resent.history.append(response)
        resent.request = again
        return resent

    def _sign_in(self) -> Token:
        if isinstance(self._flow, AccessToken):
            return Token(self._flow.access_token, self._flow.instance_url.rstrip("/"))
        form, basic = self._flow.grant(self._login_url)
        try:
            response = self._session.post(
                self._login_url + TOKEN_PATH,
                data=form,
                auth=basic or _NoAuth(),
                **self._options,
            )
        except requests.RequestException as exc:
            if self._on_call is not None:
                self._on_call(endpoint_class("POST", self._login_url + TOKEN_PATH), "error")
            message = f"cannot reach the token endpoint: {type(exc).__name__}"
            raise SalesforceUnavailableError(message) from None
        return _read_token(response)


def _read_token(response: requests.Response) -> Token:
    if response.status_code >= 500:  # noqa: PLR2004
        raise SalesforceUnavailableError(
            "the token endpoint is unavailable", status=response.status_code
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:  # noqa: PLR2004
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        raise AuthenticationError(
            description or "the token endpoint refused the credentials",
            error_code=error,
            status=response.status_code,
        )
    identity = str(body.get("id", ""))
    return Token(
        access_token=str(body["access_token"]),
        instance_url=str(body.get("instance_url", "")).rstrip("/"),
        user_id=identity.rstrip("/").rsplit("/", 1)[-1] if identity else "",
    )
