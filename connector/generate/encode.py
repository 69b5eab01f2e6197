"""Changes to Kafka keys and values: Avro in the Confluent wire format, or JSON.

Both write what Debezium writes: the key is the row's primary key {"id": n}; the value
is the envelope (with its `source` block), the flat row of ExtractNewRecordState with
`__deleted`, a sparse patch, or nothing (a tombstone). Undecodable values alternate
between a truncated body and text in the wrong format.

Avro's binary encoding of a record is its fields' encodings, one after the other, so
the Avro encoder has fastavro write every pool value of every column once, as its
field (union branch included), and then writes a row by joining those bytes with the
key and the Debezium `source` block. tests/unit/generate checks that every shape comes
out byte for byte as fastavro writes it whole.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import fastavro

from connector.generate.avroschemas import ENVELOPE, KEY, ROW, TableSchemas, patch_role
from connector.generate.mix import Shape
from connector.generate.tables import Table
from connector.generate.world import Change, Row

EPOCH_2026_MS = 1_767_225_600_000
TRANSACTION_SIZE = 8
_NOT_AVRO = b'{"id": "this value is JSON on an Avro topic"}'
_NOT_UTF8 = b"\xff\xfe\x00 not UTF-8"
_NULL, _SECOND = b"\x00", b"\x02"  # union branch 0 (null) and branch 1
_DELETED = _SECOND + b"\x08true"  # __deleted: branch 1, the 4-byte string "true"
_KEY, _PARENT = -1, -2  # field slots that are not pool columns


class Encoder(Protocol):
    """Turns a change into the Kafka record's key and value."""

    def encode(self, change: Change) -> tuple[bytes, bytes | None]:
        """The key and value bytes (a None value is a tombstone)."""
        ...


def transaction(seq: int) -> tuple[int, int, int]:
    """The (commit time in ms, transaction id, commit LSN) of the change numbered `seq`.

    Changes come in transactions of TRANSACTION_SIZE, all in one millisecond.
    """
    number = seq // TRANSACTION_SIZE
    return EPOCH_2026_MS + number, 1000 + number, 20_000_000 + number * 512


def source_block(change: Change) -> dict[str, object]:
    """Debezium's `source` struct for a Postgres connector named crm."""
    ts_ms, tx_id, lsn = transaction(change.seq)
    return {
        "version": "2.7.3.Final",
        "connector": "postgresql",
        "name": "crm",
        "ts_ms": ts_ms,
        "snapshot": "false",
        "db": "crm",
        "schema": "public",
        "table": change.table.name,
        "txId": tx_id,
        "lsn": lsn,
    }


def long_bytes(number: int) -> bytes:
    """An Avro long: zigzag, then base-128 varint, low groups first."""
    n = (number << 1) ^ (number >> 63)
    out = bytearray()
    while n > 0x7F:  # noqa: PLR2004 - seven bits per byte
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def string_bytes(text: str) -> bytes:
    """An Avro string: its UTF-8 length as a long, then the bytes."""
    raw = text.encode()
    return long_bytes(len(raw)) + raw


