"""Changes to Kafka keys and values: Avro in the Confluent wire format, or JSON.

Both write what Debezium writes: the key is the row's primary key {"id": n}; the value
is the envelope (with its `source` block), the flat row of ExtractNewRecordState with
`__deleted`, a sparse patch, or nothing (a tombstone). Undecodable values alternate
between a truncated body and text in the wrong format.

The Avro encoder keeps one parsed schema and one 5-byte frame header per (table, role):
the hot path is fastavro's writer and nothing else.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import fastavro
from fastavro.types import Schema

from connector.generate.avroschemas import ENVELOPE, KEY, ROW, TableSchemas, patch_role
from connector.generate.mix import Shape
from connector.generate.tables import Table
from connector.generate.world import Change, Row

_EPOCH_2026_MS = 1_767_225_600_000
_NOT_AVRO = b'{"id": "this value is JSON on an Avro topic"}'
_NOT_UTF8 = b"\xff\xfe\x00 not UTF-8"


class Encoder(Protocol):
    """Turns a change into the Kafka record's key and value."""

    def encode(self, change: Change) -> tuple[bytes, bytes | None]:
        """The key and value bytes (a None value is a tombstone)."""
        ...


def source_block(change: Change) -> dict[str, object]:
    """Debezium's `source` struct for a Postgres connector named crm."""
    return {
        "version": "2.7.3.Final",
        "connector": "postgresql",
        "name": "crm",
        "ts_ms": _EPOCH_2026_MS + change.seq,
        "snapshot": "false",
        "db": "crm",
        "schema": "public",
        "table": change.table.name,
        "txId": 1000 + change.seq // 4,
        "lsn": 20_000_000 + change.seq * 64,
    }


@dataclass(frozen=True, slots=True)
class _Writer:
    header: bytes
    schema: Schema

    def write(self, datum: object) -> bytes:
        out = io.BytesIO()
        out.write(self.header)
        fastavro.schemaless_writer(out, self.schema, datum)
        return out.getvalue()


class AvroEncoder:
    """Writes each change with the registered schema of its table and shape."""

    def __init__(
        self, schemas: Mapping[str, TableSchemas], ids: Mapping[str, Mapping[str, int]]
    ) -> None:
        self._writers = {
            name: {
                role: _Writer(b"\x00" + ids[name][role].to_bytes(4, "big"), _parse(text))
                for role, text in table_schemas.texts.items()
            }
            for name, table_schemas in schemas.items()
        }
        self._row_names = {name: s.row_name for name, s in schemas.items()}
        self._patches = {
            name: {frozenset(names): patch_role(i) for i, names in enumerate(s.table.patches)}
            for name, s in schemas.items()
        }

    def encode(self, change: Change) -> tuple[bytes, bytes | None]:
        """The framed key and value."""
        writers = self._writers[change.table.name]
        key = writers[KEY].write({"id": change.key})
        row, shape = change.row, change.shape
        if shape is Shape.TOMBSTONE or row is None:
            return key, None
        if shape is Shape.PATCH:
            role = self._patches[change.table.name][frozenset(row).difference(("id",))]
            return key, writers[role].write(row)
        if shape is Shape.ROW:
            return key, writers[ROW].write({**row, "__deleted": "true"})
        value = writers[ENVELOPE].write(self._envelope(change, row))
        if shape is Shape.GARBAGE:
            return key, value[: len(value) // 2] if change.key % 2 else _NOT_AVRO
        return key, value

    def _envelope(self, change: Change, row: Row) -> dict[str, object]:
        image = (self._row_names[change.table.name], row)
        deleted = change.op == "d"
        return {
            "before": image if deleted else None,
            "after": None if deleted else image,
            "source": source_block(change),
            "op": change.op,
            "ts_ms": _EPOCH_2026_MS + change.seq,
        }


class JsonEncoder:
    """Writes each change as JSON, as JsonConverter does with schemas.enable=false."""

    def encode(self, change: Change) -> tuple[bytes, bytes | None]:
        """The JSON key and value."""
        key = b'{"id":%d}' % change.key
        row, shape = change.row, change.shape
        if shape is Shape.TOMBSTONE or row is None:
            return key, None
        image = json_row(change.table, row)
        if shape is Shape.PATCH:
            return key, _dumps(image)
        if shape is Shape.ROW:
            return key, _dumps({**image, "__deleted": "true"})
        deleted = change.op == "d"
        value = _dumps(
            {
                "before": image if deleted else None,
                "after": None if deleted else image,
                "source": source_block(change),
                "op": change.op,
                "ts_ms": _EPOCH_2026_MS + change.seq,
            }
        )
        if shape is Shape.GARBAGE:
            return key, value[: len(value) // 2] if change.key % 2 else _NOT_UTF8
        return key, value


def json_row(table: Table, row: Row) -> dict[str, object]:
    """A row with each column in its JSON form."""
    out: dict[str, object] = {}
    for name, value in row.items():
        column = table.column(name)
        out[name] = value if column is None else column.as_json(value)
    return out


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _parse(text: str) -> Schema:
    return fastavro.parse_schema(json.loads(text))
