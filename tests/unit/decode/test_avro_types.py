"""Avro logical types and Debezium semantic types read from Avro become Python values."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from connector.decode import AvroDecoder, LocalSchemas
from connector.errors import DecodeError
from connector.records import Op

SOURCE = {"version": "2.7", "connector": "postgresql", "name": "crm", "ts_ms": 1,
          "snapshot": "false", "db": "crm", "schema": "public", "table": "account",
          "txId": None, "lsn": None}  # fmt: skip


def logical(kind: str, logical_type: str, **extra: object) -> dict[str, object]:
    """An Avro type with a logicalType."""
    return {"type": kind, "logicalType": logical_type, **extra}


def connect(kind: str, name: str, **extra: object) -> dict[str, object]:
    """An Avro type named by Kafka Connect's connect.name."""
    return {"type": kind, "connect.name": name, **extra}


def read(schema_dir, record, avro_frame, fields: list[dict[str, object]], row: dict[str, object]):
    """The fields decoded from `row` written with a record schema of `fields`."""
    schema = {"type": "record", "name": "Row", "fields": fields}
    decoder = AvroDecoder(LocalSchemas(schema_dir("t-value", schema)))
    return decoder.decode(record(avro_frame(schema, row))).fields


def test_avro_logical_types(schema_dir, record, avro_frame):
    """date, time, timestamp, local-timestamp, decimal and uuid become Python values."""
    moment = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    ident = uuid.uuid4()
    fields = [
        {"name": "d", "type": logical("int", "date")},
        {"name": "tm", "type": logical("int", "time-millis")},
        {"name": "tu", "type": logical("long", "time-micros")},
        {"name": "sm", "type": logical("long", "timestamp-millis")},
        {"name": "su", "type": logical("long", "timestamp-micros")},
        {"name": "lm", "type": logical("long", "local-timestamp-millis")},
        {"name": "lu", "type": logical("long", "local-timestamp-micros")},
        {"name": "db", "type": logical("bytes", "decimal", precision=10, scale=2)},
        {"name": "df", "type": {"type": "fixed", "name": "F", "size": 8,
                                "logicalType": "decimal", "precision": 12, "scale": 3}},
        {"name": "u", "type": logical("string", "uuid")},
    ]  # fmt: skip
    row = {"d": date(2026, 3, 4), "tm": time(5, 6, 7, 890000), "tu": time(5, 6, 7, 890123),
           "sm": moment, "su": moment, "lm": moment.replace(tzinfo=None),
           "lu": moment.replace(tzinfo=None), "db": Decimal("-12.34"), "df": Decimal("1.500"),
           "u": str(ident)}  # fmt: skip
    got = read(schema_dir, record, avro_frame, fields, row)
    assert got["d"] == date(2026, 3, 4)
    assert (got["tm"], got["tu"]) == (time(5, 6, 7, 890000), time(5, 6, 7, 890123))
    assert got["sm"] == moment.replace(microsecond=890000)
    assert got["su"] == moment
    assert got["lm"] == moment.replace(microsecond=890000)
    assert got["lu"] == moment
    assert got["lu"].tzinfo is UTC
    assert (got["db"], got["df"]) == (Decimal("-12.34"), Decimal("1.500"))
    assert got["u"] == str(ident)


def test_debezium_semantic_types_by_connect_name(schema_dir, record, avro_frame):
    """Debezium's times and decimals, named by connect.name, become Python values."""
    vsd = {
        "type": "record",
        "name": "VariableScaleDecimal",
        "namespace": "io.debezium.data",
        "connect.name": "io.debezium.data.VariableScaleDecimal",
        "fields": [{"name": "scale", "type": "int"}, {"name": "value", "type": "bytes"}],
    }
    decimal = connect(
        "bytes", "org.apache.kafka.connect.data.Decimal", **{"connect.parameters": {"scale": "2"}}
    )
    fields = [
        {"name": "d", "type": connect("int", "io.debezium.time.Date")},
        {"name": "t", "type": connect("int", "io.debezium.time.Time")},
        {"name": "mt", "type": connect("long", "io.debezium.time.MicroTime")},
        {"name": "nt", "type": connect("long", "io.debezium.time.NanoTime")},
        {"name": "ts", "type": connect("long", "io.debezium.time.Timestamp")},
        {"name": "mts", "type": connect("long", "io.debezium.time.MicroTimestamp")},
        {"name": "nts", "type": connect("long", "io.debezium.time.NanoTimestamp")},
        {"name": "z", "type": ["null", connect("string", "io.debezium.time.ZonedTimestamp")]},
        {"name": "cd", "type": connect("int", "org.apache.kafka.connect.data.Date")},
        {"name": "ct", "type": connect("long", "org.apache.kafka.connect.data.Timestamp")},
        {"name": "dec", "type": decimal},
        {"name": "v", "type": ["null", vsd]},
        {"name": "v2", "type": ["null", "io.debezium.data.VariableScaleDecimal"]},
    ]  # fmt: skip
    row = {"d": -1, "t": 3_600_000, "mt": 3_600_000_001, "nt": 3_600_000_001_000,
           "ts": 1_000, "mts": 1_000_001, "nts": 1_000_001_000, "z": "2026-01-01T00:00:00-05:00",
           "cd": 1, "ct": 86_400_000, "dec": (1234).to_bytes(2, "big"),
           "v": {"scale": 1, "value": b"\xff"}, "v2": None}  # fmt: skip
    got = read(schema_dir, record, avro_frame, fields, row)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert got["d"] == date(1969, 12, 31)
    assert (got["t"], got["mt"], got["nt"]) == (time(1), time(1, 0, 0, 1), time(1, 0, 0, 1))
    assert got["ts"] == epoch.replace(second=1)
    assert got["mts"] == got["nts"] == epoch.replace(second=1, microsecond=1)
    assert got["z"] == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert (got["cd"], got["ct"]) == (date(1970, 1, 2), epoch.replace(day=2))
    assert got["dec"] == Decimal("12.34")
    assert (got["v"], got["v2"]) == (Decimal("-0.1"), None)


