"""Avro values and keys in the Confluent wire format, read with fastavro.

The writer schema comes from a schema registry (by the frame's id) or from local .avsc
files (by subject). Everything derived from a schema (fastavro's parsed form, the
type-conversion plan) is built once per (subject, id) and reused: the hot path is a
dict lookup, fastavro's reader and the few conversions the schema asks for.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Protocol

import fastavro
from fastavro.types import Schema

from connector.decode import avroplan, wire
from connector.decode.base import KEY_STAGE, VALUE_STAGE, attach
from connector.decode.events import to_event
from connector.decode.jsonfmt import text_key
from connector.decode.semantic import Convert
from connector.errors import DecodeError
from connector.records import ChangeEvent, SourceRecord

# What a body that does not match its writer schema makes fastavro raise.
_READ_ERRORS = (EOFError, ValueError, IndexError, KeyError, TypeError, OverflowError)


class SchemaSource(Protocol):
    """Where writer schemas come from: SchemaRegistry or LocalSchemas."""

    def writer_schema(self, schema_id: int, subject: str) -> str:
        """The Avro schema text for this frame."""
        ...


@dataclass(frozen=True, slots=True)
class _Reader:
    """Everything one writer schema needs to read a body."""

    schema: Schema
    convert: Convert | None


class AvroDecoder:
    """Decodes Avro values (and Avro keys; JSON and text keys pass through as JSON does)."""

    def __init__(self, schemas: SchemaSource) -> None:
        self._schemas = schemas
        self._readers: dict[tuple[str, int], _Reader] = {}

    def decode(self, record: SourceRecord) -> ChangeEvent:
        """The event this record carries; DecodeError (with the record) when none."""
        topic = record.position.topic
        try:
            key = self._key(record.key, topic)
            value = None
            if record.value is not None:
                value = self.read(record.value, f"{topic}-value", VALUE_STAGE)
            return to_event(record, key, value)
        except DecodeError as exc:
            raise attach(exc, record) from None

    def read(self, raw: bytes, subject: str, stage: str) -> object:
        """One framed body as Python values."""
        schema_id = wire.schema_id(raw, stage)
        reader = self._reader(schema_id, subject, stage)
        body = io.BytesIO(raw)
        body.seek(wire.HEADER_SIZE)
        try:
            value: object = fastavro.schemaless_reader(body, reader.schema, None)
        except _READ_ERRORS as exc:
            raise DecodeError(
                "undecodable",
                f"the Avro body does not match writer schema {schema_id} ({type(exc).__name__})",
                stage=stage,
            ) from None
        if body.tell() != len(raw):
            raise DecodeError(
                "undecodable",
                f"{len(raw) - body.tell()} bytes left after reading writer schema {schema_id}",
                stage=stage,
            )
        return value if reader.convert is None else _converted(reader.convert, value, stage)

    def _key(self, raw: bytes | None, topic: str) -> object:
        if raw is None:
            return None
        if wire.is_framed(raw):
            return self.read(raw, f"{topic}-key", KEY_STAGE)
        return text_key(raw)

    def _reader(self, schema_id: int, subject: str, stage: str) -> _Reader:
        reader = self._readers.get((subject, schema_id))
        if reader is None:
            try:
                text = self._schemas.writer_schema(schema_id, subject)
            except DecodeError as exc:
                exc.stage = stage  # the schema source cannot tell a key from a value
                raise
            reader = _compile(text, schema_id, stage)
            self._readers[(subject, schema_id)] = reader
        return reader


def _converted(convert: Convert, value: object, stage: str) -> object:
    try:
        return convert(value)
    except _READ_ERRORS as exc:
        raise DecodeError(
            "bad_value",
            f"a field does not hold what its semantic type says ({type(exc).__name__})",
            stage=stage,
        ) from None


def _compile(text: str, schema_id: int, stage: str) -> _Reader:
    try:
        raw = json.loads(text)
        # The raw schema keeps `connect.name` and the other properties fastavro ignores.
        return _Reader(fastavro.parse_schema(raw), avroplan.plan(raw))
    except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
        raise DecodeError(
            "bad_schema",
            f"writer schema {schema_id} is not a valid Avro schema ({type(exc).__name__})",
            stage=stage,
        ) from None
