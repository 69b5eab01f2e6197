"""Consumed records' bytes on disk, from when they are buffered until their offsets commit.

A buffered row needs its records' key, value and headers only if it is dead-lettered,
and Salesforce rejects few rows; kept in memory they were four tenths of what a buffered
row cost (1.46 KB a row in the benchmark's stream). So each record a row holds is
appended to a spool file, and the row keeps a `Kept`: its position, and where its bytes
are. Reading one back is a dead letter's business only.

Segments are anonymous temporary files (unlinked at creation, so a crash leaves nothing
behind). A segment goes once every record in it is behind its partition's committed
offset, or its partition was revoked (its rows were dropped then); the one being written
is emptied instead. So the disk held is about the records not yet final, plus one
segment: the pipeline pauses the consumer above its own disk bound. The spool holds no
state across restarts: what was not committed is consumed again.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from connector.errors import FatalError
from connector.offsets import TopicPartition
from connector.records import Header, Kept, SourceRecord

# timestamp (or -1), key length (or -1 for None), value length (or -1), header count
_HEAD = struct.Struct("<qiiI")
# a header's name length, then its value's (or -1)
_HEADER = struct.Struct("<Ii")
_NONE = -1
SEGMENT_BYTES = 8 * 2**20
# Records are written a megabyte at a time: each write releases the GIL, and a loop that
# let a job thread take it every 8 KiB (a buffered file's pace) waited on it every time.
WRITE_BYTES = 2**20


@dataclass(slots=True)
class _Segment:
    start: int
    file: IO[bytes]
    size: int = 0
    written: int = 0
    pending: list[bytes] = field(default_factory=list)
    highest: dict[TopicPartition, int] = field(default_factory=dict)

    def flush(self) -> None:
        if self.pending:
            write_all(self.file, b"".join(self.pending))
            self.pending.clear()
            self.written = self.size


class RecordSpool:
    """Append-only segments of record bytes, read back by a row's `Kept`."""

    def __init__(self, directory: Path | None = None, segment_bytes: int = SEGMENT_BYTES) -> None:
        self._directory = directory
        self._segment_bytes = segment_bytes
        self._segments: list[_Segment] = []
        self._committed: dict[TopicPartition, int] = {}
        self._end = 0

    @property
    def segment_count(self) -> int:
        """Segment files open now (the current one included)."""
        return len(self._segments)

    def disk_bytes(self) -> int:
        """Bytes the open segments hold on disk."""
        return sum(segment.size for segment in self._segments)

    def keep(self, record: SourceRecord) -> Kept:
        """Append the record's bytes; what a row holds instead of the record."""
        segment = self._current()
        key, value, headers = record.key, record.value, record.headers
        parts = [
            _HEAD.pack(
                _NONE if record.timestamp_ms is None else record.timestamp_ms,
                _NONE if key is None else len(key),
                _NONE if value is None else len(value),
                len(headers),
            ),
            key or b"",
            value or b"",
        ]
        for name, header_value in headers:
            encoded = name.encode()
            length = _NONE if header_value is None else len(header_value)
            parts += [_HEADER.pack(len(encoded), length), encoded, header_value or b""]
        data = b"".join(parts)
        segment.pending.append(data)
        position = record.position
        at = self._end
        self._end += len(data)
        segment.size += len(data)
        if segment.size - segment.written >= WRITE_BYTES:
            self._flush(segment)
        segment.highest[position.topic_partition] = position.offset  # kept in offset order
        return Kept.of(position, at)

    def read(self, kept: Kept) -> SourceRecord:
        """The record exactly as consumed."""
        segment = self._segment_of(kept.at)
        self._flush(segment)
        fd = segment.file.fileno()
        offset = kept.at - segment.start
        timestamp, key_len, value_len, count = _HEAD.unpack(os.pread(fd, _HEAD.size, offset))
        offset += _HEAD.size
        key, offset = _bytes(fd, offset, key_len)
        value, offset = _bytes(fd, offset, value_len)
        headers: list[Header] = []
        for _ in range(count):
            name_len, header_len = _HEADER.unpack(os.pread(fd, _HEADER.size, offset))
            offset += _HEADER.size
            name, offset = _bytes(fd, offset, name_len)
            header_value, offset = _bytes(fd, offset, header_len)
            headers.append(((name or b"").decode(), header_value))
        return SourceRecord(
            kept.position, key, value, tuple(headers), None if timestamp == _NONE else timestamp
        )

    def committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Offsets committed (next to read, per partition): segments wholly behind them go."""
        self._committed.update(offsets)
        self._drop(lambda tp, highest: self._committed.get(tp, 0) > highest)

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Revoked partitions: their records are nobody's here any more."""
        revoked = set(partitions)
        for tp in revoked:
            self._committed.pop(tp, None)
        self._drop(lambda tp, _highest: tp in revoked)

    def close(self) -> None:
        """Drop every segment."""
        for segment in self._segments:
            segment.file.close()
        self._segments.clear()

    def _drop(self, settled: Callable[[TopicPartition, int], bool]) -> None:
        kept = []
        for segment in self._segments:
            segment.highest = {
                tp: high for tp, high in segment.highest.items() if not settled(tp, high)
            }
            if segment.highest:
                kept.append(segment)
            elif segment is self._segments[-1]:
                if segment.size:  # written to next: emptied rather than replaced
                    segment.pending.clear()
                    segment.file.seek(0)
                    segment.file.truncate()
                    segment.start, segment.size, segment.written = self._end, 0, 0
                kept.append(segment)
            else:
                segment.file.close()
        self._segments = kept

    def _current(self) -> _Segment:
        if self._segments and self._segments[-1].size < self._segment_bytes:
            return self._segments[-1]
        if self._segments:
            self._flush(self._segments[-1])
        try:
            file = tempfile.TemporaryFile(buffering=0, dir=self._directory, prefix="sfsink-spool-")  # noqa: SIM115 - closed by _drop or close
        except OSError as exc:
            raise FatalError(f"cannot create a spool file in {self._where()}: {exc}") from exc
        segment = _Segment(self._end, file)
        self._segments.append(segment)
        return segment

    def _flush(self, segment: _Segment) -> None:
        try:
            segment.flush()
        except OSError as exc:
            raise FatalError(f"cannot spool record bytes to {self._where()}: {exc}") from exc

    def _segment_of(self, at: int) -> _Segment:
        for segment in self._segments:
            if segment.start <= at < segment.start + segment.size:
                return segment
        raise LookupError(f"spool offset {at} was released")

    def _where(self) -> str:
        return where(self._directory)


def write_all(file: IO[bytes], data: bytes) -> None:
    """All of `data`: an unbuffered file may take part of it a call."""
    view = memoryview(data)
    while view:
        view = view[file.write(view) :]


def where(directory: Path | None) -> str:
    """The directory temporary files go to, for an error message."""
    return str(directory or tempfile.gettempdir())


def _bytes(fd: int, offset: int, length: int) -> tuple[bytes | None, int]:
    if length == _NONE:
        return None, offset
    return os.pread(fd, length, offset), offset + length
