"""Records to Bulk API CSV, and Bulk result CSV back to rows.

Salesforce's rules: None becomes `#N/A` (set the field to null); a key absent from a
record becomes an empty cell (leave the field unchanged); the header is the union of all
records' keys, in first-seen order; booleans are `true`/`false`, dates `YYYY-MM-DD`,
datetimes UTC with milliseconds and `Z`, decimals in plain notation with no float error;
a value holding the delimiter, a quote, CR or LF is quoted, inner quotes doubled; UTF-8
without a byte-order mark, LF line endings.
"""

from __future__ import annotations

import base64
import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import IO, Any, cast

from connector.csvline import quote

NULL = "#N/A"
DELIMITERS = {
    "COMMA": ",",
    "SEMICOLON": ";",
    "PIPE": "|",
    "TAB": "\t",
    "CARET": "^",
    "BACKQUOTE": "`",
}


def cell(value: object) -> str:
    """A Python value as the text Salesforce reads from a Bulk CSV cell (unquoted).

    Dispatched on the exact type first (one dict lookup: this runs for every field of
    every row); subclasses go through the isinstance checks, bool before int.
    """
    render = _BY_TYPE.get(type(value))
    if render is not None:
        return render(value)
    for kind, subclass_render in _BY_BASE:
        if isinstance(value, kind):
            return subclass_render(value)
    return str(value)


def _null(_value: object) -> str:
    return NULL


def _boolean(value: bool) -> str:  # noqa: FBT001 - the value being rendered
    return "true" if value else "false"


def _float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"{value} cannot be stored in Salesforce")
    text = repr(value)
    if "e" in text:  # an exponent: the exact way, through Decimal
        return _decimal(Decimal(text))
    return text.removesuffix(".0")


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} cannot be stored in Salesforce")
    return format(value.normalize() if value == value.to_integral() else value, "f")


def _datetime(value: datetime) -> str:
    moment = value.astimezone(UTC) if value.tzinfo else value
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _time(value: time) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


_BY_BASE: tuple[tuple[type, Callable[[Any], str]], ...] = (
    (str, str.__str__),
    (bool, _boolean),
    (int, int.__repr__),
    (float, _float),
    (Decimal, _decimal),
    (datetime, _datetime),
    (date, date.isoformat),
    (time, _time),
    (bytes, _bytes),
)
_BY_TYPE: dict[type, Callable[[Any], str]] = {type(None): _null, **dict(_BY_BASE)}


def header_of(records: Iterable[Mapping[str, object]]) -> list[str]:
    """The union of the records' keys, in the order they are first seen."""
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            if key not in seen:
                seen[key] = None
    return list(seen)


def line(cells: Sequence[str], delimiter: str = ",") -> str:
    """One CSV line of already rendered cells, LF-terminated.

    A row of one empty cell is written `""`: a blank line would be read as no row at all.
    """
    text = delimiter.join(quote(c, delimiter) for c in cells)
    return (text or '""') + "\n"


def render_record(record: Mapping[str, object], header: Sequence[str]) -> list[str]:
    """The cells of one record under a header: absent keys empty, values rendered."""
    return [cell(record[name]) if name in record else "" for name in header]


def render(records: Sequence[Mapping[str, object]], delimiter: str = ",") -> bytes:
    """A whole CSV document for a few records (the header is their union)."""
    header = header_of(records)
    text = line(header, delimiter) + "".join(
        line(render_record(r, header), delimiter) for r in records
    )
    return text.encode("utf-8")


def text_stream(source: IO[bytes] | IO[str]) -> IO[str]:
    """A text view of a CSV stream: bytes are read as UTF-8, a leading BOM is dropped."""
    probe = source.read(0)
    if isinstance(probe, bytes):
        return io.TextIOWrapper(cast("IO[bytes]", source), encoding="utf-8-sig", newline="")
    return cast("IO[str]", source)


def read_rows(stream: IO[str], delimiter: str = ",") -> Iterator[list[str]]:
    """The rows of a CSV text stream (header first), a BOM on the first cell dropped."""
    first = True
    for row in csv.reader(stream, delimiter=delimiter, strict=True):
        if first and row:
            row[0] = row[0].removeprefix("\ufeff")
            first = False
        yield row


def parse(data: bytes | str, delimiter: str = ",") -> list[dict[str, str]]:
    """A small CSV document (a result file) as one dict per row."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    if not text.strip():
        return []
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
