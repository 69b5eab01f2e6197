"""The rows of a batch in flight, held slim while Salesforce works on them.

A Bulk job runs for seconds here and for minutes on a busy org, and its rows are wanted
again only when it ends: each row's records, to mark them final or dead-letter them, and
a whole row only for the few that come back for a retry. Held as Row objects, a job of
50,000 rows kept about 30 MB (each row's line, key, Row, sources tuple and Kept objects),
and the memory bound counted it, so while a job ran the consumer filled the rest of the
bound and paused. Held here, a row costs its key and a few array slots; its line waits
in a temporary file (unlinked at creation, so nothing is left behind whatever happens),
read once for the upload and again only for a row that is retried or whose job fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from pathlib import Path
from typing import IO, overload

from connector import csvline
from connector.errors import FatalError
from connector.records import Kept, Lane, Row
from connector.spool import WRITE_BYTES, where, write_all

# What a row in flight keeps alive, measured with tracemalloc from before its Row was made
# to after it was gone (20,000 rows, 12-character keys: 228 bytes a row with 1.33 records),
# plus a fifth for the allocator: its key's slot in the Batcher's in-flight set, its slots
# in the key, shape and line-end arrays, and per record a topic index, partition, offset
# and spool place. The key itself is counted as sys.getsizeof sizes it (1, 2 or 4 bytes a
# character, as connector.batch says).
ROW_OVERHEAD = 151
KEPT_OVERHEAD = 30
# A group value (a parent's id, when rows are grouped) is a string of each row's own,
# counted as sys.getsizeof sizes it, and its slot in the groups tuple.
STR_OVERHEAD = 11


class InFlightRows(Sequence[Row]):
    """A batch's rows in their upload order; `self[i]` makes row i again, whole."""

    __slots__ = (
        "_ats",
        "_attempts",
        "_ends",
        "_file",
        "_groups",
        "_lane",
        "_offsets",
        "_partitions",
        "_starts",
        "_topic_of",
        "_topics",
        "byte_size",
        "columns",
        "keys",
    )

    def __init__(self, lane: Lane, rows: Sequence[Row], directory: Path | None = None) -> None:
        self._lane = lane
        self.keys: tuple[str, ...] = tuple(row.external_id for row in rows)
        self.columns: tuple[csvline.Columns, ...] = tuple(row.columns for row in rows)
        attempts = array("I", [row.attempt for row in rows])
        groups = tuple(row.group for row in rows)
        self._attempts = attempts if any(attempts) else None  # most batches are first tries
        self._groups = groups if any(groups) else None
        self._topics: list[str] = []
        self._topic_of = array("H")
        self._partitions = array("i")
        self._offsets = array("q")
        self._ats = array("q")
        self._starts = array("q", [0])
        self._keep_sources(rows)
        self._ends = array("q")
        self._file = _write_lines(rows, self._ends, directory) if any(self.columns) else None
        self.byte_size = (
            ROW_OVERHEAD * len(self.keys)
            + sum(map(sys.getsizeof, self.keys))
            + KEPT_OVERHEAD * len(self._offsets)
            + (sum(sys.getsizeof(group) + STR_OVERHEAD for group in groups) if self._groups else 0)
        )

    def _keep_sources(self, rows: Sequence[Row]) -> None:
        topic_index: dict[str, int] = {}
        for row in rows:
            for kept in row.sources:
                index = topic_index.get(kept.topic)
                if index is None:
                    index = topic_index[kept.topic] = len(self._topics)
                    self._topics.append(kept.topic)
                self._topic_of.append(index)
                self._partitions.append(kept.partition)
                self._offsets.append(kept.offset)
                self._ats.append(kept.at)
            self._starts.append(len(self._offsets))

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...
    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        line = ""
        if self._file is not None:
            start = self._line_start(index)
            line = os.pread(self._file.fileno(), self._ends[index] - start, start).decode()
        return self._row(index, line)

    def __iter__(self) -> Iterator[Row]:
        lines = self.lines() if self._file is not None else repeat("")
        for index, line in zip(range(len(self)), lines, strict=False):
            yield self._row(index, line)

    @property
    def record_count(self) -> int:
        """How many Kafka records these rows settle (merged rows settle several)."""
        return len(self._offsets)

    def lines(self) -> Iterator[str]:
        """Each row's line, in order, read from the file a megabyte at a time."""
        if self._file is None:
            return
        fd, ends = self._file.fileno(), self._ends
        row = 0
        while row < len(ends):
            base = self._line_start(row)
            last = max(bisect_right(ends, base + WRITE_BYTES, lo=row), row + 1)
            block = os.pread(fd, ends[last - 1] - base, base)
            start = 0
            for end in ends[row:last]:
                yield block[start : end - base].decode()
                start = end - base
            row = last

    def sources(self, index: int) -> tuple[Kept, ...]:
        """Row `index`'s records, oldest first."""
        return tuple(self.kept((index,)))

    def kept(self, rows: Iterable[int]) -> Iterator[Kept]:
        """The records of these rows."""
        starts = self._starts
        for index in rows:
            for i in range(starts[index], starts[index + 1]):
                yield self._kept(i)

    def record_count_of(self, rows: Iterable[int]) -> int:
        """How many records these rows settle."""
        starts = self._starts
        return sum(starts[index + 1] - starts[index] for index in rows)

    def close(self) -> None:
        """Drop the lines' file."""
        if self._file is not None:
            self._file.close()

    def _line_start(self, index: int) -> int:
        return self._ends[index - 1] if index else 0

    def _kept(self, i: int) -> Kept:
        topic = self._topics[self._topic_of[i]]
        return Kept(topic, self._partitions[i], self._offsets[i], self._ats[i])

    def _row(self, index: int, line: str) -> Row:
        return Row(
            self._lane,
            self.keys[index],
            self.columns[index],
            line,
            self.sources(index),
            self._attempts[index] if self._attempts else 0,
            self._groups[index] if self._groups else "",
        )


def _write_lines(rows: Sequence[Row], ends: array[int], directory: Path | None) -> IO[bytes]:
    """The rows' lines, back to back, into an unlinked file; `ends` gets each line's end."""
    try:
        file = tempfile.TemporaryFile(buffering=0, dir=directory, prefix="sfsink-job-")  # noqa: SIM115 - closed by InFlightRows.close
    except OSError as exc:
        raise FatalError(f"cannot hold a job's rows in {where(directory)}: {exc}") from exc
    try:
        end = 0
        pending: list[bytes] = []
        waiting = 0
        for row in rows:
            data = row.line.encode()
            pending.append(data)
            end += len(data)
            ends.append(end)
            waiting += len(data)
            if waiting >= WRITE_BYTES:
                write_all(file, b"".join(pending))
                pending, waiting = [], 0
        write_all(file, b"".join(pending))
    except OSError as exc:
        file.close()
        raise FatalError(f"cannot hold a job's rows in {where(directory)}: {exc}") from exc
    return file
