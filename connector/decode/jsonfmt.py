"""JSON keys and values: plain objects, Debezium shapes, and JsonConverter's wrapper.

Kafka Connect's JsonConverter with schemas.enable=true wraps each value as
{"schema": …, "payload": …}; the payload is the value, and the schema block names the
semantic types (Debezium times, decimals) that become Python values. Keys are JSON, or
plain text when they are not JSON (a string key written as is).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from connector.decode import connectjson
from connector.decode.base import KEY_STAGE, VALUE_STAGE, attach
from connector.decode.events import to_event
from connector.errors import DecodeError
from connector.records import ChangeEvent, SourceRecord

_CONVERT_ERRORS = (ValueError, TypeError, KeyError, OverflowError)
# The first characters a JSON text can start with (after optional whitespace).
_JSON_STARTS = frozenset('{["-0123456789tfn \t\r\n')


class JsonDecoder:
    """Decodes UTF-8 JSON values; see the module docstring for keys."""

    def decode(self, record: SourceRecord) -> ChangeEvent:
        """The event this record carries; DecodeError (with the record) when none."""
        try:
            key = text_key(record.key)
            value = None if record.value is None else _value(record.value, VALUE_STAGE)
            return to_event(record, key, value)
        except DecodeError as exc:
            raise attach(exc, record) from None


def text_key(raw: bytes | None) -> object:
    """A JSON key (unwrapped from JsonConverter's envelope), or the key's text."""
    if raw is None:
        return None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise DecodeError(
            "undecodable", "key is neither JSON nor UTF-8 text", stage=KEY_STAGE
        ) from None
    if not text or text[0] not in _JSON_STARTS:
        return text  # a plain string key; skipping the parser's exception is much faster
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return unwrap(parsed, KEY_STAGE)


def _value(raw: bytes, stage: str) -> object:
    try:
        parsed = json.loads(raw)
    except UnicodeDecodeError:
        raise DecodeError("undecodable", "value is not UTF-8", stage=stage) from None
    except json.JSONDecodeError as exc:
        raise DecodeError(
            "undecodable", f"value is not JSON: {exc.msg} at byte {exc.pos}", stage=stage
        ) from None
    return unwrap(parsed, stage)


def unwrap(value: object, stage: str) -> object:
    """The payload of a JsonConverter envelope with its semantic types converted."""
    if not (isinstance(value, Mapping) and value.keys() == {"schema", "payload"}):
        return value
    payload = value["payload"]
    convert = connectjson.plan(value["schema"])
    if convert is None or payload is None:
        return payload
    try:
        return convert(payload)
    except _CONVERT_ERRORS as exc:
        raise DecodeError(
            "bad_value",
            f"a field does not match its Connect schema type ({type(exc).__name__})",
            stage=stage,
        ) from None
