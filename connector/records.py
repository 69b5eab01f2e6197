"""The frozen values that cross the pipeline's stages, from a Kafka record to a CSV row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from connector import csvline


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """Where a record sits in Kafka; offsets are committed per (topic, partition)."""

    topic: str
    partition: int
    offset: int

    @property
    def topic_partition(self) -> tuple[str, int]:
        """The partition this position belongs to."""
        return (self.topic, self.partition)


Header = tuple[str, bytes | None]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A Kafka record exactly as consumed: the dead-letter topic gets these bytes back."""

    position: Position
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Kept:
    """A record as a buffered row keeps it: its place in Kafka, and where its bytes wait.

    The bytes are in the pipeline's spool (connector.spool), read back only to
    dead-letter the record. The place is held flat, not as a Position: one object a
    buffered record instead of two (about 50 bytes each, a million times over in a
    drain); `position` makes one when an outcome needs it.
    """

    topic: str
    partition: int
    offset: int
    at: int

    @classmethod
    def of(cls, position: Position, at: int) -> Kept:
        """The record at `position`, its bytes at `at` in the spool."""
        return cls(position.topic, position.partition, position.offset, at)

    @property
    def position(self) -> Position:
        """Where the record sits in Kafka."""
        return Position(self.topic, self.partition, self.offset)

    @property
    def topic_partition(self) -> tuple[str, int]:
        """The partition the record belongs to (as Position has it, without making one)."""
        return (self.topic, self.partition)


class Op(StrEnum):
    """What a change event asks of its key's record."""

    UPSERT = "upsert"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """A decoded record: the key's new state, or its deletion.

    `fields` holds only what the event carries: a field absent from a sparse update is not
    in it (leave it alone), a field set to null is present with the value None (clear it).
    """

    record: SourceRecord
    key: object
    op: Op
    fields: Mapping[str, object]

    @property
    def position(self) -> Position:
        """The position of the record this event came from."""
        return self.record.position


class Action(StrEnum):
    """The Bulk API operation a lane writes with (Salesforce's spelling)."""

    UPSERT = "upsert"
    DELETE = "delete"
    HARD_DELETE = "hardDelete"

    @property
    def is_delete(self) -> bool:
        """Whether this action removes the key's record."""
        return self is not Action.UPSERT


@dataclass(frozen=True, slots=True)
class Lane:
    """One stream of jobs: a Salesforce object, the operation, the external id it keys on."""

    sobject: str
    action: Action
    external_id_field: str


@dataclass(frozen=True, slots=True)
class Row:
    """One record to write: its key's merged state and every Kafka record behind it.

    The fields are kept as one CSV line (`line`) under `columns`, a tuple shared by the
    rows of one shape (connector.csvline); cells are already coerced (None became
    `#N/A`). A delete has no columns. `sources` holds the original records (their places:
    see Kept), oldest first, because the row's outcome is theirs: applied together, or
    dead-lettered with their own bytes. `group` is the value rows are sorted by inside a
    batch (a parent id) to keep lock contention down.
    """

    lane: Lane
    external_id: str
    columns: csvline.Columns
    line: str
    sources: tuple[Kept, ...]
    attempt: int = 0
    group: str = ""

    @classmethod
    def of(  # noqa: PLR0913 - a Row's own fields, by name
        cls,
        lane: Lane,
        external_id: str,
        fields: Mapping[str, str],
        sources: tuple[Kept, ...],
        *,
        attempt: int = 0,
        group: str = "",
    ) -> Row:
        """A row from a mapping of rendered cells."""
        columns, line = csvline.of(fields)
        return cls(lane, external_id, columns, line, sources, attempt, group)

    @property
    def fields(self) -> dict[str, str]:
        """Salesforce field → CSV text (parsed from the line: not for the hot path)."""
        return csvline.fields(self.columns, self.line)
