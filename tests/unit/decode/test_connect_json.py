"""JsonConverter's {schema, payload} wrapper: payloads unwrapped, semantic types converted."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from connector.decode import JsonDecoder
from connector.errors import DecodeError
from connector.records import Op


def field(name: str, kind: str, semantic: str | None = None, **extra: object) -> dict[str, object]:
    """One field of a JsonConverter struct schema."""
    spec: dict[str, object] = {"field": name, "type": kind, "optional": True, **extra}
    if semantic:
        spec["name"] = semantic
    return spec


ROW_SCHEMA = {
    "type": "struct",
    "name": "crm.public.account.Value",
    "fields": [
        field("id", "int64"),
        field("founded", "int32", "io.debezium.time.Date"),
        field("seen", "int64", "io.debezium.time.Timestamp"),
        field("created", "int64", "io.debezium.time.MicroTimestamp"),
        field("loaded", "int64", "io.debezium.time.NanoTimestamp"),
        field("updated", "string", "io.debezium.time.ZonedTimestamp"),
        field("opens", "int64", "io.debezium.time.MicroTime"),
        field("closes", "int32", "io.debezium.time.Time"),
        field(
            "amount", "bytes", "org.apache.kafka.connect.data.Decimal", parameters={"scale": "2"}
        ),
        field(
            "ratio",
            "struct",
            "io.debezium.data.VariableScaleDecimal",
            fields=[field("scale", "int32"), field("value", "bytes")],
        ),
    ],
}

PAYLOAD = {
    "id": 1,
    "founded": 19_000,
    "seen": 1_700_000_000_123,
    "created": 1_700_000_000_123_456,
    "loaded": 1_700_000_000_123_456_789,
    "updated": "2026-01-02T03:04:05+02:00",
    "opens": 34_200_000_000,
    "closes": 61_200_000,
    "amount": base64.b64encode((-12345).to_bytes(2, "big", signed=True)).decode(),
    "ratio": {"scale": 3, "value": base64.b64encode((5).to_bytes(1, "big")).decode()},
}


def decode(record, value: object, key: object = None):
    """The event JsonDecoder makes of `value` and `key` as JSON."""
    raw_key = None if key is None else json.dumps(key).encode()
    return JsonDecoder().decode(record(json.dumps(value).encode(), raw_key))


def test_payload_semantic_types_become_python_values(record):
    """Debezium times and Connect decimals in a JsonConverter row become Python values."""
    fields = decode(record, {"schema": ROW_SCHEMA, "payload": dict(PAYLOAD)}).fields
    assert fields["founded"] == date(2022, 1, 8)
    assert fields["seen"] == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert fields["created"] == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert fields["loaded"] == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert fields["updated"] == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert fields["opens"] == time(9, 30)
    assert fields["closes"] == time(17, 0)
    assert fields["amount"] == Decimal("-123.45")
    assert fields["ratio"] == Decimal("0.005")


def test_null_semantic_fields_stay_null(record):
    """An optional semantic field sent as null stays None."""
    fields = decode(record, {"schema": ROW_SCHEMA, "payload": {"id": 1, "founded": None}}).fields
    assert fields["founded"] is None


def test_numeric_decimal_format_is_read_as_a_decimal(record):
    """decimal.format=NUMERIC sends decimals as JSON numbers; they become exact Decimals."""
    fields = decode(record, {"schema": ROW_SCHEMA, "payload": {"amount": 12.5}}).fields
    assert fields["amount"] == Decimal("12.5")


def test_wrapped_envelope_converts_the_after_image(record):
    """A wrapped Debezium envelope upserts its converted `after` image."""
    schema = {
        "type": "struct",
        "fields": [
            {**ROW_SCHEMA, "field": "before", "optional": True},
            {**ROW_SCHEMA, "field": "after", "optional": True},
            field("op", "string"),
        ],
    }
    value = {"before": None, "after": {"id": 1, "founded": 0}, "op": "c"}
    event = decode(record, {"schema": schema, "payload": value})
    assert (event.op, event.fields["founded"]) == (Op.UPSERT, date(1970, 1, 1))


def test_wrapped_key_is_unwrapped(record):
    """A key written by JsonConverter with schemas is its payload."""
    key = {"schema": {"type": "struct", "fields": [field("id", "int64")]}, "payload": {"id": 9}}
    assert decode(record, {"id": 9}, key=key).key == {"id": 9}


def test_wrapped_tombstone_payload_deletes(record):
    """A wrapper with a null payload is a tombstone."""
    assert decode(record, {"schema": None, "payload": None}, key="k").op == Op.DELETE


def test_value_that_contradicts_its_schema_is_rejected(record):
    """A Date field holding text is a DecodeError naming the cause, not the value."""
    with pytest.raises(DecodeError) as caught:
        decode(record, {"schema": ROW_SCHEMA, "payload": {"founded": "secret-text"}})
    assert caught.value.reason == "bad_value"
    assert "secret-text" not in str(caught.value)
