"""SchemaRegistry's HTTP behaviour that Apicurio cannot show: basic auth, caching, slowness.

Apicurio offers no HTTP basic auth without an OIDC server, so these tests talk to a
small stand-in HTTP server on 127.0.0.1 (a stand-in, not a registry): it serves one
schema behind basic auth and counts requests. The Confluent API itself is tested
against the real Apicurio in test_registry_roundtrip.py.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connector.decode import RegistrySettings, SchemaRegistry
from connector.errors import DecodeError, SchemaRegistryUnavailableError

SCHEMA = json.dumps({"type": "record", "name": "R", "fields": [{"name": "id", "type": "long"}]})
CREDENTIALS = "Basic " + base64.b64encode(b"sr-user:sr-pass").decode()


@dataclass
class StandIn:
    """What the stand-in server saw, and the event that ends its slow answers."""

    port: int
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    """A basic-auth HTTP server on 127.0.0.1 that knows schema id 1 only."""
    seen: list[str] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if self.path.startswith("/slow/"):
                release.wait(10)
            if self.headers.get("Authorization") != CREDENTIALS:
                self._answer(401, {"error_code": 401, "message": "Unauthorized"})
            elif self.path == "/schemas/ids/1":
                self._answer(200, {"schema": SCHEMA})
            else:
                self._answer(404, {"error_code": 40403, "message": "Schema not found"})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:
            """Quiet: the test asserts on `seen` instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StandIn(server.server_address[1], seen, release)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_user_info_setting_authenticates_and_each_id_is_fetched_once(stand_in):
    """basic.auth.user.info is sent, and a second lookup of the id is served from the cache."""
    registry = SchemaRegistry(RegistrySettings(stand_in.url, user_info="sr-user:sr-pass"))
    assert registry.schema(1) == SCHEMA
    assert registry.schema(1) == SCHEMA
    assert stand_in.requests == ["/schemas/ids/1"]


def test_credentials_in_the_url_authenticate(stand_in):
    """user:password@ in the URL is sent as basic auth."""
    url = stand_in.url.replace("http://", "http://sr-user:sr-pass@")
    assert SchemaRegistry(RegistrySettings(url)).schema(1) == SCHEMA


def test_refused_credentials_are_retriable_and_not_quoted(stand_in):
    """A 401 is tried `attempts` times, then retriable; the password is in no message."""
    settings = RegistrySettings(stand_in.url, user_info="sr-user:wrong-pass", attempts=2)
    with pytest.raises(SchemaRegistryUnavailableError, match="HTTP 401") as caught:
        SchemaRegistry(settings).schema(1)
    assert "wrong-pass" not in str(caught.value)
    assert stand_in.requests == ["/schemas/ids/1"] * 2


def test_unknown_id_is_a_decode_error_without_retries(stand_in):
    """Confluent's 40403 means the id is unknown: the record's fault, asked once."""
    registry = SchemaRegistry(RegistrySettings(stand_in.url, user_info="sr-user:sr-pass"))
    with pytest.raises(DecodeError, match="schema id 2 is not in the registry"):
        registry.schema(2)
    assert stand_in.requests == ["/schemas/ids/2"]


def test_a_slow_registry_times_out_as_retriable(stand_in):
    """An answer slower than the timeout is a retriable registry error."""
    settings = RegistrySettings(f"{stand_in.url}/slow", timeout=0.3, attempts=1)
    registry = SchemaRegistry(settings)
    with pytest.raises(SchemaRegistryUnavailableError, match="ReadTimeout"):
        registry.schema(1)


def test_an_unknown_id_is_not_asked_again_for_a_few_seconds(stand_in):
    """A stream framed with an unknown id is dead-lettered without a call per record."""
    now = [100.0]
    registry = SchemaRegistry(
        RegistrySettings(stand_in.url, user_info="sr-user:sr-pass"), clock=lambda: now[0]
    )
    for _ in range(1_000):
        with pytest.raises(DecodeError, match="schema id 2 is not in the registry"):
            registry.schema(2)
    assert stand_in.requests == ["/schemas/ids/2"]
    now[0] += 5.0
    with pytest.raises(DecodeError):
        registry.schema(2)
    assert stand_in.requests == ["/schemas/ids/2"] * 2, "asked again once the window passed"
    assert registry.schema(1) == SCHEMA
