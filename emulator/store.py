"""Records in SQLite: one table per object, one column per field, WAL journal.

One connection serves every write, behind one lock, so a 10,000-row chunk is one
transaction of a few executemany calls. Long reads (SOQL, query jobs) open their own
connection, which WAL lets run beside the writer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from emulator import ids
from emulator.schema import NUMBER_TYPES, FieldDef, ObjectDef, Schema
from emulator.values import store_datetime, to_python

# SQLite's default bound on host parameters per statement is 32,766; stay well below.
_IN_BATCH = 900
_CONVERTED = frozenset({"boolean", "date", "datetime"})
_NOCASE = frozenset({"string", "email", "phone", "url", "picklist", "textarea"})


# SQLite's default cap on bound parameters is 32,766.
_MAX_SQL_VALUES = 30_000


def _column_sql(fld: FieldDef) -> str:
    if fld.name == "Id":
        return '"Id" TEXT PRIMARY KEY'
    if fld.type in {"boolean", "int"}:
        kind = "INTEGER"
    elif fld.type in NUMBER_TYPES:
        kind = "REAL"
    else:
        kind = "TEXT"
    # External ids and unique text fields match case-insensitively in Salesforce.
    collate = " COLLATE NOCASE" if fld.type in _NOCASE and (fld.unique or fld.external_id) else ""
    return f'"{fld.name}" {kind}{collate}'


def now_stamp() -> str:
    """The current time in stored datetime form."""
    return store_datetime(datetime.now(UTC))


class Store:
    """The org's records."""

    def __init__(self, path: Path, schema: Schema) -> None:
        self.path = path
        self.schema = schema
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._counters: dict[str, int] = {}
        self._create_tables()

    def _create_tables(self) -> None:
        with self.lock:
            for obj in self.schema.objects.values():
                columns = ", ".join(_column_sql(f) for f in obj.fields.values())
                self._db.execute(f'CREATE TABLE IF NOT EXISTS "{obj.name}" ({columns})')
                # An org file from an older object definition gains the fields added since.
                existing = {row[1] for row in self._db.execute(f'PRAGMA table_info("{obj.name}")')}
                for fld in obj.fields.values():
                    if fld.name not in existing:
                        self._db.execute(f'ALTER TABLE "{obj.name}" ADD COLUMN {_column_sql(fld)}')
                for fld in obj.fields.values():
                    if fld.unique or fld.external_id or fld.type == "reference":
                        self._db.execute(
                            f'CREATE INDEX IF NOT EXISTS "ix_{obj.name}_{fld.name}" '
                            f'ON "{obj.name}" ("{fld.name}")'
                        )
                self._counters[obj.name] = self._db.execute(
                    f'SELECT count(*) FROM "{obj.name}"'
                ).fetchone()[0]

    def close(self) -> None:
        """Close the writer connection."""
        with self.lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The writer connection inside BEGIN IMMEDIATE ... COMMIT, under the lock."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def new_ids(self, obj: ObjectDef, count: int) -> list[str]:
        """Fresh ids for `count` new records of `obj`."""
        with self.lock:
            start = self._counters[obj.name] + 1
            self._counters[obj.name] += count
        return [ids.make_id(obj.key_prefix, start + i) for i in range(count)]

    def existing(self, obj: ObjectDef, record_ids: Iterable[str]) -> dict[str, bool]:
        """Id -> IsDeleted for those of `record_ids` that exist (deleted ones included)."""
        found: dict[str, bool] = {}
        with self.lock:
            for part in _batches(list(set(record_ids))):
                marks = ",".join("?" * len(part))
                sql = f'SELECT "Id", "IsDeleted" FROM "{obj.name}" WHERE "Id" IN ({marks})'
                found.update((r[0], bool(r[1])) for r in self._db.execute(sql, part))
        return found

    def ids_by_value(
        self, obj: ObjectDef, field: str, values: Iterable[str]
    ) -> dict[str, list[str]]:
        """Lower-cased value -> ids of the live records whose `field` has that value."""
        found: dict[str, list[str]] = {}
        with self.lock:
            for part in _batches(list(set(values))):
                marks = ",".join("?" * len(part))
                sql = (
                    f'SELECT "{field}", "Id" FROM "{obj.name}" '
                    f'WHERE "{field}" IN ({marks}) AND "IsDeleted" = 0'
                )
                for value, record_id in self._db.execute(sql, part):
                    found.setdefault(str(value).lower(), []).append(record_id)
        return found

    def get(self, obj: ObjectDef, record_id: str) -> dict[str, object] | None:
        """One record in stored form, deleted or not."""
        with self.lock:
            cursor = self._db.execute(f'SELECT * FROM "{obj.name}" WHERE "Id" = ?', (record_id,))
            row = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        return None if row is None else dict(zip(names, row, strict=True))

    def rows(
        self,
        obj: ObjectDef,
        *,
        include_deleted: bool,
        narrow: tuple[str, tuple[str, ...]] | None = None,
    ) -> Iterator[dict[str, object]]:
        """Every record in stored form, read on a connection of its own.

        `narrow` (a field and values) reads only records holding one of the values, when
        the field is indexed case-insensitively (external ids, unique text) and the values
        are ASCII, so SQLite's NOCASE matches exactly what SOQL's case-insensitive `=`
        does: a superset of nothing less. Otherwise every record is read.
        """
        reader = sqlite3.connect(self.path)
        try:
            clauses = [] if include_deleted else ['"IsDeleted" = 0']
            params: tuple[str, ...] = ()
            if narrow is not None and self._narrowable(obj, *narrow):
                field, values = narrow
                clauses.append(f'"{field}" IN ({", ".join("?" * len(values))})')
                params = values
            where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
            cursor = reader.execute(f'SELECT * FROM "{obj.name}"{where} ORDER BY rowid', params)
            names = [d[0] for d in cursor.description]
            while batch := cursor.fetchmany(2000):
                for row in batch:
                    yield dict(zip(names, row, strict=True))
        finally:
            reader.close()

    @staticmethod
    def _narrowable(obj: ObjectDef, field: str, values: tuple[str, ...]) -> bool:
        fld = obj.fields.get(field)
        return (
            fld is not None
            and fld.type in _NOCASE
            and (fld.unique or fld.external_id)
            and 0 < len(values) <= _MAX_SQL_VALUES
            and all(value.isascii() for value in values)
        )

    def python_rows(
        self,
        obj: ObjectDef,
        *,
        include_deleted: bool,
        narrow: tuple[str, tuple[str, ...]] | None = None,
    ) -> Iterator[dict[str, object]]:
        """Every record with Python values (bool, date, datetime), for SOQL."""
        # Only booleans, dates and datetimes change form; the rest pass through untouched,
        # which keeps a million-row query job to a few seconds.
        kinds = {f.name: f.type for f in obj.fields.values() if f.type in _CONVERTED}
        for row in self.rows(obj, include_deleted=include_deleted, narrow=narrow):
            for name, kind in kinds.items():
                row[name] = to_python(kind, row[name])
            yield row

    def count(self, obj: ObjectDef, *, include_deleted: bool = False) -> int:
        """How many records the object has."""
        where = "" if include_deleted else ' WHERE "IsDeleted" = 0'
        with self.lock:
            return int(self._db.execute(f'SELECT count(*) FROM "{obj.name}"{where}').fetchone()[0])

    def reset(self) -> None:
        """Delete every record of every object."""
        with self.transaction() as db:
            for obj in self.schema.objects.values():
                db.execute(f'DELETE FROM "{obj.name}"')


