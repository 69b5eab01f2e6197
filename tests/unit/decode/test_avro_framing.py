"""AvroDecoder framing: only the Confluent wire format is read; anything else is rejected."""

from __future__ import annotations

import pytest

from connector.decode import AvroDecoder, LocalSchemas
from connector.errors import DecodeError

ROW = {"type": "record", "name": "Row", "fields": [{"name": "id", "type": "long"}]}


@pytest.fixture
def decoder(schema_dir) -> AvroDecoder:
    """An AvroDecoder whose topic `t` has the one-field ROW schema."""
    return AvroDecoder(LocalSchemas(schema_dir("t-value", ROW)))


def rejection(decoder: AvroDecoder, rec) -> DecodeError:
    """The DecodeError decoding `rec` raises, checked to carry the record."""
    with pytest.raises(DecodeError) as caught:
        decoder.decode(rec)
    assert caught.value.record is rec
    return caught.value


def test_framed_value_decodes(decoder, record, avro_frame):
    """Magic byte 0, a schema id and an Avro body decode to the row."""
    assert dict(decoder.decode(record(avro_frame(ROW, {"id": 5}))).fields) == {"id": 5}


def test_wrong_magic_byte_is_rejected(decoder, record, avro_frame):
    """A first byte other than 0 is not the Confluent wire format."""
    raw = b"\x01" + avro_frame(ROW, {"id": 5})[1:]
    error = rejection(decoder, record(raw))
    assert (error.reason, error.stage) == ("bad_framing", "VALUE_CONVERTER")
    assert "magic byte is 1" in str(error)


def test_json_value_on_an_avro_route_is_rejected_not_misread(decoder, record):
    """JSON text starts with "{", not magic byte 0, and is never read as Avro."""
    assert rejection(decoder, record(b'{"id": 5}')).reason == "bad_framing"


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\x00\x00\x00\x01"])
def test_frame_shorter_than_its_header_is_rejected(decoder, record, raw):
    """Fewer than five bytes cannot hold the magic byte and schema id."""
    assert "too short" in str(rejection(decoder, record(raw)))


def test_truncated_body_is_rejected(decoder, record, avro_frame):
    """A body cut short fails to read against its writer schema."""
    raw = avro_frame(ROW, {"id": 2**40})[:-2]
    assert rejection(decoder, record(raw)).reason == "undecodable"


def test_trailing_bytes_are_rejected(decoder, record, avro_frame):
    """Bytes left over after the writer schema's row mean the frame was misread."""
    error = rejection(decoder, record(avro_frame(ROW, {"id": 1}) + b"\x02"))
    assert "1 bytes left" in str(error)


def test_subject_without_a_local_schema_is_unknown(decoder, record, avro_frame):
    """With local schemas, a topic without an .avsc file is an unknown schema."""
    error = rejection(decoder, record(avro_frame(ROW, {"id": 1}), topic="other"))
    assert error.reason == "unknown_schema"
    assert "other-value" in str(error)


def test_invalid_writer_schema_is_rejected(schema_dir, record, avro_frame):
    """An .avsc that is not a valid Avro schema rejects the record as bad_schema."""
    decoder = AvroDecoder(LocalSchemas(schema_dir("t-value", {"type": "nonsense"})))
    assert rejection(decoder, record(avro_frame(ROW, {"id": 1}))).reason == "bad_schema"


def test_framed_key_is_read_with_the_key_subject(schema_dir, record, avro_frame):
    """A framed key is decoded with the `<topic>-key` schema."""
    schema_dir("t-value", ROW)
    decoder = AvroDecoder(LocalSchemas(schema_dir("t-key", ROW)))
    event = decoder.decode(record(avro_frame(ROW, {"id": 1}), key=avro_frame(ROW, {"id": 3})))
    assert event.key == {"id": 3}


def test_bad_framed_key_fails_at_the_key_stage(decoder, record, avro_frame):
    """A key that is framed but has no key schema fails at the key converter stage."""
    error = rejection(decoder, record(avro_frame(ROW, {"id": 1}), key=avro_frame(ROW, {"id": 3})))
    assert (error.reason, error.stage) == ("unknown_schema", "KEY_CONVERTER")


def test_text_key_passes_through(decoder, record, avro_frame):
    """A plain string key next to an Avro value is the key's text."""
    assert decoder.decode(record(avro_frame(ROW, {"id": 1}), key=b"ACC-1")).key == "ACC-1"


def test_compiled_schema_is_reused(schema_dir, record, avro_frame):
    """A schema is read once per subject and id: later records need no file."""
    directory = schema_dir("t-value", ROW)
    decoder = AvroDecoder(LocalSchemas(directory))
    decoder.decode(record(avro_frame(ROW, {"id": 1})))
    (directory / "t-value.avsc").unlink()
    assert dict(decoder.decode(record(avro_frame(ROW, {"id": 2}))).fields) == {"id": 2}


def test_avro_tombstone_deletes(decoder, record):
    """A null value on an Avro route is a tombstone."""
    assert decoder.decode(record(None, key=b"k")).op == "delete"
