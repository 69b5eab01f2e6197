"""REST JSON records turned into DML rows, and stored records into REST JSON."""

from __future__ import annotations

from collections.abc import Mapping

from emulator.dml import Row
from emulator.schema import ObjectDef, Schema
from emulator.values import FieldError, from_json, to_json


def invalid_field(obj: ObjectDef, name: str) -> FieldError:
    """An unknown field name in a REST body."""
    return FieldError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", ())


def to_row(schema: Schema, obj: ObjectDef, body: Mapping[str, object]) -> Row:
    """A DML row from a JSON record; a bad value is recorded on the row, not raised.

    A relationship key holding {"ExternalKey__c": "A-1"} sets the reference by the
    parent's external id, as REST upserts allow.
    """
    row = Row({})
    try:
        for name, value in body.items():
            if name == "attributes":
                continue
            _set(schema, obj, row, name, value)
    except FieldError as exc:
        row.error = exc
    return row


def _set(schema: Schema, obj: ObjectDef, row: Row, name: str, value: object) -> None:
    fld = obj.field(name)
    if fld is not None:
        row.values[fld.name] = from_json(fld, value)
        return
    ref = obj.relationship(name)
    if ref is None or not isinstance(value, Mapping):
        raise invalid_field(obj, name)
    parent = schema.objects[str(ref.reference_to)]
    keys = [k for k in value if k != "attributes"]
    target = parent.field(keys[0]) if len(keys) == 1 else None
    if target is None or not target.id_lookup:
        raise invalid_field(obj, name)
    if target.name == "Id":
        row.values[ref.name] = from_json(ref, value[keys[0]])
    else:
        row.lookups.append((ref, target, str(value[keys[0]])))


def record_json(
    obj: ObjectDef, version: str, record: Mapping[str, object], fields: list[str] | None = None
) -> dict[str, object]:
    """A stored record as REST shows it, with its attributes."""
    names = fields or list(obj.fields)
    body: dict[str, object] = {
        "attributes": {
            "type": obj.name,
            "url": f"/services/data/v{version}/sobjects/{obj.name}/{record.get('Id')}",
        }
    }
    for name in names:
        fld = obj.fields[name]
        body[name] = to_json(fld.type, record.get(name))
    return body


def error_items(error: FieldError) -> list[dict[str, object]]:
    """The errors array of a REST DML failure (statusCode, as Collections spell it)."""
    return [{"statusCode": error.code, "message": error.message, "fields": list(error.fields)}]
