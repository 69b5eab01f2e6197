"""Runs a batch as Bulk API jobs and reconciles each row's result to its events."""

from __future__ import annotations

from dataclasses import dataclass

from connector.batch import Batch
from connector.deadletter import SalesforceFailure
from connector.records import Row


@dataclass(frozen=True, slots=True)
class RowFailure:
    """A row Salesforce did not write, with what it said."""

    row: Row
    code: str
    message: str
    fields: tuple[str, ...] = ()
    job_id: str | None = None
    reason: str = "salesforce_rejected"

    def salesforce(self) -> SalesforceFailure:
        """The evidence for the dead-letter headers."""
        return SalesforceFailure(self.code, self.message, self.fields, self.job_id)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Every row of a batch, sorted by what happens next: final, try again, or dead."""

    batch: Batch
    applied: tuple[Row, ...]
    retry: tuple[RowFailure, ...]
    dead: tuple[RowFailure, ...]
