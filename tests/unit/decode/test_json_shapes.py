"""JsonDecoder: plain rows, Debezium envelopes and unwrapped rows, tombstones, rejections."""

from __future__ import annotations

import json

import pytest

from connector.decode import JsonDecoder
from connector.errors import DecodeError
from connector.records import Op


def decode(record, value: object, key: bytes | None = b'{"id": 1}'):
    """The event JsonDecoder makes of `value` as JSON (None: a tombstone)."""
    raw = None if value is None else json.dumps(value).encode()
    return JsonDecoder().decode(record(raw, key))


def test_plain_row_is_an_upsert_of_its_fields(record):
    """A flat JSON object upserts exactly the fields it carries."""
    event = decode(record, {"id": 1, "name": "Acme"})
    assert (event.op, event.key, dict(event.fields)) == (
        Op.UPSERT,
        {"id": 1},
        {"id": 1, "name": "Acme"},
    )


def test_null_field_is_present_and_absent_field_is_absent(record):
    """A field set to null stays as None; a field not sent is not in the event."""
    event = decode(record, {"id": 1, "phone": None})
    assert event.fields["phone"] is None
    assert "name" not in event.fields


def test_tombstone_deletes_the_key(record):
    """A null value deletes the record's key."""
    event = decode(record, None)
    assert (event.op, event.key, dict(event.fields)) == (Op.DELETE, {"id": 1}, {})


def test_tombstone_without_a_key_gives_key_none(record):
    """The decoder leaves a missing key to the mapping stage: key is None."""
    assert decode(record, None, key=None).key is None


def test_plain_string_key_is_its_text(record):
    """A key that is not JSON is taken as UTF-8 text."""
    assert decode(record, {"a": 1}, key=b"ACC-001").key == "ACC-001"


def test_json_string_key_is_unquoted(record):
    """A JSON string key decodes to the string."""
    assert decode(record, {"a": 1}, key=b'"ACC-001"').key == "ACC-001"


def test_key_that_is_not_utf8_is_rejected_as_a_key_error(record):
    """Key bytes that are neither JSON nor text fail at the key converter stage."""
    with pytest.raises(DecodeError) as caught:
        decode(record, {"a": 1}, key=b"\xff\xfe")
    assert caught.value.stage == "KEY_CONVERTER"


@pytest.mark.parametrize("op", ["c", "u", "r"])
def test_envelope_create_update_and_read_upsert_the_after_image(record, op):
    """Debezium ops c, u and r upsert the `after` fields."""
    event = decode(record, {"before": None, "after": {"id": 1, "n": 2}, "op": op, "source": {}})
    assert (event.op, dict(event.fields)) == (Op.UPSERT, {"id": 1, "n": 2})


def test_envelope_delete_deletes_with_the_before_image(record):
    """Debezium op d deletes the message key and carries the `before` fields."""
    event = decode(record, {"before": {"id": 1}, "after": None, "op": "d", "source": {}})
    assert (event.op, event.key, dict(event.fields)) == (Op.DELETE, {"id": 1}, {"id": 1})


def test_unwrapped_row_marked_deleted_is_a_delete_without_metadata(record):
    """ExtractNewRecordState's __deleted="true" deletes; __ fields are dropped."""
    event = decode(record, {"id": 1, "name": "x", "__deleted": "true", "__op": "d"})
    assert (event.op, dict(event.fields)) == (Op.DELETE, {"id": 1, "name": "x"})


def test_unwrapped_row_not_deleted_is_an_upsert(record):
    """__deleted="false" is an ordinary upsert."""
    event = decode(record, {"id": 1, "__deleted": "false", "__op": "u"})
    assert (event.op, dict(event.fields)) == (Op.UPSERT, {"id": 1})


def test_unknown_op_is_rejected_with_the_record(record):
    """An op outside c, u, r, d is a DecodeError carrying the record."""
    rec = record(json.dumps({"before": None, "after": {}, "op": "x"}).encode())
    with pytest.raises(DecodeError) as caught:
        JsonDecoder().decode(rec)
    assert (caught.value.reason, caught.value.record) == ("unknown_op", rec)


def test_truncate_is_not_a_row(record):
    """A Debezium truncate event is rejected as carrying no row."""
    with pytest.raises(DecodeError, match="truncate"):
        decode(record, {"before": None, "after": None, "op": "t", "source": {}})


def test_schema_change_event_is_rejected_as_no_row(record):
    """Debezium's schema-change messages are not rows to upsert."""
    with pytest.raises(DecodeError) as caught:
        decode(record, {"source": {}, "ddl": "CREATE TABLE x ()", "tableChanges": []})
    assert caught.value.reason == "not_a_change_event"


def test_heartbeat_is_rejected_as_no_row(record):
    """Debezium's heartbeat {"ts_ms": …} is not a row to upsert."""
    with pytest.raises(DecodeError, match="heartbeat"):
        decode(record, {"ts_ms": 1})


def test_transaction_marker_is_rejected_as_no_row(record):
    """Debezium's transaction BEGIN/END markers are not rows to upsert."""
    marker = {"status": "END", "id": "571:53195832", "event_count": 2, "data_collections": []}
    with pytest.raises(DecodeError, match="transaction marker"):
        decode(record, marker)


def test_bad_json_is_rejected_with_a_position_not_the_payload(record):
    """Invalid JSON names the parser's complaint and position, never the bytes."""
    with pytest.raises(DecodeError) as caught:
        JsonDecoder().decode(record(b'{"secret": "hunter2"'))
    assert caught.value.reason == "undecodable"
    assert "hunter2" not in str(caught.value)


def test_value_not_utf8_is_rejected(record):
    """A value that is not UTF-8 is rejected as undecodable."""
    with pytest.raises(DecodeError, match="UTF-8"):
        JsonDecoder().decode(record(b"\xff\xfe\x00"))


@pytest.mark.parametrize(
    ("value", "kind"), [([1, 2], "an array"), ("x", "a string"), (3, "a number")]
)
def test_non_object_json_is_rejected(record, value, kind):
    """JSON that is not an object carries no fields and is rejected by kind."""
    with pytest.raises(DecodeError, match=kind) as caught:
        decode(record, value)
    assert caught.value.reason == "not_an_object"
