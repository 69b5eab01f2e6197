"""The org's objects and fields, loaded from a YAML file (see schemas/objects.yaml).

Every object also gets the system fields Salesforce adds to each one (Id, IsDeleted,
CreatedDate, LastModifiedDate, SystemModstamp); the YAML lists only the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist"})
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
FIELD_TYPES = TEXT_TYPES | NUMBER_TYPES | {"id", "boolean", "int", "date", "datetime", "reference"}
# Picklists are 255 characters long, as describe reports them on a real org.
_DEFAULT_LENGTH = {
    "string": 255,
    "textarea": 32768,
    "email": 80,
    "phone": 40,
    "url": 255,
    "picklist": 255,
}


class SchemaError(ValueError):
    """The objects file is not a valid description of an org."""


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field of an object, with what Salesforce's describe says about it."""

    name: str
    type: str
    label: str
    length: int = 0
    required: bool = False
    unique: bool = False
    external_id: bool = False
    createable: bool = True
    updateable: bool = True
    reference_to: str | None = None
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()
    restricted: bool = False
    precision: int = 0
    scale: int = 0
    system: bool = False

    @property
    def id_lookup(self) -> bool:
        """Whether the field can identify a record (upsert key or relationship key)."""
        return self.external_id or self.type == "id"

    @property
    def nillable(self) -> bool:
        """Whether the field may be null."""
        return not self.required and self.type not in {"id", "boolean"} and not self.system


@dataclass(frozen=True, slots=True)
class ObjectDef:
    """One sObject: its name, key prefix and fields by canonical name."""

    name: str
    label: str
    key_prefix: str
    fields: Mapping[str, FieldDef]
    by_lower: Mapping[str, FieldDef] = field(repr=False)
    relationships: Mapping[str, FieldDef] = field(repr=False)

    @property
    def custom(self) -> bool:
        """Whether this is a custom object."""
        return self.name.endswith("__c")

    def field(self, name: str) -> FieldDef | None:
        """A field by name, matched case-insensitively as Salesforce does."""
        return self.by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field behind a relationship name (e.g. Account, Account__r)."""
        return self.relationships.get(name.lower())


@dataclass(frozen=True, slots=True)
class Schema:
    """All objects of the org."""

    objects: Mapping[str, ObjectDef]
    by_lower: Mapping[str, ObjectDef] = field(repr=False)

    def get(self, name: str) -> ObjectDef | None:
        """An object by name, case-insensitively."""
        return self.by_lower.get(name.lower())

    def by_prefix(self, key_prefix: str) -> ObjectDef | None:
        """The object whose ids start with this key prefix."""
        return next((o for o in self.objects.values() if o.key_prefix == key_prefix), None)

    def field_types(self, name: str) -> Mapping[str, str] | None:
        """Canonical field name -> field type, the shape the SOQL parser asks for."""
        obj = self.get(name)
        return None if obj is None else {f.name: f.type for f in obj.fields.values()}


def _system_fields() -> list[FieldDef]:
    def system(name: str, kind: str, label: str) -> FieldDef:
        length = 18 if kind == "id" else 0
        return FieldDef(
            name, kind, label, length=length, createable=False, updateable=False, system=True
        )

    return [
        system("Id", "id", "Record ID"),
        system("IsDeleted", "boolean", "Deleted"),
        system("CreatedDate", "datetime", "Created Date"),
        system("LastModifiedDate", "datetime", "Last Modified Date"),
        system("SystemModstamp", "datetime", "System Modstamp"),
    ]


def _field(name: str, spec: Mapping[str, Any]) -> FieldDef:
    kind = spec.get("type")
    if kind not in FIELD_TYPES:
        raise SchemaError(f"field {name}: unknown type {kind!r}")
    if kind == "reference" and not spec.get("referenceTo"):
        raise SchemaError(f"field {name}: a reference needs referenceTo")
    return FieldDef(
        name=name,
        type=kind,
        label=str(spec.get("label", name.removesuffix("__c").replace("_", " "))),
        length=int(spec.get("length", _DEFAULT_LENGTH.get(kind, 18 if kind == "reference" else 0))),
        required=bool(spec.get("required", False)),
        unique=bool(spec.get("unique", False)),
        external_id=bool(spec.get("externalId", False)),
        createable=bool(spec.get("createable", True)),
        updateable=bool(spec.get("updateable", True)),
        reference_to=spec.get("referenceTo"),
        relationship_name=spec.get("relationshipName"),
        picklist_values=tuple(spec.get("values", ())),
        restricted=bool(spec.get("restricted", False)),
        precision=int(spec.get("precision", 18 if kind in NUMBER_TYPES else 0)),
        scale=int(spec.get("scale", 2 if kind in {"currency", "percent"} else 0)),
    )


def _object(name: str, spec: Mapping[str, Any]) -> ObjectDef:
    fields = {f.name: f for f in _system_fields()}
    for field_name, field_spec in (spec.get("fields") or {}).items():
        fields[field_name] = _field(field_name, field_spec)
    relationships = {f.relationship_name.lower(): f for f in fields.values() if f.relationship_name}
    prefix = str(spec.get("keyPrefix", ""))
    if len(prefix) != 3:  # noqa: PLR2004 - key prefixes have three characters
        raise SchemaError(f"object {name}: keyPrefix must have three characters")
    return ObjectDef(
        name=name,
        label=str(spec.get("label", name)),
        key_prefix=prefix,
        fields=fields,
        by_lower={k.lower(): v for k, v in fields.items()},
        relationships=relationships,
    )


def load(path: Path) -> Schema:
    """Read and check an objects file."""
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict) or not raw:
        raise SchemaError(f"{path}: expected a mapping of object name to definition")
    objects = {name: _object(name, spec) for name, spec in raw.items()}
    for obj in objects.values():
        for fld in obj.fields.values():
            if fld.reference_to and fld.reference_to not in objects:
                raise SchemaError(f"{obj.name}.{fld.name}: unknown object {fld.reference_to}")
    return Schema(objects=objects, by_lower={k.lower(): v for k, v in objects.items()})


def default_path() -> Path:
    """schemas/objects.yaml of this checkout."""
    return Path(__file__).resolve().parent.parent / "schemas" / "objects.yaml"