def insert_many(
    db: sqlite3.Connection, obj: ObjectDef, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert rows whose values follow `columns` (Id and system stamps included)."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    db.executemany(f'INSERT INTO "{obj.name}" ({names}) VALUES ({marks})', rows)


def update_many(
    db: sqlite3.Connection, obj: ObjectDef, columns: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Update rows given as (values in `columns` order..., Id)."""
    sets = ", ".join(f'"{c}" = ?' for c in columns)
    db.executemany(f'UPDATE "{obj.name}" SET {sets} WHERE "Id" = ?', rows)


def delete_many(
    db: sqlite3.Connection, obj: ObjectDef, record_ids: list[str], *, hard: bool, stamp: str
) -> None:
    """Soft-delete (IsDeleted = 1, the Recycle Bin) or remove records."""
    if hard:
        db.executemany(f'DELETE FROM "{obj.name}" WHERE "Id" = ?', [(i,) for i in record_ids])
    else:
        db.executemany(
            f'UPDATE "{obj.name}" SET "IsDeleted" = 1, "SystemModstamp" = ?, '
            f'"LastModifiedDate" = ? WHERE "Id" = ?',
            [(stamp, stamp, i) for i in record_ids],
        )


def _batches(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_BATCH):
        yield values[start : start + _IN_BATCH]


def stored_record(obj: ObjectDef, row: Mapping[str, object]) -> dict[str, object]:
    """A stored row keyed by every field name of the object (missing ones as None)."""
    return {name: row.get(name) for name in obj.fields}