class _AvroTable:
    """One table's frame headers, field layouts and pre-written pool values."""

    def __init__(self, schemas: TableSchemas, ids: Mapping[str, int]) -> None:
        table = schemas.table
        self.headers = {role: b"\x00" + ids[role].to_bytes(4, "big") for role in schemas.texts}
        row_record = json.loads(schemas.texts[ROW])
        fields = [f for f in row_record["fields"] if f["name"] != "__deleted"]
        by_name = {f["name"]: f for f in fields}
        self.cells = [
            _written(by_name[column.source], pool.values)
            for column, pool in zip(table.columns, table.pools, strict=True)
        ]
        layout = [self._slot(table, f["name"]) for f in fields]
        self.full = self._plan(layout)
        self.patches = [
            self._plan([s for s in layout if s == _KEY or table.columns[s].source in names])
            for names in table.patches
        ]
        self.source_head = b"".join(map(string_bytes, ("2.7.3.Final", "postgresql", "crm")))
        self.source_middle = _NULL + b"".join(map(string_bytes, ("false", "crm", "public")))
        self.source_middle += string_bytes(table.name)
        self._source: tuple[int, bytes, bytes] = (-1, b"", b"")

    @staticmethod
    def _slot(table: Table, name: str) -> int:
        if name == "id":
            return _KEY
        if table.parent is not None and name == table.parent.column:
            return _PARENT
        return table.positions[name]

    def _plan(self, layout: list[int]) -> _Plan:
        if layout[0] != _KEY:
            raise ValueError("the row record must start with the key column `id`")
        columns = [(slot, self.cells[slot]) for slot in layout if slot >= 0]
        return _Plan(columns, layout.index(_PARENT) - 1 if _PARENT in layout else -1)

    def row(self, key: int, row: Row, plan: _Plan) -> bytes:
        parts = [cells[row[slot]] for slot, cells in plan.columns]
        if plan.parent_at >= 0:
            parts.insert(plan.parent_at, _SECOND + string_bytes(str(row[-1])))
        return long_bytes(key) + b"".join(parts)

    def envelope(self, change: Change, row: Row) -> bytes:
        image = self.row(change.key, row, self.full)
        images = _SECOND + image + _NULL if change.op == "d" else _NULL + _SECOND + image
        source, ts = self._source_of(change.seq)
        return b"".join((images, source, string_bytes(change.op), _SECOND, ts))

    def _source_of(self, seq: int) -> tuple[bytes, bytes]:
        number = seq // TRANSACTION_SIZE
        if self._source[0] != number:  # a transaction's changes share their source block
            ts_ms, tx_id, lsn = transaction(seq)
            ts = long_bytes(ts_ms)
            source = b"".join(
                (
                    self.source_head,
                    ts,
                    self.source_middle,
                    _SECOND,
                    long_bytes(tx_id),
                    _SECOND,
                    long_bytes(lsn),
                )
            )
            self._source = (number, source, ts)
        return self._source[1], self._source[2]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to write a row record: its pool columns in field order, then the parent.

    `parent_at` is where the parent reference goes among the columns (-1: nowhere).
    """

    columns: list[tuple[int, tuple[bytes, ...]]]
    parent_at: int


class AvroEncoder:
    """Writes each change with the registered schema of its table and shape."""

    def __init__(
        self, schemas: Mapping[str, TableSchemas], ids: Mapping[str, Mapping[str, int]]
    ) -> None:
        self._tables = {name: _AvroTable(s, ids[name]) for name, s in schemas.items()}

    def encode(self, change: Change) -> tuple[bytes, bytes | None]:
        """The framed key and value."""
        avro = self._tables[change.table.name]
        headers = avro.headers
        key = headers[KEY] + long_bytes(change.key)
        row, shape = change.row, change.shape
        if shape is Shape.TOMBSTONE or row is None:
            return key, None
        if shape is Shape.PATCH:
            body = avro.row(change.key, row, avro.patches[change.patch])
            return key, headers[patch_role(change.patch)] + body
        if shape is Shape.ROW:
            body = avro.row(change.key, row, avro.full) + _DELETED
            return key, headers[ROW] + body
        value = headers[ENVELOPE] + avro.envelope(change, row)
        if shape is Shape.GARBAGE:
            return key, value[: len(value) // 2] if change.key % 2 else _NOT_AVRO
        return key, value


class JsonEncoder:
    """Writes each change as JSON, as JsonConverter does with schemas.enable=false."""

    def encode(self, change: Change) -> tuple[bytes, bytes | None]:
        """The JSON key and value."""
        key = b'{"id":%d}' % change.key
        row, shape, table = change.row, change.shape, change.table
        if shape is Shape.TOMBSTONE or row is None:
            return key, None
        if shape is Shape.PATCH:
            return key, _dumps(json_row(table, change.key, row, table.patches[change.patch]))
        image = json_row(table, change.key, row)
        if shape is Shape.ROW:
            return key, _dumps({**image, "__deleted": "true"})
        deleted = change.op == "d"
        value = _dumps(
            {
                "before": image if deleted else None,
                "after": None if deleted else image,
                "source": source_block(change),
                "op": change.op,
                "ts_ms": transaction(change.seq)[0],
            }
        )
        if shape is Shape.GARBAGE:
            return key, value[: len(value) // 2] if change.key % 2 else _NOT_UTF8
        return key, value


def json_row(
    table: Table, key: int, row: Row, names: Sequence[str] | None = None
) -> dict[str, object]:
    """A row (or the `names` columns of it) with each value in its JSON form."""
    out: dict[str, object] = {"id": key}
    for column, pool, index in zip(table.columns, table.pools, row, strict=False):
        if names is None or column.source in names:
            out[column.source] = pool.json[index]
    if table.parent is not None and names is None:
        out[table.parent.column] = str(row[-1])
    return out


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _written(field: dict[str, Any], values: Sequence[object]) -> tuple[bytes, ...]:
    schema = fastavro.parse_schema({"type": "record", "name": "One", "fields": [field]})
    name = field["name"]
    out = []
    for value in values:
        body = io.BytesIO()
        fastavro.schemaless_writer(body, schema, {name: value})
        out.append(body.getvalue())
    return tuple(out)
