"""The header row of an ingest upload, resolved against the job's object.

A header Salesforce cannot map fails the whole job before any row is processed, with
the `InvalidBatch : ...` errorMessage a real org gives. Names match case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.schema import FieldDef, ObjectDef, Schema


class HeaderError(Exception):
    """The header cannot be mapped; the message is the job's errorMessage."""


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column: the field it writes and, for `Rel.Field` columns, how to look it up."""

    index: int
    header: str
    field: FieldDef
    lookup_object: ObjectDef | None = None
    lookup_field: FieldDef | None = None


def resolve(schema: Schema, obj: ObjectDef, header: list[str]) -> list[Column]:
    """Map each header cell onto a field or a parent lookup, or raise HeaderError."""
    columns: list[Column] = []
    seen: set[str] = set()
    for index, name in enumerate(header):
        column = _column(schema, obj, index, name)
        key = column.field.name.lower()
        if key in seen:
            # Inferred: a duplicated column is a header problem, worded like the others.
            raise HeaderError(f"InvalidBatch : Duplicate field name: {name}")
        seen.add(key)
        columns.append(column)
    return columns


def _column(schema: Schema, obj: ObjectDef, index: int, name: str) -> Column:
    if "." not in name:
        fld = obj.field(name)
        if fld is None:
            raise HeaderError(f"InvalidBatch : Field name not found : {name}")
        return Column(index, name, fld)
    relation, _, target_name = name.partition(".")
    if ":" in relation:
        # `Type:Relationship.Field` is for polymorphic lookups, which this org has none of.
        relation = relation.partition(":")[2]
        raise HeaderError(
            "InvalidBatch : type is not needed for non polymorphic foreign key references: "
            f"{relation}"
        )
    ref = obj.relationship(relation)
    if ref is None or ref.reference_to is None:
        raise HeaderError(f"InvalidBatch : Field name not found : {name}")
    parent = schema.objects[ref.reference_to]
    target = parent.field(target_name)
    if target is None:
        raise HeaderError(f"InvalidBatch : Field name not found : {name}")
    if not target.id_lookup:
        raise HeaderError(
            f"InvalidBatch : Field name not found : {name} "
            f"(the field {target.name} is not an external ID or idLookup field on {parent.name})"
        )
    return Column(index, name, ref, parent, target)
