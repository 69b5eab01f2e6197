"""The frozen values that cross the pipeline's stages, from a Kafka record to a CSV row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


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
