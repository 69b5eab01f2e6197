"""A minimal Kafka ApiVersions (v3) probe: what a broker says about itself on the wire.

confluent-kafka's admin client does not expose the broker's finalized features, so
the test that proves the fixture is Apache Kafka asks the broker directly.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

API_VERSIONS = 18


@dataclass(frozen=True)
class BrokerVersions:
    """What ApiVersions v3 answered: API ranges and finalized feature levels."""

    api_keys: dict[int, tuple[int, int]]
    finalized_features: dict[str, int]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return int(value)

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def compact_string(self) -> str:
        length = self.uvarint() - 1
        text = self.data[self.pos : self.pos + length].decode()
        self.pos += length
        return text

    def skip_tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()


def _request(correlation_id: int) -> bytes:
    client_id = b"sfsink-tests"
    header = struct.pack(">hhih", API_VERSIONS, 3, correlation_id, len(client_id))
    header += client_id + b"\x00"
    body = b""
    for text in (b"sfsink-tests", b"1"):
        body += bytes([len(text) + 1]) + text
    body += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def probe(bootstrap: str) -> BrokerVersions:
    """Send ApiVersions v3 to host:port and parse the answer."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(_request(correlation_id=7))
        size = struct.unpack(">i", _recv(sock, 4))[0]
        reader = _Reader(_recv(sock, size))
    assert reader.take(">i") == 7
    assert reader.take(">h") == 0, "ApiVersions returned an error code"
    api_keys = {}
    for _ in range(reader.uvarint() - 1):
        key, low, high = reader.take(">h"), reader.take(">h"), reader.take(">h")
        reader.skip_tags()
        api_keys[key] = (low, high)
    reader.take(">i")
    finalized: dict[str, int] = {}
    for _ in range(reader.uvarint()):
        tag, size = reader.uvarint(), reader.uvarint()
        end = reader.pos + size
        if tag == 2:
            for _ in range(reader.uvarint() - 1):
                name = reader.compact_string()
                finalized[name] = reader.take(">h")
                reader.take(">h")
                reader.skip_tags()
        reader.pos = end
    return BrokerVersions(api_keys=api_keys, finalized_features=finalized)


def _recv(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "broker closed the connection"
        data += chunk
    return data
