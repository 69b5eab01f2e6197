"""What every decoder promises, and the one way a rejection gets its record attached."""

from __future__ import annotations

from typing import Protocol

from connector.errors import DecodeError
from connector.records import ChangeEvent, SourceRecord

KEY_STAGE = "KEY_CONVERTER"
VALUE_STAGE = "VALUE_CONVERTER"


class Decoder(Protocol):
    """Bytes to a ChangeEvent, or a DecodeError carrying the record and the reason."""

    def decode(self, record: SourceRecord) -> ChangeEvent:
        """The event this record carries; DecodeError when it carries none."""
        ...


def attach(exc: DecodeError, record: SourceRecord) -> DecodeError:
    """The same error, now holding the record (inner helpers do not see the record)."""
    if exc.record is None:
        exc.record = record
    return exc


def describe(value: object) -> str:
    """A short, payload-free description of a value's kind, for rejection messages."""
    kinds = {
        str: "a string",
        list: "an array",
        bool: "a boolean",
        int: "a number",
        dict: "an object",
    }
    if value is None:
        return "null"
    return kinds.get(type(value), "a number" if isinstance(value, float) else type(value).__name__)
