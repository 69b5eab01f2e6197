"""Typed values of the Bulk API 2.0: operations, job states, jobs, row errors, results."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class Operation(StrEnum):
    """Bulk operations, spelled as the API spells them."""

    INSERT = "insert"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"
    HARD_DELETE = "hardDelete"
    QUERY = "query"
    QUERY_ALL = "queryAll"


class JobState(StrEnum):
    """Job states; the last three are terminal."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"

    @property
    def terminal(self) -> bool:
        """Whether the job will not change again."""
        return self in {JobState.JOB_COMPLETE, JobState.FAILED, JobState.ABORTED}


def parse_timestamp(text: object) -> datetime | None:
    """Salesforce's `2022-01-02T21:33:43.000+0000`, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) and str(value).strip() else 0


@dataclass(frozen=True, slots=True)
class BulkJob:
    """One ingest or query job as Salesforce last described it."""

    id: str
    operation: Operation
    object: str
    state: JobState
    created_date: datetime | None = None
    system_modstamp: datetime | None = None
    number_records_processed: int = 0
    number_records_failed: int = 0
    error_message: str | None = None
    external_id_field_name: str | None = None
    created_by_id: str = ""
    job_type: str = ""
    api_version: str = ""
    total_processing_ms: int = 0

    @classmethod
    def from_json(cls, info: Mapping[str, builtins.object]) -> BulkJob:
        """A job from its JobInfo JSON."""
        return cls(
            id=str(info["id"]),
            operation=Operation(str(info["operation"])),
            object=str(info.get("object", "")),
            state=JobState(str(info["state"])),
            created_date=parse_timestamp(info.get("createdDate")),
            system_modstamp=parse_timestamp(info.get("systemModstamp")),
            number_records_processed=_int(info.get("numberRecordsProcessed")),
            number_records_failed=_int(info.get("numberRecordsFailed")),
            error_message=str(info["errorMessage"]) if info.get("errorMessage") else None,
            external_id_field_name=(
                str(info["externalIdFieldName"]) if info.get("externalIdFieldName") else None
            ),
            created_by_id=str(info.get("createdById", "")),
            job_type=str(info.get("jobType", "")),
            api_version=str(info.get("apiVersion", "")),
            total_processing_ms=_int(info.get("totalProcessingTime")),
        )

    @property
    def is_query(self) -> bool:
        """Whether this is a query job."""
        return self.operation in {Operation.QUERY, Operation.QUERY_ALL}

    def is_complete(self) -> bool:
        """Whether the job reached a terminal state (JobComplete, Failed or Aborted)."""
        return self.state.terminal

    def is_successful(self) -> bool:
        """Whether the job completed and not one record failed."""
        return self.state is JobState.JOB_COMPLETE and self.number_records_failed == 0


@dataclass(frozen=True, slots=True)
class BulkError:
    """One row's error: `STATUS_CODE:message:FIELDS --` taken apart."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> BulkError:
        """Read an sf__Error cell; anything after the first colon may hold colons."""
        code, sep, rest = text.partition(":")
        if not sep:
            return cls(status_code="", message=text.strip())
        stripped = rest.rstrip()
        if not stripped.endswith("--"):
            return cls(status_code=code.strip(), message=rest.strip())
        message, _, names = stripped.removesuffix("--").rstrip().rpartition(":")
        fields = tuple(n.strip() for n in names.split(",") if n.strip())
        return cls(status_code=code.strip(), message=message.strip(), fields=fields)

    def __str__(self) -> str:
        shown = f"{self.status_code}: {self.message}" if self.status_code else self.message
        return f"{shown} [{', '.join(self.fields)}]" if self.fields else shown


def _frozen(row: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(row))


@dataclass(frozen=True, slots=True)
class SuccessRecord:
    """A row Salesforce wrote: its Id, whether it was created, and the fields as sent."""

    sf_id: str
    created: bool
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> SuccessRecord:
        """From a successfulResults row."""
        rest = {k: v for k, v in row.items() if not k.startswith("sf__")}
        created = row.get("sf__Created", "").lower() == "true"
        return cls(sf_id=row.get("sf__Id", ""), created=created, fields=_frozen(rest))


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """A row Salesforce refused, with the error and the fields as sent."""

    sf_id: str
    error: BulkError
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> FailedRecord:
        """From a failedResults row."""
        rest = {k: v for k, v in row.items() if not k.startswith("sf__")}
        error = BulkError.parse(row.get("sf__Error", ""))
        return cls(sf_id=row.get("sf__Id", ""), error=error, fields=_frozen(rest))


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What one ingest operation did, across every job it took (see `jobs`)."""

    jobs: tuple[BulkJob, ...]
    success_records: tuple[SuccessRecord, ...] = ()
    failed_records: tuple[FailedRecord, ...] = ()
    unprocessed_records: tuple[Mapping[str, str], ...] = ()

    @property
    def job(self) -> BulkJob:
        """The first job (the only one unless the input had to be split)."""
        return self.jobs[0]

    @property
    def errors(self) -> tuple[BulkError, ...]:
        """The error of every failed record, in the same order."""
        return tuple(r.error for r in self.failed_records)

    @property
    def success_count(self) -> int:
        """Rows written."""
        processed = sum(j.number_records_processed for j in self.jobs)
        return max(processed - self.failed_count, len(self.success_records))

    @property
    def failed_count(self) -> int:
        """Rows refused."""
        return max(sum(j.number_records_failed for j in self.jobs), len(self.failed_records))

    @property
    def unprocessed_count(self) -> int:
        """Rows never attempted (the job failed or was aborted)."""
        return len(self.unprocessed_records)

    @property
    def total_records(self) -> int:
        """Every row sent: written, refused and unprocessed."""
        return self.success_count + self.failed_count + self.unprocessed_count

    def is_successful(self) -> bool:
        """Whether every job completed and every row was written."""
        return all(j.is_successful() for j in self.jobs) and not self.unprocessed_records
