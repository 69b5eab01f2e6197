"""Builders for decoder unit tests: records, Confluent frames, and local schema files."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import fastavro
import pytest

from connector.records import Position, SourceRecord

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def make_record(value: bytes | None, key: bytes | None = None, topic: str = "t") -> SourceRecord:
    """A consumed record at offset 7 of partition 0."""
    return SourceRecord(Position(topic, 0, 7), key, value)


def frame(schema: object, datum: object, schema_id: int = 1) -> bytes:
    """`datum` in the Confluent wire format under `schema_id`."""
    out = io.BytesIO()
    out.write(b"\x00" + schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), datum)
    return out.getvalue()


@pytest.fixture
def record() -> Callable[..., SourceRecord]:
    """Builds a SourceRecord from a value (and optionally a key and topic)."""
    return make_record


@pytest.fixture
def avro_frame() -> Callable[..., bytes]:
    """Builds a Confluent-framed Avro body."""
    return frame


@pytest.fixture
def schema_dir(tmp_path: Path) -> Callable[[str, object], Path]:
    """Writes a subject's .avsc into a fresh directory and returns the directory."""

    def write(subject: str, schema: object) -> Path:
        (tmp_path / f"{subject}.avsc").write_text(json.dumps(schema))
        return tmp_path

    return write


@pytest.fixture
def repo_schema() -> Callable[[str], object]:
    """Loads one of the repository's schemas/*.avsc files."""
    return lambda name: json.loads((SCHEMAS / f"{name}.avsc").read_text())
