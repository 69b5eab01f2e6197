"""Per-partition watermark of records whose outcome is final: what may be committed."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from connector.records import Position, SourceRecord

TopicPartition = tuple[str, int]


@dataclass
class _Partition:
    """Offsets of one partition in consumption order, and which of them are final.

    Kafka timestamps ride along so freshness can be measured at the commit itself.
    """

    pending: deque[tuple[int, int | None]] = field(default_factory=deque)
    final: set[int] = field(default_factory=set)
    next_offset: int | None = None
    committed: int | None = None
    passed: list[int | None] = field(default_factory=list)

    def advance(self) -> None:
        """Move the watermark past every final offset at the head of the queue."""
        while self.pending and self.pending[0][0] in self.final:
            offset, timestamp = self.pending.popleft()
            self.final.discard(offset)
            self.next_offset = offset + 1
            self.passed.append(timestamp)


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
            if part.pending and position.offset <= part.pending[-1][0]:
                raise ValueError(f"{position} is not after the last tracked offset")
            part.pending.append((position.offset, record.timestamp_ms))

    def mark_final(self, positions: Iterable[Position]) -> None:
        """Record that these positions' outcomes are final."""
        touched: set[TopicPartition] = set()
        for position in positions:
            part = self._partitions.get(position.topic_partition)
            if part is None:
                continue  # its partition was revoked and forgotten: the new owner replays it
            if not part.pending or position.offset < part.pending[0][0]:
                continue  # already behind the watermark: marked twice, nothing to keep
            part.final.add(position.offset)
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
        return sum(len(part.pending) for part in self._partitions.values())

    def unfinished_count(self) -> int:
        """How many tracked records are not yet final: the accounting identity's `pending`.

        Safe to call from another thread while the owner tracks and marks under a lock.
        """
        return sum(len(part.pending) - len(part.final) for part in list(self._partitions.values()))

    def forget(self, tps: Iterable[TopicPartition]) -> int:
        """Drop revoked partitions; late outcomes for them are ignored.

        Returns how many unfinished records were released to the partitions' next owner
        (final ones behind a gap are replayed too, but they were already counted final).
        """
        released = 0
        for tp in tps:
            part = self._partitions.pop(tp, None)
            if part is not None:
                released += len(part.pending) - len(part.final)
        return released
