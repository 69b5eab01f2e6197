"""DML on a batch of rows as Salesforce applies it: insert, update, upsert, delete, hardDelete.

Both the Bulk API worker (10,000 rows at a time) and REST (one record, or a collection
of up to 200) hand `apply` a list of `Row`s whose values are already in stored form.
All lookups are done with a few set-based queries and all writes with executemany, in
one transaction per call: that is what makes a million-row job take seconds, not hours.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field

from emulator import rowerrors
from emulator.lookups import resolve_lookups
from emulator.schema import FieldDef, ObjectDef, Schema
from emulator.store import Store, delete_many, insert_many, now_stamp, update_many
from emulator.values import FieldError

_SYSTEM = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")


@dataclass(slots=True)
class Row:
    """One row on its way through DML; `apply` fills in record_id, created and error."""

    values: dict[str, object]
    lookups: list[tuple[FieldDef, FieldDef, str]] = field(default_factory=list)
    record_id: str | None = None
    created: bool = False
    error: FieldError | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with a batch: the object, the operation and the upsert key."""

    schema: Schema
    obj: ObjectDef
    operation: str
    ext_field: FieldDef | None = None
    lock_fraction: float = 0.0


def apply(
    store: Store, plan: Plan, rows: list[Row], rng: random.Random, *, write: bool = True
) -> int:
    """Apply the rows in one transaction; return how many lock failures were injected.

    With write=False every check runs and nothing is written: sObject Collections with
    allOrNone use it to learn whether the whole request would succeed.
    """
    live = [r for r in rows if r.error is None]
    with store.transaction() as db:
        if plan.operation in {"delete", "hardDelete"}:
            _delete(db, store, plan, live, write=write)
        else:
            _targets(store, plan, live)
            live = [r for r in live if r.error is None]
            resolve_lookups(store, plan.schema, plan.obj, live)
            live = [r for r in live if r.error is None]
            _check_fields(plan, live)
            _check_unique(store, plan, [r for r in live if r.error is None])
        retries = _inject_locks(plan, rows, rng)
        if write and plan.operation not in {"delete", "hardDelete"}:
            _write(db, plan.obj, [r for r in rows if r.error is None and r.record_id])
    return retries


def _inject_locks(plan: Plan, rows: list[Row], rng: random.Random) -> int:
    if plan.lock_fraction <= 0:
        return 0
    hit = 0
    for row in rows:
        if row.error is None and rng.random() < plan.lock_fraction:
            row.error = rowerrors.lock_failure(row.record_id or "")
            hit += 1
    return hit


def _row_id(plan: Plan, row: Row) -> str | None:
    record_id = row.values.get("Id")
    if record_id is None:
        row.error = rowerrors.missing_id(plan.operation)
        return None
    text = str(record_id)
    if not text.startswith(plan.obj.key_prefix):
        row.error = rowerrors.wrong_object(plan.obj.fields["Id"], text)
        return None
    return text


def _targets(store: Store, plan: Plan, rows: list[Row]) -> None:
    if plan.operation == "insert":
        for row in rows:
            if row.values.get("Id") is not None:
                row.error = rowerrors.id_on_insert()
        _assign_new(store, plan.obj, [r for r in rows if r.error is None])
    elif plan.operation == "update" or (plan.ext_field and plan.ext_field.name == "Id"):
        _targets_by_id(store, plan, rows)
    else:
        _targets_by_key(store, plan, rows)


def _assign_new(store: Store, obj: ObjectDef, rows: list[Row]) -> None:
    for row, record_id in zip(rows, store.new_ids(obj, len(rows)), strict=True):
        row.record_id = record_id
        row.created = True


def _targets_by_id(store: Store, plan: Plan, rows: list[Row]) -> None:
    new: list[Row] = []
    wanted: list[Row] = []
    for row in rows:
        if plan.operation == "upsert" and row.values.get("Id") is None:
            new.append(row)  # upsert on Id inserts the rows without one
        elif _row_id(plan, row) is not None:
            wanted.append(row)
    found = store.existing(plan.obj, [str(r.values["Id"]) for r in wanted])
    for row in wanted:
        record_id = str(row.values["Id"])
        deleted = found.get(record_id)
        if deleted is None:
            row.error = rowerrors.bad_reference()
        elif deleted:
            row.error = rowerrors.entity_deleted()
        else:
            row.record_id = record_id
    _assign_new(store, plan.obj, new)


