"""What a generated stream is made of: the kinds of change and how often each comes."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum


class Kind(StrEnum):
    """What a change does to its row."""

    CREATE = "create"  # a new row, every column set
    UPDATE = "update"  # a few columns changed, the full row sent
    SPARSE = "sparse"  # a few columns changed, only those sent
    NULLS = "nulls"  # a few columns set to null, the full row sent
    DELETE = "delete"  # the row removed (envelope op d, __deleted row, or tombstone)
    REJECT = "reject"  # a new row Salesforce refuses (bad picklist value, string too long)
    UNDECODABLE = "undecodable"  # bytes no decoder can read


class Shape(StrEnum):
    """How a change is written to Kafka."""

    ENVELOPE = "envelope"  # Debezium's {before, after, source, op, ts_ms}
    ROW = "row"  # ExtractNewRecordState's flat row; __deleted="true" for a delete
    PATCH = "patch"  # the key and the changed columns alone
    TOMBSTONE = "tombstone"  # a null value: delete the key
    GARBAGE = "garbage"  # a value that is not in the topic's format


@dataclass(frozen=True, slots=True)
class Mix:
    """Relative weights of each kind of change, and the share of changes to contacts.

    Weights need not sum to 1. An update, sparse update, nulls or delete when no row is
    live becomes a create; deleting an account first deletes its contacts, as a source
    database's ON DELETE CASCADE would.
    """

    create: float = 0.30
    update: float = 0.30
    sparse: float = 0.12
    nulls: float = 0.08
    delete: float = 0.12
    reject: float = 0.01
    undecodable: float = 0.005
    contacts: float = 0.4

    def __post_init__(self) -> None:
        if any(getattr(self, f.name) < 0 for f in fields(self)):
            raise ValueError("mix weights cannot be negative")
        if self.contacts > 1:
            raise ValueError("contacts is a share of changes, at most 1")
        if sum(self.weights()) == 0:
            raise ValueError("at least one kind of change needs a weight")

    def weights(self) -> tuple[float, ...]:
        """The weight of each Kind, in Kind's order."""
        return tuple(getattr(self, kind.value) for kind in Kind)

    @classmethod
    def parse(cls, text: str) -> Mix:
        """`create=0.5,delete=0.2,contacts=0`: the defaults with the named ones replaced."""
        names = {f.name for f in fields(cls)}
        changes: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep or name.strip() not in names:
                raise ValueError(f"{part!r}: expected NAME=WEIGHT with NAME in {sorted(names)}")
            changes[name.strip()] = float(value)
        return replace(cls(), **changes)
