"""Input to upload bodies: checked whole before any call, split to fit one upload each.

Records are mappings, a CSV file (a path) or stream, or CsvLines already rendered
(taken as they are). Every other record is checked before the first request (an update
without Id fails here, naming the record), rendered by csvio's rules, and written into
uploads of at most `max_bytes` each, every one with the header. Uploads are spooled to
temporary files past a few megabytes, so a large CSV file
does not sit in memory; an iterable of mappings is read into a list first (its header is
the union of all keys), so pass a file for inputs larger than memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from connector.errors import BulkInputError
from connector.salesforce import csvio
from connector.salesforce.results import Operation


@dataclass(frozen=True, slots=True)
class CsvLines:
    """Rows already rendered as CSV lines (comma-delimited, no line end) under a header.

    They are cut into uploads as they are, not read again: the caller vouches that each
    line has the header's cells and fills the key column (connector.csvline makes them).
    """

    header: Sequence[str]
    lines: Iterable[str]


Records = Iterable[Mapping[str, object]] | CsvLines | str | os.PathLike[str] | IO[bytes] | IO[str]
# Past this an upload body goes to a temporary file: it is streamed from there, so a
# job's CSV never sits in memory whole.
_SPOOL_BYTES = 1024 * 1024
_WRITE_CHUNK = 256 * 1024
_SEND_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Payload:
    """One upload: a CSV body (header included) in a spooled file, and its row count."""

    file: IO[bytes]
    rows: int
    size: int

    def stream(self) -> Body:
        """The body from its start, for a PUT to send as it reads."""
        self.file.seek(0)
        return Body(self.file, self.size)

    def close(self) -> None:
        """Drop the spooled data."""
        self.file.close()


class Body:
    """An upload body that hands out 1 MiB at a time, whatever size the sender asks for.

    http.client reads a file body in 8 KiB blocks, taking the GIL back after each send;
    while the loop thread keeps the GIL busy, each block then waits out a switch
    interval, and a 5 MB upload took seconds (measured on the bench's paused drain).
    """

    def __init__(self, file: IO[bytes], size: int) -> None:
        self._file = file
        self._size = size

    def __len__(self) -> int:
        return self._size

    def rewind(self) -> None:
        """Back to the start, for another try."""
        self._file.seek(0)

    def read(self, _size: int = -1) -> bytes:
        """The next piece of the body (empty at its end)."""
        return self._file.read(_SEND_CHUNK)


def key_field(operation: Operation, external_id_field: str | None) -> str | None:
    """The column every record must fill for this operation (None for insert)."""
    if operation is Operation.UPSERT:
        return external_id_field
    if operation in {Operation.UPDATE, Operation.DELETE, Operation.HARD_DELETE}:
        return "Id"
    return None


def prepare(
    records: Records,
    operation: Operation,
    *,
    external_id_field: str | None = None,
    max_bytes: int,
    delimiter: str = ",",
) -> list[Payload]:
    """Check and render every record, then cut the CSV into uploads of at most max_bytes."""
    key = key_field(operation, external_id_field)
    only_key = operation in {Operation.DELETE, Operation.HARD_DELETE}
    if isinstance(records, CsvLines):
        if key is not None and key not in records.header:
            raise BulkInputError(f"the CSV header has no {key} column", record=0)
        lines = (line + "\n" for line in records.lines)
        return _split(csvio.line(records.header, delimiter), lines, max_bytes)
    if isinstance(records, str | os.PathLike):
        with Path(records).open("rb") as opened:
            return prepare(
                opened,
                operation,
                external_id_field=external_id_field,
                max_bytes=max_bytes,
                delimiter=delimiter,
            )
    if hasattr(records, "read"):
        stream = cast("IO[bytes] | IO[str]", records)
        header, rows = _from_csv(csvio.text_stream(stream), key, only_key=only_key)
    else:
        mappings = cast("Iterable[Mapping[str, object] | str]", records)
        header, rows = _from_mappings(mappings, key, only_key=only_key)
    lines = (csvio.line(cells, delimiter) for cells in rows)
    return _split(csvio.line(header, delimiter), lines, max_bytes)


def _describe_missing(number: int, key: str, operation_key: str) -> str:
    return f"record {number} has no {key}: every record needs a {key} for {operation_key}"


def _find(names: Iterable[str], key: str) -> str | None:
    folded = key.casefold()
    return next((n for n in names if n.casefold() == folded), None)


def _from_mappings(
    records: Iterable[Mapping[str, object] | str], key: str | None, *, only_key: bool
) -> tuple[list[str], Iterator[list[str]]]:
    listed: Sequence[Mapping[str, object] | str] = (
        records if isinstance(records, Sequence) else list(records)
    )
    rows: list[Mapping[str, object]] = [{"Id": r} if isinstance(r, str) else r for r in listed]
    for number, record in enumerate(rows, start=1):
        if key is None:
            continue
        name = key if key in record else _find(record, key)
        if name is None or record[name] is None or csvio.cell(record[name]) in {"", csvio.NULL}:
            raise BulkInputError(_describe_missing(number, key, "this operation"), record=number)
    header = [key] if only_key and key else csvio.header_of(rows)
    if only_key and key:
        rows = [{key: r[key if key in r else _find(r, key) or key]} for r in rows]
    return header, _rendered(rows, header)


def _rendered(rows: Sequence[Mapping[str, object]], header: list[str]) -> Iterator[list[str]]:
    for number, record in enumerate(rows, start=1):
        try:
            yield csvio.render_record(record, header)
        except ValueError as exc:
            raise BulkInputError(f"record {number}: {exc}", record=number) from None


def _from_csv(
    stream: IO[str], key: str | None, *, only_key: bool
) -> tuple[list[str], Iterator[list[str]]]:
    rows = csvio.read_rows(stream)
    header = next(rows, None)
    if not header:
        return [], iter(())
    index = None
    if key is not None:
        name = _find(header, key)
        if name is None:
            raise BulkInputError(f"the CSV header has no {key} column", record=0)
        index = header.index(name)

    def checked() -> Iterator[list[str]]:
        for number, row in enumerate(rows, start=1):
            if len(row) != len(header):
                message = f"record {number} has {len(row)} cells; the header has {len(header)}"
                raise BulkInputError(message, record=number)
            if index is not None and row[index] in {"", csvio.NULL}:
                raise BulkInputError(
                    _describe_missing(number, str(key), "this operation"), record=number
                )
            yield [row[index]] if only_key and index is not None else row

    return ([header[index]] if only_key and index is not None else header), checked()


def _split(header: str, lines: Iterator[str], max_bytes: int) -> list[Payload]:
    """Rendered lines (each with its line end) into uploads that each start with the header."""
    head = header.encode("utf-8")
    payloads: list[Payload] = []
    current: IO[bytes] | None = None
    pending: list[str] = []
    size = count = waiting = 0
    for number, text in enumerate(lines, start=1):
        length = len(text) if text.isascii() else len(text.encode("utf-8"))
        if len(head) + length > max_bytes:
            raise BulkInputError(
                f"record {number} alone is {length} bytes, over one upload ({max_bytes})",
                record=number,
            )
        if current is None or size + length > max_bytes:
            if current is not None:
                current.write("".join(pending).encode("utf-8"))
                payloads.append(Payload(current, count, size))
            current = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed by Payload.close
            current.write(head)
            pending, size, count, waiting = [], len(head), 0, 0
        pending.append(text)
        size += length
        count += 1
        waiting += length
        if waiting >= _WRITE_CHUNK:  # written in chunks: one encode per chunk, not per line
            current.write("".join(pending).encode("utf-8"))
            pending, waiting = [], 0
    if current is not None:
        current.write("".join(pending).encode("utf-8"))
        payloads.append(Payload(current, count, size))
    return payloads