def _targets_by_key(store: Store, plan: Plan, rows: list[Row]) -> None:
    key = plan.ext_field
    assert key is not None  # noqa: S101 - upsert jobs are created with their key
    counts: dict[str, int] = {}
    for row in rows:
        value = row.values.get(key.name)
        if value is None:
            row.error = rowerrors.missing_key(key.name)
        else:
            lowered = str(value).lower()
            counts[lowered] = counts.get(lowered, 0) + 1
    keyed = [r for r in rows if r.error is None]
    for row in keyed:
        if counts[str(row.values[key.name]).lower()] > 1:
            row.error = rowerrors.duplicate_key(key, str(row.values[key.name]))
    keyed = [r for r in keyed if r.error is None]
    matches = store.ids_by_value(plan.obj, key.name, [str(r.values[key.name]) for r in keyed])
    new: list[Row] = []
    for row in keyed:
        found = matches.get(str(row.values[key.name]).lower())
        if not found:
            new.append(row)
        elif len(found) > 1:
            row.error = rowerrors.duplicate_matches(key, found)
        else:
            row.record_id = found[0]
    _assign_new(store, plan.obj, new)


def _check_fields(plan: Plan, rows: list[Row]) -> None:
    required = [f.name for f in plan.obj.fields.values() if f.required]
    fields = plan.obj.fields
    for row in rows:
        attribute = "createable" if row.created else "updateable"
        closed = [
            n
            for n in row.values
            if n != "Id" and not getattr(fields[n], attribute) and not _is_key(plan, n)
        ]
        if closed:
            row.error = rowerrors.not_writable(closed)
            continue
        if row.created:
            missing = [n for n in required if row.values.get(n) is None]
        else:
            missing = [n for n in required if n in row.values and row.values[n] is None]
        if missing:
            row.error = rowerrors.required_missing(missing)


def _is_key(plan: Plan, name: str) -> bool:
    return plan.ext_field is not None and plan.ext_field.name == name


def _check_unique(store: Store, plan: Plan, rows: list[Row]) -> None:
    for fld in plan.obj.fields.values():
        if not fld.unique or fld.type == "id":
            continue
        holders = [r for r in rows if r.error is None and r.values.get(fld.name) is not None]
        existing = store.ids_by_value(
            plan.obj, fld.name, [str(r.values[fld.name]) for r in holders]
        )
        claimed: dict[str, str] = {}
        for row in holders:
            value = str(row.values[fld.name]).lower()
            others = [i for i in existing.get(value, []) if i != row.record_id]
            owner = others[0] if others else claimed.get(value)
            if owner is not None and owner != row.record_id:
                row.error = rowerrors.duplicate_value(fld, owner)
            else:
                claimed[value] = row.record_id or ""


def _write(db: sqlite3.Connection, obj: ObjectDef, rows: list[Row]) -> None:
    stamp = now_stamp()
    names = [n for n in obj.fields if n not in _SYSTEM]
    inserts = [
        (r.record_id, 0, stamp, stamp, stamp, *[r.values.get(n) for n in names])
        for r in rows
        if r.created
    ]
    if inserts:
        insert_many(db, obj, [*_SYSTEM, *names], inserts)
    groups: dict[tuple[str, ...], list[tuple[object, ...]]] = {}
    for row in rows:
        if not row.created:
            changed = tuple(n for n in row.values if n != "Id")
            values = [row.values[n] for n in changed]
            groups.setdefault(changed, []).append((*values, stamp, stamp, row.record_id))
    for changed, updates in groups.items():
        update_many(db, obj, [*changed, "LastModifiedDate", "SystemModstamp"], updates)


def _delete(
    db: sqlite3.Connection, store: Store, plan: Plan, rows: list[Row], *, write: bool
) -> None:
    wanted = [r for r in rows if _row_id(plan, r) is not None]
    found = store.existing(plan.obj, [str(r.values["Id"]) for r in wanted])
    gone: set[str] = set()
    for row in wanted:
        record_id = str(row.values["Id"])
        deleted = found.get(record_id)
        if deleted is None:
            row.error = rowerrors.bad_reference()
        elif deleted or record_id in gone:
            row.error = rowerrors.entity_deleted()
        else:
            row.record_id = record_id
            gone.add(record_id)
    hard = plan.operation == "hardDelete"
    if write:
        delete_many(db, plan.obj, sorted(gone), hard=hard, stamp=now_stamp())
