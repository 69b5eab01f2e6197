"""Parent lookups of DML rows: reference fields set by Id or by a parent's external id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator import rowerrors
from emulator.schema import ObjectDef, Schema
from emulator.store import Store

if TYPE_CHECKING:
    from emulator.dml import Row


def resolve_lookups(store: Store, schema: Schema, obj: ObjectDef, rows: list[Row]) -> None:
    """Turn `Rel.Key` cells into parent ids and check that referenced ids exist."""
    _by_key(store, schema, rows)
    _by_id(store, schema, obj, [r for r in rows if r.error is None])


def _by_key(store: Store, schema: Schema, rows: list[Row]) -> None:
    wanted: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        for ref, target, value in row.lookups:
            wanted.setdefault((str(ref.reference_to), target.name), set()).add(value)
    found = {
        pair: store.ids_by_value(schema.objects[pair[0]], pair[1], values)
        for pair, values in wanted.items()
    }
    for row in rows:
        for ref, target, value in row.lookups:
            parent = str(ref.reference_to)
            matches = found[(parent, target.name)].get(value.lower(), [])
            if not matches:
                row.error = rowerrors.parent_not_found(parent, target, value)
            elif len(matches) > 1:
                row.error = rowerrors.parent_ambiguous(parent, target, matches)
            else:
                row.values[ref.name] = matches[0]
                continue
            break


def _by_id(store: Store, schema: Schema, obj: ObjectDef, rows: list[Row]) -> None:
    for fld in obj.fields.values():
        if fld.type != "reference":
            continue
        holders = [r for r in rows if r.error is None and r.values.get(fld.name) is not None]
        if not holders:
            continue
        parent = schema.objects[str(fld.reference_to)]
        found = store.existing(parent, [str(r.values[fld.name]) for r in holders])
        for row in holders:
            value = str(row.values[fld.name])
            if not value.startswith(parent.key_prefix):
                row.error = rowerrors.wrong_object(fld, value)
            elif value not in found:
                row.error = rowerrors.bad_reference()
            elif found[value]:
                row.error = rowerrors.entity_deleted()
