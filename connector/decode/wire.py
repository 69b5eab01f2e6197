"""The Confluent wire format: magic byte 0, a 4-byte big-endian schema id, the Avro body."""

from __future__ import annotations

from connector.errors import DecodeError

MAGIC = 0
HEADER_SIZE = 5


def schema_id(raw: bytes, stage: str) -> int:
    """The schema id of a framed message; any other framing is rejected, never guessed at."""
    if len(raw) < HEADER_SIZE:
        raise DecodeError(
            "bad_framing",
            f"{len(raw)} bytes is too short for the Confluent wire format "
            "(magic byte 0, 4-byte schema id, Avro body)",
            stage=stage,
        )
    if raw[0] != MAGIC:
        raise DecodeError(
            "bad_framing",
            f"magic byte is {raw[0]}, not 0: not in the Confluent wire format",
            stage=stage,
        )
    return int.from_bytes(raw[1:HEADER_SIZE], "big")


def is_framed(raw: bytes) -> bool:
    """Whether a key looks framed: JSON and text keys never start with a zero byte."""
    return len(raw) >= HEADER_SIZE and raw[0] == MAGIC
