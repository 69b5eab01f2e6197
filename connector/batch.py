"""Buffers rows per lane, merges them per key, and hands over the batches that are due.

The rules the rest of the pipeline relies on live here, in one place:
- compaction: consecutive upserts of a key merge field by field (later wins); a delete
  replaces the upserts before it; an upsert after a delete waits behind it, fresh. A
  record whose every field a later one of its key overwrites (a full row after a full
  row, anything before a delete) is superseded at once: it is handed back to be counted
  final, and its bytes are not kept, so a backlog of hot keys costs memory per key, not
  per record;
- order: a key is in at most one batch in flight, and a key's next operation becomes
  eligible only when the batch holding its previous one is done;
- bounds: a lane is due when it holds max records or max bytes, or when its oldest row is
  max age old (backlog max age while the consumer is behind: a backlog's rows are late
  already, and fuller jobs spend fewer API calls); `drain` makes every eligible row due
  (shutdown, revocation, a backlog just caught up), and `pressed` (paused at the memory
  bound) makes due the lanes worth a job of their own, or the largest lane when no job
  in flight will free memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from connector import csvline
from connector.records import Kept, Lane, Row

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """When a lane's rows become one job."""

    max_records: int = 10_000
    max_bytes: int = 50 * 1024 * 1024
    max_age: float = 5.0
    backlog_max_age: float = 30.0


@dataclass(frozen=True, slots=True)
class Batch:
    """The rows of one Bulk job: one lane, each key at most once."""

    lane: Lane
    rows: tuple[Row, ...]
    byte_size: int

    @property
    def record_count(self) -> int:
        """How many Kafka records this batch settles (merged rows settle several)."""
        return sum(len(row.sources) for row in self.rows)


# What Python spends around the text, measured with tracemalloc: a buffered row (Row,
# its key, its queue entry and index slots) and each record it keeps (Kept, Position,
# their ints; the record's bytes are spooled to disk).
ROW_OVERHEAD = 700
KEPT_OVERHEAD = 170


def row_bytes(row: Row) -> int:
    """Memory a buffered row holds: its line, its key, and its records' places.

    This is what the memory bound counts, so it estimates the process's real memory, not
    just the CSV text.
    """
    return ROW_OVERHEAD + len(row.line) + len(row.external_id) + KEPT_OVERHEAD * len(row.sources)


@dataclass(slots=True)
class _Entry:
    """One buffered operation of a key, with when its oldest record arrived."""

    row: Row
    size: int
    since: float
    not_before: float = 0.0


Superseded = tuple[Kept, ...]


def _follow(older: _Entry, newer: _Entry) -> tuple[list[_Entry], Superseded]:
    """Compact two consecutive operations of one key into one, or keep both in order.

    Also returns the records the result no longer needs: those of an operation the newer
    one replaces whole. The key's age stays the older one's, so a key changed every
    second is still written within max age of its first change.
    """
    old, new = older.row, newer.row
    attempt = max(old.attempt, new.attempt)
    if new.lane.action.is_delete or (
        not old.lane.action.is_delete and csvline.covers(new.columns, old.columns)
    ):
        # A delete supersedes the upserts before it (an earlier delete is the same act);
        # an upsert that sets every field the earlier one set leaves nothing of it.
        kept = new if attempt == new.attempt else replace(new, attempt=attempt)
        return [_Entry(kept, newer.size, older.since, older.not_before)], old.sources
    if old.lane.action.is_delete:
        return [older, newer], ()  # an upsert after a delete starts fresh, once the delete is done
    columns, line = csvline.merge((old.columns, old.line), (new.columns, new.line))
    merged = replace(
        new, columns=columns, line=line, sources=old.sources + new.sources, attempt=attempt
    )
    return [_Entry(merged, row_bytes(merged), older.since, older.not_before)], ()


class _LaneState:
    """The keys whose next operation belongs to this lane, each with its head's age.

    `oldest` is a lower bound of the heads' arrival times: adding lowers it at once,
    removing only marks it stale, and it is recomputed when it claims the lane is due
    by age. That keeps both add and due O(1) per row instead of rescanning the lane.
    """

    __slots__ = ("bytes", "keys", "oldest", "stale")

    def __init__(self) -> None:
        self.keys: dict[Key, float] = {}
        self.bytes = 0
        self.oldest: float | None = None
        self.stale = False

    def add(self, key: Key, size: int, since: float) -> None:
        self.keys[key] = since
        self.bytes += size
        if self.oldest is None or since < self.oldest:
            self.oldest = since

    def remove(self, key: Key, size: int) -> None:
        del self.keys[key]
        self.bytes -= size
        self.stale = True

    def oldest_since(self) -> float | None:
        if self.stale:
            self.oldest = min(self.keys.values(), default=None)
            self.stale = False
        return self.oldest


