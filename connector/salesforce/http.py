"""The transport: one pooled session, a timeout on every call, one classifier, retries.

`classify(response)` alone decides what an answer means. Only RetriableErrors are retried
(connection errors and timeouts, 5xx, 429, 403 REQUEST_LIMIT_EXCEEDED), with jittered
exponential waits that never undercut a Retry-After. Authentication is the session's
Auth (see auth.py); this module never sees a token.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
)

from connector.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    RetriableError,
    SalesforceBusyError,
    SalesforceError,
    SalesforceUnavailableError,
)
from connector.salesforce.auth import AuthFlow, SessionAuth
from connector.salesforce.endpoints import CallObserver, endpoint_class
from connector.salesforce.limits import UsageTracker

log = logging.getLogger(__name__)

_BUSY_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How transient failures are retried.

    Args:
        attempts: tries per request, the first included.
        initial: the first wait's scale in seconds; each retry doubles it, with jitter.
        maximum: the longest single wait.
        max_elapsed: give up once this long has passed since the first try.
        busy_after: the retry_after reported when Salesforce gave no Retry-After.
    """

    attempts: int = 6
    initial: float = 0.5
    maximum: float = 30.0
    max_elapsed: float = 120.0
    busy_after: float = 30.0

    def wait(self, attempt: int, retry_after: float) -> float:
        """The pause before retry number `attempt` (1-based): full jitter, floor Retry-After."""
        ceiling = min(self.maximum, self.initial * 2 ** (attempt - 1))
        jittered = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
        return max(jittered, min(retry_after, self.max_elapsed))


def retry_after_seconds(value: str | None) -> float:
    """Retry-After in seconds, from a number or an HTTP date; 0.0 when absent or unreadable."""
    if not value:
        return 0.0
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def error_of(response: requests.Response) -> tuple[str, str, tuple[str, ...]]:
    """Salesforce's errorCode, message and fields from an error body (or OAuth's object)."""
    try:
        body = response.json()
    except ValueError:
        return "", (response.text or response.reason or "").strip()[:500], ()
    return error_parts(body)


def error_parts(body: object) -> tuple[str, str, tuple[str, ...]]:
    """errorCode, message and fields from a parsed error body (a list of errors, or OAuth's)."""
    if isinstance(body, list) and body and isinstance(body[0], Mapping):
        first = body[0]
        names = first.get("fields")
        fields = tuple(str(n) for n in names) if isinstance(names, list) else ()
        return str(first.get("errorCode", "")), str(first.get("message", "")), fields
    if isinstance(body, Mapping):
        return str(body.get("error", "")), str(body.get("error_description", "")), ()
    return "", str(body)[:500], ()


def classify(response: requests.Response) -> requests.Response:
    """Return a successful response; raise the error class that says what to do otherwise."""
    if response.status_code < 300:  # noqa: PLR2004
        return response
    code, message, fields = error_of(response)
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    raise error_for(response.status_code, code, message, fields, retry_after)


def error_for(
    status: int, code: str, message: str, fields: tuple[str, ...] = (), retry_after: float = 0.0
) -> SalesforceError:
    """The error class that says what to do about a refused request (or subrequest)."""
    if status == 401:  # noqa: PLR2004
        return AuthenticationError(message or "session refused", error_code=code, status=status)
    if status == 429 or code in _BUSY_CODES:  # noqa: PLR2004
        return SalesforceBusyError(message, retry_after, error_code=code, status=status)
    if status >= 500:  # noqa: PLR2004
        return SalesforceUnavailableError(message, error_code=code, status=status)
    if status == 404:  # noqa: PLR2004
        return NotFoundError(message, error_code=code or "NOT_FOUND", status=status)
    return InvalidRequestError(message, error_code=code, status=status, fields=fields)


