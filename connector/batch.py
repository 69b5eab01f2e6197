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
  (shutdown, revocation, a backlog's tail), `pressed` (paused at the memory bound) makes
  due the largest lane once it is worth half a job, or however small when no job in
  flight will free memory, and `Backlog.TAIL` (a backlog's last rows, waiting for the jobs
  that hold back some of them) makes due only the lanes worth half a job.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from connector import csvline
from connector.inflight import InFlightRows
from connector.records import Kept, Lane, Row


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """When a lane's rows become one job."""

    max_records: int = 10_000
    max_bytes: int = 50 * 1024 * 1024
    max_age: float = 5.0
    backlog_max_age: float = 30.0


class Backlog(Enum):
    """Where the consumer stands with a backlog, which decides how long a lane may wait."""

    NONE = "none"  # live records: a lane waits max age
    READING = "reading"  # records wait in Kafka: backlog max age, for fuller jobs
    # Read, and its last rows wait for the jobs holding some of their keys: backlog max
    # age, but a lane worth half a job goes now (waiting would cost its job's whole time)
    # and a smaller one waits to take those rows along.
    TAIL = "tail"


@dataclass(frozen=True, slots=True)
class Batch:
    """The rows of one Bulk job: one lane, each key at most once.

    `byte_size` is what the rows held while buffered; in flight they hold
    `rows.byte_size` (connector.inflight), which is what the memory bound counts then.
    """

    lane: Lane
    rows: InFlightRows
    byte_size: int

    @property
    def record_count(self) -> int:
        """How many Kafka records this batch settles (merged rows settle several)."""
        return self.rows.record_count


# What Python spends around the two strings, measured with tracemalloc (a row of 142
# characters and a 12-character key: 650 bytes, and 136 for each further record), plus a
# fifth for what the allocator holds beyond it: a buffered row (Row, its queue entry,
# index slots, the sources tuple) and each record it keeps (Kept and its ints; the
# record's bytes are spooled to disk). The strings are counted as sys.getsizeof sizes
# them: a str takes 1, 2 or 4 bytes a character, as its widest character needs, so one
# CJK character doubles a line's memory and one emoji makes it fourfold.
ROW_OVERHEAD = 382
KEPT_OVERHEAD = 150


def row_bytes(row: Row) -> int:
    """Memory a buffered row holds: its line, its key, and its records' places.

    This is what the memory bound counts, so it estimates the process's real memory, not
    just the CSV text.
    """
    return (
        ROW_OVERHEAD
        + sys.getsizeof(row.line)
        + sys.getsizeof(row.external_id)
        + KEPT_OVERHEAD * len(row.sources)
    )


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
        self.keys: dict[str, float] = {}
        self.bytes = 0
        self.oldest: float | None = None
        self.stale = False

    def add(self, key: str, size: int, since: float) -> None:
        self.keys[key] = since
        self.bytes += size
        if self.oldest is None or since < self.oldest:
            self.oldest = since

    def remove(self, key: str, size: int) -> None:
        del self.keys[key]
        self.bytes -= size
        self.stale = True

    def oldest_since(self) -> float | None:
        if self.stale:
            self.oldest = min(self.keys.values(), default=None)
            self.stale = False
        return self.oldest


class _Keys:
    """The keys of one object under one external id field, and what each holds.

    Keys are external id values (the rows' own strings): one object's rows share this
    index, so a key needs no (object, field, value) tuple of its own.
    """

    __slots__ = ("behind", "heads", "in_flight")

    def __init__(self) -> None:
        # A key's buffered operations, oldest first: the head, and the rare later ones
        # (an upsert after a delete, a retry behind a newer change). Most keys have only
        # a head; a list each would cost 70 bytes a buffered row.
        self.heads: dict[str, _Entry] = {}
        self.behind: dict[str, list[_Entry]] = {}
        self.in_flight: set[str] = set()

    def queue(self, key: str) -> list[_Entry]:
        head = self.heads.get(key)
        return [] if head is None else [head, *self.behind.get(key, ())]


class Batcher:
    """Per-(object, operation) lanes of rows, merged per key, with size and age bounds."""

    def __init__(self, limits: BatchLimits, directory: Path | None = None) -> None:
        self._limits = limits
        self._directory = directory  # where rows in flight keep their lines
        self._spaces: dict[tuple[str, str], _Keys] = {}
        self._lanes: dict[Lane, _LaneState] = {}
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
        keys = self._keys(row.lane)
        key = row.external_id
        if key not in keys.heads:  # the common case, kept short: a key not buffered yet
            keys.heads[key] = entry
            self._buffered_bytes += entry.size
            self._rows += 1
            self._make_eligible(keys, key)
            return ()
        return self._push(keys, key, entry, front=False)

    def requeue(self, rows: Iterable[Row], not_before: float) -> Superseded:
        """Put rows back for a retry, ahead of anything newer for their keys.

        Returns the records of retried rows that a newer operation of their key replaces.
        """
        superseded: Superseded = ()
        for row in rows:
            entry = _Entry(row, row_bytes(row), not_before, not_before)
            superseded += self._push(self._keys(row.lane), row.external_id, entry, front=True)
        return superseded

    def due(
        self,
        now: float,
        *,
        limit: int,
        drain: bool = False,
        backlog: Backlog = Backlog.NONE,
        pressed: bool = False,
    ) -> list[Batch]:
        """Take up to `limit` batches from the lanes that are due, marking their keys in flight.

        `backlog`: see Backlog. `pressed`: the memory bound is reached, so the largest lane
        goes now if it holds at least half a job, or however small when nothing in flight
        will free memory. Only the largest: it frees the most, and the others keep filling
        towards whole jobs, each of which costs the same calls however few its rows.
        """
        max_age = self._max_age(backlog)
        tail = backlog is Backlog.TAIL
        largest = None
        if pressed and self._lanes:
            largest = max(self._lanes, key=lambda lane: self._lanes[lane].bytes)
        ready = [
            lane
            for lane, state in self._lanes.items()
            if self._is_due(state, now, max_age, drain=drain, half=tail or lane == largest)
        ]
        if (
            largest is not None
            and not ready
            and not self._in_flight_bytes
            and self._lanes[largest].keys
        ):
            ready = [largest]
        ready.sort(key=lambda lane: _or(self._lanes[lane].oldest_since(), now))
        batches = []
        for lane in ready[:limit]:
            batch = self._cut(lane, now)
            if batch is not None:
                batches.append(batch)
        return batches

    def done(self, batch: Batch) -> None:
        """Release a batch's keys and rows, whatever its outcome: their next operations may go.

        Requeue what is to be retried first: the rows are gone after this.
        """
        self._in_flight_bytes -= batch.rows.byte_size
        keys = self._keys(batch.lane)
        for key in batch.rows.keys:
            keys.in_flight.discard(key)
            self._make_eligible(keys, key)
        batch.rows.close()

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Drop buffered records of revoked partitions; rows left with none are dropped."""
        revoked = set(partitions)
        for keys in self._spaces.values():
            for key in list(keys.heads):
                kept = []
                for entry in keys.queue(key):
                    sources = tuple(
                        s for s in entry.row.sources if s.topic_partition not in revoked
                    )
                    if sources:
                        row = replace(entry.row, sources=sources)
                        kept.append(_Entry(row, row_bytes(row), entry.since, entry.not_before))
                self._replace_queue(keys, key, kept)

    def held_back(self) -> bool:
        """Whether a buffered row waits for a running job of its key."""
        return any(not keys.in_flight.isdisjoint(keys.heads) for keys in self._spaces.values())

    def next_deadline(self, backlog: Backlog = Backlog.NONE) -> float | None:
        """When the oldest buffered lane will be due by age, for the loop's poll timeout."""
        oldest = [o for s in self._lanes.values() if (o := s.oldest_since()) is not None]
        return min(oldest) + self._max_age(backlog) if oldest else None

    def _max_age(self, backlog: Backlog) -> float:
        if backlog is Backlog.NONE:
            return self._limits.max_age
        return self._limits.backlog_max_age

    def _keys(self, lane: Lane) -> _Keys:
        space = (lane.sobject, lane.external_id_field)
        keys = self._spaces.get(space)
        if keys is None:
            keys = self._spaces[space] = _Keys()
        return keys

    def _is_due(
        self, state: _LaneState, now: float, max_age: float, *, drain: bool, half: bool
    ) -> bool:
        """Whether a lane is due; `half`: once worth half a job, by its records or its bytes."""
        if not state.keys:
            return False
        limits, share = self._limits, 2 if half else 1
        if drain or len(state.keys) >= limits.max_records // share:
            return True
        if state.bytes >= limits.max_bytes // share:
            return True
        if state.oldest is None or now - state.oldest < max_age:
            return False
        oldest = state.oldest_since()
        return oldest is not None and now - oldest >= max_age

    def _cut(self, lane: Lane, now: float) -> Batch | None:
        state = self._lanes[lane]
        keys = self._keys(lane)
        rows: list[Row] = []
        size = 0
        for key in list(state.keys):
            entry = keys.heads[key]
            if entry.not_before > now:
                continue
            if rows and size + entry.size > self._limits.max_bytes:
                break
            self._take_head(keys, key, entry)
            rows.append(entry.row)
            size += entry.size
            if len(rows) >= self._limits.max_records:
                break
        if not rows:
            return None
        rows.sort(key=lambda row: row.group)
        held = InFlightRows(lane, rows, self._directory)
        self._in_flight_bytes += held.byte_size
        return Batch(lane=lane, rows=held, byte_size=size)

    def _take_head(self, keys: _Keys, key: str, entry: _Entry) -> None:
        self._lanes[entry.row.lane].remove(key, entry.size)
        self._buffered_bytes -= entry.size
        self._rows -= 1
        behind = keys.behind.get(key)
        if behind:
            keys.heads[key] = behind.pop(0)
            if not behind:
                del keys.behind[key]
        else:
            del keys.heads[key]
        keys.in_flight.add(key)

    def _push(self, keys: _Keys, key: str, entry: _Entry, *, front: bool) -> Superseded:
        queue = keys.queue(key)
        superseded: Superseded = ()
        if not queue:
            merged = [entry]
        elif front:
            followed, superseded = _follow(entry, queue[0])
            merged = followed + queue[1:]
        else:
            followed, superseded = _follow(queue[-1], entry)
            merged = queue[:-1] + followed
        self._replace_queue(keys, key, merged)
        return superseded

    def _replace_queue(self, keys: _Keys, key: str, entries: Sequence[_Entry]) -> None:
        """Swap a key's queue, keeping lane membership and byte counts exact."""
        self._unlist(keys, key)
        for entry in keys.queue(key):
            self._buffered_bytes -= entry.size
            self._rows -= 1
        keys.heads.pop(key, None)
        keys.behind.pop(key, None)
        if entries:
            keys.heads[key] = entries[0]
            if len(entries) > 1:
                keys.behind[key] = list(entries[1:])
            self._buffered_bytes += sum(entry.size for entry in entries)
            self._rows += len(entries)
            self._make_eligible(keys, key)

    def _unlist(self, keys: _Keys, key: str) -> None:
        head = keys.heads.get(key)
        if head is None:
            return
        state = self._lanes[head.row.lane]
        if key in state.keys:
            state.remove(key, head.size)

    def _make_eligible(self, keys: _Keys, key: str) -> None:
        head = keys.heads.get(key)
        if head is None or key in keys.in_flight:
            return
        self._lanes.setdefault(head.row.lane, _LaneState()).add(key, head.size, head.since)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