class Batcher:
    """Per-(object, operation) lanes of rows, merged per key, with size and age bounds."""

    def __init__(self, limits: BatchLimits) -> None:
        self._limits = limits
        self._queues: dict[Key, list[_Entry]] = {}
        self._lanes: dict[Lane, _LaneState] = {}
        self._in_flight: set[Key] = set()
        self._buffered_bytes = 0
        self._in_flight_bytes = 0
        self._rows = 0  # counted as they come and go: the loop asks every turn

    @property
    def buffered_bytes(self) -> int:
        """Bytes held for rows, buffered or in flight: what the memory bound limits."""
        return self._buffered_bytes + self._in_flight_bytes

    @property
    def buffered_rows(self) -> int:
        """Rows waiting to be flushed (not counting those in flight)."""
        return self._rows

    def add(self, row: Row, now: float) -> Superseded:
        """Buffer a new row behind whatever its key already holds; the records it supersedes."""
        entry = _Entry(row, row_bytes(row), now)
        key = row.key
        if key not in self._queues:  # the common case, kept short: a key not buffered yet
            self._queues[key] = [entry]
            self._buffered_bytes += entry.size
            self._rows += 1
            self._make_eligible(key)
            return ()
        return self._push(key, entry, front=False)

    def requeue(self, rows: Iterable[Row], not_before: float) -> Superseded:
        """Put rows back for a retry, ahead of anything newer for their keys.

        Returns the records of retried rows that a newer operation of their key replaces.
        """
        superseded: Superseded = ()
        for row in rows:
            entry = _Entry(row, row_bytes(row), not_before, not_before)
            superseded += self._push(row.key, entry, front=True)
        return superseded

    def due(
        self,
        now: float,
        *,
        limit: int,
        drain: bool = False,
        behind: bool = False,
        pressed: bool = False,
    ) -> list[Batch]:
        """Take up to `limit` batches from the lanes that are due, marking their keys in flight.

        `behind`: the consumer has a backlog, so rows wait up to backlog max age. `pressed`:
        the memory bound is reached, so lanes of at least half a job go now, and the largest
        lane goes too when nothing in flight will free memory.
        """
        max_age = self._limits.backlog_max_age if behind else self._limits.max_age
        ready = [
            lane
            for lane, state in self._lanes.items()
            if self._is_due(state, now, max_age, drain=drain, pressed=pressed)
        ]
        if pressed and not ready and not self._in_flight_bytes and self._lanes:
            largest = max(self._lanes, key=lambda lane: self._lanes[lane].bytes)
            if self._lanes[largest].keys:
                ready = [largest]
        ready.sort(key=lambda lane: _or(self._lanes[lane].oldest_since(), now))
        batches = []
        for lane in ready[:limit]:
            batch = self._cut(lane, now)
            if batch is not None:
                batches.append(batch)
        return batches

    def done(self, batch: Batch) -> None:
        """Release a batch's keys, whatever its outcome: their next operations may go."""
        self._in_flight_bytes -= batch.byte_size
        for row in batch.rows:
            self._in_flight.discard(row.key)
            self._make_eligible(row.key)

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Drop buffered records of revoked partitions; rows left with none are dropped."""
        revoked = set(partitions)
        for key in list(self._queues):
            kept = []
            for entry in self._queues[key]:
                sources = tuple(
                    s for s in entry.row.sources if s.position.topic_partition not in revoked
                )
                if sources:
                    row = replace(entry.row, sources=sources)
                    kept.append(_Entry(row, row_bytes(row), entry.since, entry.not_before))
            self._replace_queue(key, kept)

    def next_deadline(self) -> float | None:
        """When the oldest buffered lane will be due by age, for the loop's poll timeout."""
        oldest = [o for s in self._lanes.values() if (o := s.oldest_since()) is not None]
        return min(oldest) + self._limits.max_age if oldest else None

    def _is_due(
        self, state: _LaneState, now: float, max_age: float, *, drain: bool, pressed: bool
    ) -> bool:
        if not state.keys:
            return False
        if drain or len(state.keys) >= self._limits.max_records:
            return True
        if state.bytes >= (self._limits.max_bytes // 2 if pressed else self._limits.max_bytes):
            return True
        if state.oldest is None or now - state.oldest < max_age:
            return False
        oldest = state.oldest_since()
        return oldest is not None and now - oldest >= max_age

    def _cut(self, lane: Lane, now: float) -> Batch | None:
        state = self._lanes[lane]
        rows: list[Row] = []
        size = 0
        for key in list(state.keys):
            entry = self._queues[key][0]
            if entry.not_before > now:
                continue
            if rows and size + entry.size > self._limits.max_bytes:
                break
            self._take_head(key, entry)
            rows.append(entry.row)
            size += entry.size
            if len(rows) >= self._limits.max_records:
                break
        if not rows:
            return None
        rows.sort(key=lambda row: row.group)
        self._in_flight_bytes += size
        return Batch(lane=lane, rows=tuple(rows), byte_size=size)

    def _take_head(self, key: Key, entry: _Entry) -> None:
        self._lanes[entry.row.lane].remove(key, entry.size)
        self._buffered_bytes -= entry.size
        self._rows -= 1
        queue = self._queues[key]
        queue.pop(0)
        if not queue:
            del self._queues[key]
        self._in_flight.add(key)

    def _push(self, key: Key, entry: _Entry, *, front: bool) -> Superseded:
        queue = self._queues.get(key, [])
        superseded: Superseded = ()
        if not queue:
            merged = [entry]
        elif front:
            followed, superseded = _follow(entry, queue[0])
            merged = followed + queue[1:]
        else:
            followed, superseded = _follow(queue[-1], entry)
            merged = queue[:-1] + followed
        self._replace_queue(key, merged)
        return superseded

    def _replace_queue(self, key: Key, entries: Sequence[_Entry]) -> None:
        """Swap a key's queue, keeping lane membership and byte counts exact."""
        self._unlist(key)
        for entry in self._queues.pop(key, []):
            self._buffered_bytes -= entry.size
            self._rows -= 1
        if entries:
            self._queues[key] = list(entries)
            self._buffered_bytes += sum(entry.size for entry in entries)
            self._rows += len(entries)
            self._make_eligible(key)

    def _unlist(self, key: Key) -> None:
        queue = self._queues.get(key)
        if not queue:
            return
        state = self._lanes[queue[0].row.lane]
        if key in state.keys:
            state.remove(key, queue[0].size)

    def _make_eligible(self, key: Key) -> None:
        queue = self._queues.get(key)
        if not queue or key in self._in_flight:
            return
        head = queue[0]
        self._lanes.setdefault(head.row.lane, _LaneState()).add(key, head.size, head.since)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