@dataclass(frozen=True, slots=True)
class TransportSettings:
    """Where to sign in and how to call."""

    login_url: str
    auth: AuthFlow
    api_version: str = "62.0"
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    ca_bundle: str | None = None
    pool_size: int = 10
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class Transport:
    """Calls the versioned REST API of one org through one pooled, authenticated session."""

    def __init__(self, settings: TransportSettings, on_call: CallObserver | None = None) -> None:
        self.settings = settings
        self._on_call = on_call
        self.usage = UsageTracker()
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=settings.pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._options: dict[str, Any] = {
            "timeout": (settings.connect_timeout, settings.read_timeout),
            # Given per request: REQUESTS_CA_BUNDLE would override a session-level verify.
            "verify": settings.ca_bundle or True,
        }
        self.auth = SessionAuth(
            settings.auth, settings.login_url, self.session, self._options, on_call
        )
        self.session.auth = self.auth
        # A session hook sees every response, the token requests and re-sends included.
        self.session.hooks["response"].append(self._observe)
        self._count_lock = threading.Lock()
        self.calls = 0

    def close(self) -> None:
        """Release the pooled connections."""
        self.session.close()

    def url(self, path: str) -> str:
        """The absolute URL of a path under /services/data/vXX.X/ (or of an absolute path)."""
        base = self.auth.token().instance_url
        if path.startswith("/services/"):
            return base + path
        return f"{base}/services/data/v{self.settings.api_version}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        before_retry: Callable[[BaseException], None] | None = None,
        **kwargs: Any,  # noqa: ANN401 - requests' keyword arguments, passed on
    ) -> requests.Response:
        """Send, classify, and retry what is retriable; return the successful response.

        `before_retry(error)` runs before each retry, after the wait, with the error
        that caused it (job creation uses it to clean up after an ambiguous failure).
        """
        policy = self.settings.retry
        failures: list[BaseException] = []

        def remember(state: RetryCallState) -> None:
            _log_retry(method, path, state)
            if state.outcome is not None and state.outcome.exception() is not None:
                failures.append(state.outcome.exception())  # type: ignore[arg-type]

        def before(state: RetryCallState) -> None:
            if before_retry is not None and state.attempt_number > 1 and failures:
                before_retry(failures[-1])

        retrying = Retrying(
            retry=retry_if_exception_type(RetriableError),
            wait=lambda state: policy.wait(state.attempt_number, _retry_after(state)),
            stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_elapsed),
            before_sleep=remember,
            before=before,
            reraise=True,
        )
        try:
            return retrying(self.send_once, method, path, **kwargs)
        except SalesforceBusyError as exc:
            if exc.retry_after > 0:
                raise
            raise SalesforceBusyError(
                exc.message, policy.busy_after, error_code=exc.error_code, status=exc.status
            ) from None

    def send_once(self, method: str, path: str, **kwargs: Any) -> requests.Response:  # noqa: ANN401 - requests' keyword arguments
        """One try: send, note the usage header, classify."""
        url = self.url(path)
        try:
            response = self.session.request(method, url, **self._options, **kwargs)
        except requests.RequestException as exc:
            if self._on_call is not None:
                self._on_call(endpoint_class(method, url), "error")
            raise SalesforceUnavailableError(
                f"{method} {path.split('?', 1)[0]}: {type(exc).__name__}"
            ) from None
        with self._count_lock:
            self.calls += 1 + len(response.history)
        self.usage.observe(response.headers.get("Sforce-Limit-Info"))
        return classify(response)

    def _observe(self, response: requests.Response, **_: Any) -> None:  # noqa: ANN401 - requests' hook options
        if self._on_call is None:
            return
        for answer in (*response.history, response):
            request = answer.request
            self._on_call(
                endpoint_class(request.method or "", request.url or ""), str(answer.status_code)
            )


def _retry_after(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    return error.retry_after if isinstance(error, SalesforceBusyError) else 0.0


def _log_retry(method: str, path: str, state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    shown = error if isinstance(error, SalesforceError) else type(error).__name__
    log.warning(
        "retrying %s %s (try %d): %s", method, path.split("?", 1)[0], state.attempt_number, shown
    )
