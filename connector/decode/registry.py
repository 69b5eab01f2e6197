"""A Confluent Schema Registry REST client: writer schemas by id, over requests, cached.

An id the registry does not know is the record's fault (DecodeError, dead-letter it);
a registry that is down, slow or failing is nobody's fault yet
(SchemaRegistryUnavailableError, try again). Schemas never change under an id, so each
id is fetched once per process. An unknown id is remembered for a few seconds: a stream
of records framed with it (a misconfigured producer) is dead-lettered at full speed
instead of costing a registry call each, and an id registered late is seen soon after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from connector.errors import DecodeError, SchemaRegistryUnavailableError

# Confluent's error_code for "schema not found"; any other 404 is a wrong URL.
SCHEMA_NOT_FOUND = 40403
# How long an id the registry did not know is taken as unknown without asking again.
UNKNOWN_FOR_SECONDS = 5.0
_MAX_UNKNOWN = 10_000


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """Where the registry is and how to reach it.

    Args:
        url: the base URL, e.g. http://127.0.0.1:8080/apis/ccompat/v7; user:password@ in it
            is taken as basic-auth user info.
        user_info: basic-auth "user:password" (Confluent's basic.auth.user.info).
        timeout: seconds to connect and to read each answer.
        attempts: tries per lookup before the registry counts as unavailable; a short
            blip (a registry restart) then costs a pause, not a stopped loop.
    """

    url: str
    user_info: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    attempts: int = 3


class SchemaRegistry:
    """Fetches writer schemas by id and keeps them for the life of the process."""

    def __init__(
        self,
        settings: RegistrySettings,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(settings.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        # The URL without credentials: the only form that may appear in a message.
        self.base_url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._session = session or requests.Session()
        self._session.auth = _auth(settings.user_info, parts.username, parts.password)
        self._timeout = settings.timeout
        self._retrying = Retrying(
            retry=retry_if_exception_type(SchemaRegistryUnavailableError),
            stop=stop_after_attempt(max(settings.attempts, 1)),
            wait=wait_random_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )
        self._schemas: dict[int, str] = {}
        self._clock = clock
        self._unknown: dict[int, float] = {}

    def schema(self, schema_id: int) -> str:
        """The writer schema (Avro JSON text) registered under `schema_id`."""
        text = self._schemas.get(schema_id)
        if text is not None:
            return text
        asked = self._unknown.get(schema_id)
        if asked is not None and self._clock() - asked < UNKNOWN_FOR_SECONDS:
            raise _unknown_id(schema_id)
        try:
            text = self._retrying(self._fetch, schema_id)
        except DecodeError as exc:
            if exc.reason == "unknown_schema":
                if len(self._unknown) >= _MAX_UNKNOWN:
                    self._unknown.clear()
                self._unknown[schema_id] = self._clock()
            raise
        self._unknown.pop(schema_id, None)
        self._schemas[schema_id] = text
        return text

    def writer_schema(self, schema_id: int, subject: str) -> str:  # noqa: ARG002 - ids are global
        """The schema registered under the frame's id, whatever the subject."""
        return self.schema(schema_id)

    def _fetch(self, schema_id: int) -> str:
        try:
            response = self._session.get(
                f"{self.base_url}/schemas/ids/{schema_id}", timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise SchemaRegistryUnavailableError(
                f"schema registry {self.base_url} did not answer: {type(exc).__name__}"
            ) from None
        if response.status_code == requests.codes.not_found and _not_found(response):
            raise _unknown_id(schema_id)
        if response.status_code != requests.codes.ok:
            raise SchemaRegistryUnavailableError(
                f"schema registry {self.base_url} answered HTTP {response.status_code} "
                f"for schema id {schema_id}"
            )
        return _avro_text(response, schema_id)


def _unknown_id(schema_id: int) -> DecodeError:
    return DecodeError("unknown_schema", f"schema id {schema_id} is not in the registry")


def _auth(user_info: str | None, user: str | None, password: str | None) -> tuple[str, str] | None:
    if user_info:
        name, _, secret = user_info.partition(":")
        return (name, secret)
    if user is not None:
        return (user, password or "")
    return None


def _not_found(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error_code") == SCHEMA_NOT_FOUND


def _avro_text(response: requests.Response, schema_id: int) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        raise SchemaRegistryUnavailableError(
            f"schema registry answered schema id {schema_id} without a schema"
        )
    kind = body.get("schemaType", "AVRO")
    if kind != "AVRO":
        raise DecodeError("unsupported_schema", f"schema id {schema_id} is {kind}, not Avro")
    return str(body["schema"])
