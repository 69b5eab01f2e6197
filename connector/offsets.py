"""Per-partition watermark of records whose outcome is final: what may be committed."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from connector.records import Kept, Position, SourceRecord

TopicPartition = tuple[str, int]

_NO_TIMESTAMP = -1
# Passed entries are cut off the front once there are this many and they are at least
# half the arrays: amortised O(1) per record, and at most twice the pending ones held.
_COMPACT_AFTER = 4_096


@dataclass
class _Partition:
    """Offsets of one partition in consumption order, and which of them are final.

    Kept in flat arrays (17 bytes a record) rather than a tuple and set entry each (about
    140): a backlog held behind one unfinished record keeps every record after it here.
    Entries before `head` are passed. Kafka timestamps ride along so freshness can be
    measured at the commit itself.
    """

    offsets: array[int] = field(default_factory=lambda: array("q"))
    stamps: array[int] = field(default_factory=lambda: array("q"))
    final: bytearray = field(default_factory=bytearray)
    head: int = 0
    finals: int = 0  # final entries at or after head
    next_offset: int | None = None
    committed: int | None = None
    passed: list[int | None] = field(default_factory=list)

    def track(self, offset: int, timestamp: int | None) -> None:
        self.offsets.append(offset)
        self.stamps.append(_NO_TIMESTAMP if timestamp is None else timestamp)
        self.final.append(0)

    def mark(self, offset: int) -> bool:
        """Mark a pending offset final; False if it is not pending (passed, or never seen)."""
        offsets, head = self.offsets, self.head
        if head == len(offsets) or offset < offsets[head]:
            return False
        index = head + offset - offsets[head]  # offsets are contiguous but for gaps
        if index >= len(offsets) or offsets[index] != offset:
            index = bisect_left(offsets, offset, head)
            if index == len(offsets) or offsets[index] != offset:
                return False
        if not self.final[index]:
            self.final[index] = 1
            self.finals += 1
        return True

    def advance(self) -> None:
        """Move the watermark past every final offset at the head of the queue."""
        head, end = self.head, len(self.offsets)
        while head < end and self.final[head]:
            stamp = self.stamps[head]
            self.passed.append(None if stamp == _NO_TIMESTAMP else stamp)
            head += 1
        if head != self.head:
            self.finals -= head - self.head
            self.next_offset = self.offsets[head - 1] + 1
            self.head = head
        if head >= _COMPACT_AFTER and head * 2 >= end:
            del self.offsets[:head], self.stamps[:head], self.final[:head]
            self.head = 0

    @property
    def pending(self) -> int:
        return len(self.offsets) - self.head


class OffsetTracker:
    """Tracks consumed offsets and commits only the contiguous prefix that is final.

    A record is final when it is applied in Salesforce, superseded by a later event for
    its key, or acknowledged by the dead-letter topic. The committable offset of a
    partition is one past the last record of its longest all-final prefix (Kafka's
    "next offset to read"), so a crash at any point replays exactly the unfinished tail.
    """

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, _Partition] = {}

    def track(self, records: Iterable[SourceRecord]) -> None:
        """Note records as consumed and pending, in the order the consumer gave them."""
        for record in records:
            position = record.position
            part = self._partitions.setdefault(position.topic_partition, _Partition())
            if part.pending and position.offset <= part.offsets[-1]:
                raise ValueError(f"{position} is not after the last tracked offset")
            part.track(position.offset, record.timestamp_ms)

    def mark_final(self, positions: Iterable[Position | Kept]) -> None:
        """Record that these positions' outcomes are final (a row's Kept records name theirs)."""
        touched: set[TopicPartition] = set()
        for position in positions:
            part = self._partitions.get(position.topic_partition)
            if part is None:
                continue  # its partition was revoked and forgotten: the new owner replays it
            if part.mark(position.offset):  # else behind the watermark: marked twice
                touched.add(position.topic_partition)
        for tp in touched:
            self._partitions[tp].advance()

    def committable(self) -> dict[TopicPartition, int]:
        """Offsets to commit: per partition whose watermark moved since the last commit."""
        return {
            tp: part.next_offset
            for tp, part in self._partitions.items()
            if part.next_offset is not None and part.next_offset != part.committed
        }

    def committed(self, offsets: dict[TopicPartition, int]) -> list[int | None]:
        """Record that Kafka accepted these commits; return the Kafka timestamps they cover."""
        timestamps: list[int | None] = []
        for tp, offset in offsets.items():
            part = self._partitions.get(tp)
            if part is not None:
                part.committed = offset
                timestamps += part.passed
                part.passed = []
        return timestamps

    def pending_count(self) -> int:
        """How many tracked records are not yet committable (final ones behind a gap too)."""
        return sum(part.pending for part in self._partitions.values())

    def unfinished_count(self) -> int:
        """How many tracked records are not yet final: the accounting identity's `pending`.

        Safe to call from another thread while the owner tracks and marks under a lock.
        """
        return sum(part.pending - part.finals for part in list(self._partitions.values()))

    def forget(self, tps: Iterable[TopicPartition]) -> int:
        """Drop revoked partitions; late outcomes for them are ignored.

        Returns how many unfinished records were released to the partitions' next owner
        (final ones behind a gap are replayed too, but they were already counted final).
        """
        released = 0
        for tp in tps:
            part = self._partitions.pop(tp, None)
            if part is not None:
                released += part.pending - part.finals
        return released
