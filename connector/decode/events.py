"""Decoded values → ChangeEvents: Debezium envelopes, unwrapped rows, tombstones, plain rows.

Shapes, in the order they are recognised:
- no value (a tombstone, which Debezium also sends after each delete): delete the key;
  a second delete of a deleted key is harmless;
- a Debezium envelope {"op", "before", "after", "source", "ts_ms"}: op d deletes (its
  fields are the `before` image), c, u and r (snapshot read) upsert the `after` image;
- Debezium's schema-change, heartbeat and transaction-metadata messages carry no row:
  rejected by name, so a route that matches their topics by mistake shows up in the
  dead-letter topic;
- a row unwrapped by ExtractNewRecordState: `__deleted="true"` (or `__op="d"`) deletes;
  fields named `__…` are Debezium's added metadata and are dropped;
- any other object: upsert its fields, absent fields stay absent.
"""

from __future__ import annotations

from collections.abc import Mapping

from connector.decode.base import describe
from connector.errors import DecodeError
from connector.records import ChangeEvent, Op, SourceRecord

_UPSERT_OPS = frozenset({"c", "u", "r"})
_NOT_ROWS = {"t": "a truncate", "m": "a logical decoding message"}
_SCHEMA_CHANGE_KEYS = frozenset({"ddl", "tableChanges"})
_TRANSACTION_KEYS = frozenset({"status", "id", "data_collections"})
_MAX_OP_SHOWN = 8


def to_event(record: SourceRecord, key: object, value: object) -> ChangeEvent:
    """The event a decoded key and value stand for; DecodeError when they stand for none."""
    if value is None:
        return ChangeEvent(record, key, Op.DELETE, {})
    if not isinstance(value, Mapping):
        raise DecodeError("not_an_object", f"value is {describe(value)}, not an object")
    if "op" in value and ("after" in value or "before" in value):
        return _envelope(record, key, value)
    _reject_control(value)
    fields = {name: v for name, v in value.items() if not name.startswith("__")}
    if str(value.get("__deleted", "")).lower() == "true" or value.get("__op") == "d":
        return ChangeEvent(record, key, Op.DELETE, fields)
    return ChangeEvent(record, key, Op.UPSERT, fields)


def _envelope(record: SourceRecord, key: object, value: Mapping[str, object]) -> ChangeEvent:
    op = value["op"]
    if op == "d":
        before = value.get("before")
        return ChangeEvent(record, key, Op.DELETE, before if isinstance(before, Mapping) else {})
    if op in _NOT_ROWS:
        raise DecodeError("not_a_change_event", f"Debezium op {op!r} is {_NOT_ROWS[op]}, no row")
    if op not in _UPSERT_OPS:
        shown = str(op)[:_MAX_OP_SHOWN]
        raise DecodeError("unknown_op", f"unknown Debezium op {shown!r} (expected c, u, r or d)")
    after = value.get("after")
    if not isinstance(after, Mapping):
        raise DecodeError("undecodable", f"Debezium op {op!r} without an 'after' object")
    return ChangeEvent(record, key, Op.UPSERT, after)


def _reject_control(value: Mapping[str, object]) -> None:
    if _SCHEMA_CHANGE_KEYS & value.keys():
        raise DecodeError("not_a_change_event", "a Debezium schema-change event carries no row")
    if value.keys() == {"ts_ms"}:
        raise DecodeError("not_a_change_event", "a Debezium heartbeat carries no row")
    if value.keys() >= _TRANSACTION_KEYS:
        raise DecodeError("not_a_change_event", "a Debezium transaction marker carries no row")
