"""The per-row errors of DML, worded as Salesforce words them in sf__Error and REST.

Where the reference marks a wording as inferred, the choice is noted on the function.
"""

from __future__ import annotations

from emulator.schema import FieldDef
from emulator.values import FieldError


def required_missing(names: list[str]) -> FieldError:
    """Insert without a required field, or a required field set to #N/A."""
    return FieldError(
        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", tuple(names)
    )


def missing_id(operation: str) -> FieldError:
    """Update or delete row without an Id (inferred wording, from SOAP's MISSING_ARGUMENT)."""
    verb = "a delete" if operation in {"delete", "hardDelete"} else "an update"
    return FieldError("MISSING_ARGUMENT", f"Id not specified in {verb} call")


def missing_key(field: str) -> FieldError:
    """Upsert row whose external id cell is empty (inferred wording)."""
    return FieldError("MISSING_ARGUMENT", f"{field} not specified")


def duplicate_key(fld: FieldDef, value: str) -> FieldError:
    """The same external id twice in one internal batch: every copy fails."""
    return FieldError("DUPLICATE_VALUE", f"Duplicate external id specified: {value}", (fld.name,))


def duplicate_matches(fld: FieldDef, matches: list[str]) -> FieldError:
    """Several live records already carry the external id."""
    return FieldError(
        "DUPLICATE_EXTERNAL_ID",
        f"{fld.label}: more than one record found for external id field: [{', '.join(matches)}]",
    )


def duplicate_value(fld: FieldDef, other_id: str) -> FieldError:
    """A unique field's value is held by another record."""
    return FieldError(
        "DUPLICATE_VALUE",
        f"duplicate value found: {fld.name} duplicates value on record with id: {other_id}",
    )


def entity_deleted() -> FieldError:
    """The record is in the Recycle Bin."""
    return FieldError("ENTITY_IS_DELETED", "entity is deleted")


def bad_reference() -> FieldError:
    """An Id that names no record. Inferred: Salesforce uses this code for unknown ids."""
    return FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")


def wrong_object(fld: FieldDef, value: str) -> FieldError:
    """A well-formed id of another object's key prefix."""
    return FieldError(
        "MALFORMED_ID", f"{fld.label}: id value of incorrect type: {value}", (fld.name,)
    )


def parent_not_found(parent: str, fld: FieldDef, value: str) -> FieldError:
    """A `Rel.ExternalKey__c` value that matches no parent record."""
    return FieldError(
        "INVALID_FIELD",
        f"Foreign key external ID: {value} not found for field {fld.name} in entity {parent}",
    )


def parent_ambiguous(parent: str, fld: FieldDef, matches: list[str]) -> FieldError:
    """A `Rel.ExternalKey__c` value that matches several parent records."""
    return FieldError(
        "DUPLICATE_EXTERNAL_ID",
        f"{parent}.{fld.name}: more than one record found for external id field: "
        f"[{', '.join(matches)}]",
    )


def not_writable(names: list[str]) -> FieldError:
    """A value for a field that is not createable (insert) or updateable (update)."""
    joined = ", ".join(names)
    return FieldError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {joined}. Please check the security settings of "
        "this field and verify that it is read/write for your profile or permission set.",
        tuple(names),
    )


def id_on_insert() -> FieldError:
    """An Id cell on an insert."""
    return FieldError(
        "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ("Id",)
    )


def lock_failure(record_id: str) -> FieldError:
    """Injected lock contention."""
    return FieldError(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 200 records: {record_id}",
    )


def column_count(expected: int, got: int) -> FieldError:
    """A row with more or fewer cells than the header (inferred wording)."""
    return FieldError(
        "INVALID_FIELD", f"Wrong number of columns in the row: expected {expected}, found {got}"
    )
