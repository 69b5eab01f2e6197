"""The source database, simulated: a deterministic stream of changes and the rows they leave.

One seeded random source drives every choice, so a seed always gives the same stream and
the same final rows. Each change is applied to the simulated rows before it is handed
out: however many changes a caller takes, the rows are exactly what those changes made.

A row is a list of indexes into its table's column pools (see Table), followed, for a
table with a parent, by the parent's key: a change copies a list and draws a few
indexes, and the encoders join values written once per pool entry.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from random import Random

from connector.generate.expected import ExpectedState, org_row
from connector.generate.mix import Kind, Mix, Shape
from connector.generate.tables import ACCOUNTS, CONTACTS, Table

Row = list[int]
_DELETE_SHAPES = (Shape.ENVELOPE, Shape.ROW, Shape.TOMBSTONE)
_MAX_CHANGED = 3  # columns an update touches, at most
_REPARENT = 0.1  # share of contact updates that move the contact to another account
_NEEDS_A_ROW = frozenset({Kind.UPDATE, Kind.SPARSE, Kind.NULLS, Kind.DELETE})


@dataclass(frozen=True, slots=True)
class Change:
    """One Kafka record to write: a change of one row.

    `row` is the image the shape carries: the after image of a create or update (a
    patch sends only the columns of `table.patches[patch]` from it), the before image of
    a delete, None for a tombstone. `seq` numbers the change in the stream; timestamps
    and log positions derive from it.
    """

    table: Table
    kind: Kind
    shape: Shape
    key: int
    row: Row | None
    op: str
    seq: int
    patch: int = -1


@dataclass
class _Rows:
    """The rows of one table: live ones by key, and the keys that must end absent."""

    table: Table
    next_key: int
    step: int
    rows: dict[int, Row] = field(default_factory=dict)
    keys: list[int] = field(default_factory=list)
    slots: dict[int, int] = field(default_factory=dict)
    gone: set[int] = field(default_factory=set)

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
        rng, kinds, cumulative = self._rng, self._kinds, self._cumulative
        while True:
            kind = kinds[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
            contact = rng.random() < self.mix.contacts and bool(self._accounts.keys)
            rows = self._contacts if contact else self._accounts
            if kind in _NEEDS_A_ROW and not rows.keys:
                kind = Kind.CREATE
            yield from self._change(kind, rows)

    def _change(self, kind: Kind, rows: _Rows) -> Iterator[Change]:
        if kind is Kind.CREATE:
            yield self._create(rows)
        elif kind is Kind.DELETE:
            yield from self._delete(rows, rows.pick(self._rng))
        elif kind is Kind.REJECT:
            yield self._reject(rows)
        elif kind is Kind.UNDECODABLE:
            key = rows.pick(self._rng) if rows.keys else rows.new_key()
            row = self._new_row(rows.table)
            yield Change(rows.table, kind, Shape.GARBAGE, key, row, "c", next(self._seq))
        elif kind is Kind.SPARSE:
            yield self._patch(rows, rows.pick(self._rng))
        else:
            yield self._update(kind, rows, rows.pick(self._rng))

    def _new_row(self, table: Table) -> Row:
        rng = self._rng
        row = [pool.fresh(rng) for pool in table.pools]
        if table.parent is not None:
            row.append(self._accounts.pick(rng))
        return row

    def _create(self, rows: _Rows) -> Change:
        key = rows.new_key()
        row = self._new_row(rows.table)
        rows.add(key, row)
        if rows is self._contacts:
            self._children.setdefault(row[-1], set()).add(key)
        return Change(rows.table, Kind.CREATE, Shape.ENVELOPE, key, row, "c", next(self._seq))

    def _patch(self, rows: _Rows, key: int) -> Change:
        rng, table = self._rng, rows.table
        row = rows.rows[key] = rows.rows[key].copy()
        patch = int(rng.random() * len(table.patches))
        for name in table.patches[patch]:
            position = table.positions[name]
            row[position] = table.pools[position].fresh(rng)
        return Change(table, Kind.SPARSE, Shape.PATCH, key, row, "u", next(self._seq), patch)

    def _update(self, kind: Kind, rows: _Rows, key: int) -> Change:
        rng, table = self._rng, rows.table
        row = rows.rows[key] = rows.rows[key].copy()
        width = len(table.pools)
        # Drawn with replacement: a column drawn twice just makes a smaller update.
        for _ in range(1 + int(rng.random() * _MAX_CHANGED)):
            position = int(rng.random() * width)
            pool = table.pools[position]
            # A column that cannot be null keeps a value in a nulls update.
            row[position] = 0 if kind is Kind.NULLS and pool.first else pool.fresh(rng)
        if table.parent is not None and kind is Kind.UPDATE and rng.random() < _REPARENT:
            self._reparent(key, row)
        return Change(table, kind, Shape.ENVELOPE, key, row, "u", next(self._seq))

    def _reparent(self, key: int, row: Row) -> None:
        new = self._accounts.pick(self._rng)
        self._children.get(row[-1], set()).discard(key)
        self._children.setdefault(new, set()).add(key)
        row[-1] = new

    def _reject(self, rows: _Rows) -> Change:
        table = rows.table
        key = rows.new_key()
        row = self._new_row(table)
        position, bad = table.reject(int(self._rng.random() * len(table.rejects)))
        row[position] = bad
        rows.gone.add(key)  # Salesforce refuses its only write: it never exists
        return Change(table, Kind.REJECT, Shape.ENVELOPE, key, row, "c", next(self._seq))

    def _delete(self, rows: _Rows, key: int) -> Iterator[Change]:
        table = rows.table
        if rows is self._accounts:
            for child in sorted(self._children.get(key, ())):
                yield from self._delete(self._contacts, child)
            self._children.pop(key, None)
        row = rows.remove(key)
        if rows is self._contacts:
            self._children.get(row[-1], set()).discard(key)
        shape = _DELETE_SHAPES[int(self._rng.random() * len(_DELETE_SHAPES))]
        if shape is Shape.TOMBSTONE:
            yield Change(table, Kind.DELETE, shape, key, None, "d", next(self._seq))
            return
        yield Change(table, Kind.DELETE, shape, key, row, "d", next(self._seq))
        if shape is Shape.ENVELOPE:  # Debezium follows a delete with a tombstone
            yield Change(table, Kind.DELETE, Shape.TOMBSTONE, key, None, "d", next(self._seq))