def test_semantic_types_inside_arrays_and_maps(schema_dir, record, avro_frame):
    """Debezium dates inside arrays and maps are converted too."""
    day = connect("int", "io.debezium.time.Date")
    fields = [
        {"name": "a", "type": {"type": "array", "items": day}},
        {"name": "m", "type": {"type": "map", "values": day}},
    ]
    got = read(schema_dir, record, avro_frame, fields, {"a": [0, 1], "m": {"x": 2}})
    assert got["a"] == [date(1970, 1, 1), date(1970, 1, 2)]
    assert got["m"] == {"x": date(1970, 1, 3)}


def test_bad_zoned_timestamp_is_a_bad_value(schema_dir, record, avro_frame):
    """A ZonedTimestamp that is not ISO 8601 is rejected as bad_value, text not quoted."""
    fields = [{"name": "z", "type": connect("string", "io.debezium.time.ZonedTimestamp")}]
    with pytest.raises(DecodeError) as caught:
        read(schema_dir, record, avro_frame, fields, {"z": "not-a-time"})
    assert caught.value.reason == "bad_value"
    assert "not-a-time" not in str(caught.value)


def test_debezium_account_envelope_from_schemas_dir(repo_schema, record, avro_frame, tmp_path):
    """The repository's account-value.avsc envelope decodes to an upsert of `after`."""
    schema = repo_schema("account-value")
    (tmp_path / "account-value.avsc").write_text(json.dumps(schema))
    decoder = AvroDecoder(LocalSchemas(tmp_path, {"cdc.account-value": "account-value.avsc"}))
    after = {"id": 7, "external_key": "A-7", "name": "Acme", "industry": None,
             "annual_revenue": Decimal("10.50"), "employees": 3, "rating": None, "active": True,
             "founded": 1, "created_at": 0, "updated_at": None, "opens_at": None,
             "website": None, "phone": None, "billing_city": None, "billing_country": None,
             "credit_limit": None, "public_id": None}  # fmt: skip
    envelope = {"before": None, "after": after, "source": SOURCE, "op": "r", "ts_ms": 1}
    event = decoder.decode(record(avro_frame(schema, envelope), key=b"7", topic="cdc.account"))
    assert (event.op, event.key) == (Op.UPSERT, 7)
    assert event.fields["founded"] == date(1970, 1, 2)
    assert event.fields["created_at"] == datetime(1970, 1, 1, tzinfo=UTC)
    assert event.fields["annual_revenue"] == Decimal("10.50")


def test_debezium_delete_envelope_deletes(repo_schema, record, avro_frame, tmp_path):
    """An Avro envelope with op d deletes the key with the `before` image."""
    schema = repo_schema("contact-value")
    (tmp_path / "t-value.avsc").write_text(json.dumps(schema))
    before = {"id": 1, "external_key": "C-1", "account_key": None, "first_name": None,
              "last_name": "Doe", "email": None, "phone": None, "title": None,
              "birthdate": None, "do_not_call": False, "lead_score": None, "created_at": 0,
              "updated_at": None, "last_contacted": None, "salary": None}  # fmt: skip
    envelope = {"before": before, "after": None, "source": SOURCE, "op": "d", "ts_ms": 1}
    event = AvroDecoder(LocalSchemas(tmp_path)).decode(record(avro_frame(schema, envelope)))
    assert (event.op, event.fields["last_name"]) == (Op.DELETE, "Doe")
    assert event.fields["created_at"] == datetime(1970, 1, 1, tzinfo=UTC)
