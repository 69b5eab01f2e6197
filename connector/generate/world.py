"""The source database, simulated: a deterministic stream of changes and the rows they leave.

One seeded random source drives every choice, so a seed always gives the same stream and
the same final rows. Each change is applied to the simulated rows before it is handed
out: however many changes a caller takes, the rows are exactly what those changes made.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from random import Random

from connector.generate.columns import below
from connector.generate.expected import ExpectedState, org_row
from connector.generate.mix import Kind, Mix, Shape
from connector.generate.tables import ACCOUNTS, CONTACTS, Table

Row = dict[str, object]
_DELETE_SHAPES = (Shape.ENVELOPE, Shape.ROW, Shape.TOMBSTONE)
_MAX_CHANGED = 3  # columns an update touches, at most
_REPARENT = 0.1  # share of contact updates that move the contact to another account


@dataclass(frozen=True, slots=True)
class Change:
    """One Kafka record to write: a change of one row.

    `row` is the image the shape carries, in the Avro writer's form: the after image of
    a create or update, the before image of a delete, the changed columns of a patch.
    `seq` numbers the change in the stream; timestamps and log positions derive from it.
    """

    table: Table
    kind: Kind
    shape: Shape
    key: int
    row: Row | None
    op: str
    seq: int


@dataclass
class _Rows:
    """The rows of one table: live ones by key, and the keys that must end absent."""

    table: Table
    rows: dict[int, Row] = field(default_factory=dict)
    keys: list[int] = field(default_factory=list)
    slots: dict[int, int] = field(default_factory=dict)
    gone: set[int] = field(default_factory=set)
    next_key: int = 1
    step: int = 1

    def new_key(self) -> int:
        key = self.next_key
        self.next_key += self.step
        return key

    def add(self, key: int, row: Row) -> None:
        self.rows[key] = row
        self.slots[key] = len(self.keys)
        self.keys.append(key)

    def remove(self, key: int) -> Row:
        # Swap with the last key so that removal and a uniform pick both stay O(1).
        slot, last = self.slots.pop(key), self.keys.pop()
        if last != key:
            self.keys[slot] = last
            self.slots[last] = slot
        self.gone.add(key)
        return self.rows.pop(key)

    def pick(self, rng: Random) -> int:
        return self.keys[int(rng.random() * len(self.keys))]


class World:
    """Accounts and their contacts, changed at random following a Mix.

    A stream can be cut into `shards` that share nothing (shard i owns the keys
    i+1, i+1+shards, ...), so that several processes produce one stream; the same seed
    and number of shards always give the same changes and the same final rows.
    """

    def __init__(self, seed: int, mix: Mix | None = None, shard: int = 0, shards: int = 1) -> None:
        self.mix = mix or Mix()
        self._rng = Random(f"{seed}:{shard}/{shards}")  # noqa: S311 - a seeded stream, no secret
        self._accounts = _Rows(ACCOUNTS, next_key=shard + 1, step=shards)
        self._contacts = _Rows(CONTACTS, next_key=shard + 1, step=shards)
        self._children: dict[int, set[int]] = {}
        self._cumulative = tuple(itertools.accumulate(self.mix.weights()))
        self._kinds = tuple(Kind)
        self._seq = itertools.count(shard, shards)
        self._stream = self._changes()

    def changes(self, count: int) -> Iterator[Change]:
        """The next `count` changes (a later call goes on where this one stopped)."""
        return itertools.islice(self._stream, count)

    def expected(self) -> ExpectedState:
        """What the org holds once every change so far is written."""
        objects = {}
        for rows in (self._accounts, self._contacts):
            state: dict[str, dict[str, object] | None] = dict.fromkeys(map(str, rows.gone))
            for key, row in rows.rows.items():
                state[str(key)] = org_row(rows.table, row)
            objects[rows.table.sobject] = state
        return ExpectedState(objects)

    def _changes(self) -> Iterator[Change]:
        rng, mix = self._rng, self.mix
        while True:
            kind = self._kinds[bisect.bisect(self._cumulative, rng.random() * self._cumulative[-1])]
            contact = rng.random() < mix.contacts and bool(self._accounts.keys)
            rows = self._contacts if contact else self._accounts
            if kind in {Kind.UPDATE, Kind.SPARSE, Kind.NULLS, Kind.DELETE} and not rows.keys:
                kind = Kind.CREATE
            yield from self._change(kind, rows)

    def _change(self, kind: Kind, rows: _Rows) -> Iterator[Change]:
        if kind is Kind.CREATE:
            key = rows.new_key()
            row = self._new_row(rows.table, key)
            rows.add(key, row)
            if rows is self._contacts:
                self._children.setdefault(int(str(row["account_key"])), set()).add(key)
            yield Change(rows.table, kind, Shape.ENVELOPE, key, row, "c", next(self._seq))
        elif kind is Kind.DELETE:
            yield from self._delete(rows, rows.pick(self._rng))
        elif kind is Kind.REJECT:
            yield self._reject(rows)
        elif kind is Kind.UNDECODABLE:
            key = rows.pick(self._rng) if rows.keys else rows.new_key()
            row = self._new_row(rows.table, key)
            yield Change(rows.table, kind, Shape.GARBAGE, key, row, "c", next(self._seq))
        else:
            yield self._update(kind, rows, rows.pick(self._rng))

    def _new_row(self, table: Table, key: int) -> Row:
        rng = self._rng
        row: Row = {"id": key}
        for column in table.columns:
            row[column.source] = column.make(rng)
        if table.parent is not None:
            row[table.parent.column] = str(self._accounts.pick(rng))
        return row

    def _update(self, kind: Kind, rows: _Rows, key: int) -> Change:
        rng, table = self._rng, rows.table
        row = dict(rows.rows[key])
        if kind is Kind.SPARSE:
            names = table.patches[int(rng.random() * len(table.patches))]
            patch: Row = {"id": key}
            for name in names:
                patch[name] = row[name] = table.by_source[name].make(rng)
            rows.rows[key] = row
            return Change(table, kind, Shape.PATCH, key, patch, "u", next(self._seq))
        choices = [c for c in table.columns if c.nullable] if kind is Kind.NULLS else table.columns
        # Drawn with replacement: a column drawn twice just makes a smaller update.
        for _ in range(1 + below(rng, _MAX_CHANGED)):
            column = choices[below(rng, len(choices))]
            row[column.source] = None if kind is Kind.NULLS else column.make(rng)
        if table.parent is not None and kind is Kind.UPDATE and rng.random() < _REPARENT:
            self._reparent(key, row)
        rows.rows[key] = row
        return Change(table, kind, Shape.ENVELOPE, key, row, "u", next(self._seq))

    def _reparent(self, key: int, row: Row) -> None:
        old, new = int(str(row["account_key"])), self._accounts.pick(self._rng)
        self._children.get(old, set()).discard(key)
        self._children.setdefault(new, set()).add(key)
        row["account_key"] = str(new)

    def _reject(self, rows: _Rows) -> Change:
        table = rows.table
        key = rows.new_key()
        row = self._new_row(table, key)
        column, bad = table.rejects[int(self._rng.random() * len(table.rejects))]
        row[column] = bad
        rows.gone.add(key)  # Salesforce refuses its only write: it never exists
        return Change(table, Kind.REJECT, Shape.ENVELOPE, key, row, "c", next(self._seq))

    def _delete(self, rows: _Rows, key: int) -> Iterator[Change]:
        if rows is self._accounts:
            for child in sorted(self._children.get(key, ())):
                yield from self._delete(self._contacts, child)
            self._children.pop(key, None)
        row = rows.remove(key)
        if rows is self._contacts:
            self._children.get(int(str(row["account_key"])), set()).discard(key)
        shape = _DELETE_SHAPES[int(self._rng.random() * len(_DELETE_SHAPES))]
        if shape is Shape.TOMBSTONE:
            yield Change(rows.table, Kind.DELETE, shape, key, None, "d", next(self._seq))
            return
        yield Change(rows.table, Kind.DELETE, shape, key, row, "d", next(self._seq))
        if shape is Shape.ENVELOPE:  # Debezium follows a delete with a tombstone
            yield Change(rows.table, Kind.DELETE, Shape.TOMBSTONE, key, None, "d", next(self._seq))
