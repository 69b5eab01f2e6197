"""Bulk API 2.0 jobs: their state, their files, and the JobInfo JSON Salesforce shows.

A Job is mutable (the worker moves its counters), so it never leaves this module's
registry unguarded: handlers and the worker change it under `JobRegistry.lock` and hand
out JSON snapshots. Uploads and result files live in one directory per job.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from emulator import ids

JOB_PREFIX = "750"
USER_ID = ids.make_id("005", 1)
DELIMITERS = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


class State(StrEnum):
    """Job states, spelled as clients' enums expect them."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"


TERMINAL = frozenset({State.JOB_COMPLETE, State.FAILED, State.ABORTED})


def sf_timestamp(moment: datetime | None = None) -> str:
    """2022-01-02T21:33:43.000+0000: milliseconds and an offset with no colon."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass(slots=True)
class Job:
    """One ingest or query job. Mutated only under the registry lock."""

    id: str
    kind: str  # "ingest" or "query"
    object: str
    operation: str
    api_version: str
    directory: Path
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    query: str | None = None
    state: State = State.OPEN
    created_date: str = field(default_factory=sf_timestamp)
    system_modstamp: str = ""
    uploaded: bool = False
    processed: int = 0
    failed: int = 0
    retries: int = 0
    processing_ms: int = 0
    error_message: str | None = None
    # Set while the worker runs the job; `settled` fires when it lets go. An abort flips
    # the state at once, but result files are complete only once the worker has settled.
    running: bool = False
    settled: threading.Event = field(default_factory=threading.Event)

    @property
    def upload_path(self) -> Path:
        """The uploaded CSV."""
        return self.directory / "upload.csv"

    def result_path(self, name: str) -> Path:
        """A result file: success, failed, unprocessed, or query."""
        return self.directory / f"{name}.csv"

    def move(self, state: State) -> None:
        """Change state and refresh systemModstamp, as Salesforce does on every change."""
        self.state = state
        self.system_modstamp = sf_timestamp()


class JobRegistry:
    """Every job of the org, by id."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._count = 0

    def create(self, kind: str, object_name: str, operation: str, api_version: str) -> Job:
        """A new job in its first state (Open for ingest, UploadComplete for query)."""
        with self.lock:
            self._count += 1
            job_id = ids.make_id(JOB_PREFIX, self._count)
            directory = self.root / job_id
            directory.mkdir(parents=True, exist_ok=True)
            job = Job(job_id, kind, object_name, operation, api_version, directory)
            job.system_modstamp = job.created_date
            self._jobs[job_id] = job
            return job

    def get(self, job_id: str, kind: str) -> Job | None:
        """A job by id (15 or 18 characters) if it exists and has this kind."""
        normalized = ids.normalize(job_id)
        with self.lock:
            job = self._jobs.get(normalized or "")
        return job if job is not None and job.kind == kind else None

    def delete(self, job: Job) -> None:
        """Forget the job and remove its files."""
        with self.lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.directory, ignore_errors=True)

    def listing(self, kind: str | None) -> list[Job]:
        """Jobs in creation order, optionally of one kind."""
        with self.lock:
            return [j for j in self._jobs.values() if kind is None or j.kind == kind]

    def clear(self) -> None:
        """Forget every job; unfinished ones are aborted first so no worker touches them."""
        with self.lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
            for job in jobs:
                if job.state not in TERMINAL:
                    job.move(State.ABORTED)
        for job in jobs:
            if job.running:
                job.settled.wait(timeout=60)
            shutil.rmtree(job.directory, ignore_errors=True)


def _base(job: Job) -> dict[str, object]:
    info: dict[str, object] = {
        "id": job.id,
        "operation": job.operation,
        "object": job.object,
        "createdById": USER_ID,
        "createdDate": job.created_date,
        "systemModstamp": job.system_modstamp,
        "state": str(job.state),
    }
    if job.external_id_field:
        info["externalIdFieldName"] = job.external_id_field
    if job.assignment_rule_id:
        info["assignmentRuleId"] = job.assignment_rule_id
    info.update(concurrencyMode="Parallel", contentType="CSV", apiVersion=float(job.api_version))
    return info


def _content_url(job: Job) -> str:
    return f"services/data/v{job.api_version}/jobs/ingest/{job.id}/batches"


def created_info(job: Job) -> dict[str, object]:
    """The create response: no jobType, counters or timings."""
    info = _base(job)
    if job.kind == "ingest":
        info["contentUrl"] = _content_url(job)
    else:
        info["query"] = job.query
    info.update(lineEnding=job.line_ending, columnDelimiter=job.column_delimiter)
    return info


def patched_info(job: Job) -> dict[str, object]:
    """The PATCH (close or abort) response: the base fields only."""
    return _base(job)


def full_info(job: Job) -> dict[str, object]:
    """The GET response, with counters and timings once the job has left Open."""
    info = _base(job)
    info["jobType"] = "V2Ingest" if job.kind == "ingest" else "V2Query"
    if job.kind == "ingest" and job.state == State.OPEN:
        info["contentUrl"] = _content_url(job)
    info.update(lineEnding=job.line_ending, columnDelimiter=job.column_delimiter)
    if job.kind == "query":
        info.update(
            numberRecordsProcessed=job.processed,
            retries=job.retries,
            totalProcessingTime=job.processing_ms,
            isPkChunkingSupported=True,
        )
    else:
        if job.state != State.OPEN:
            info.update(numberRecordsProcessed=job.processed, numberRecordsFailed=job.failed)
        info.update(
            retries=job.retries,
            totalProcessingTime=job.processing_ms,
            apiActiveProcessingTime=job.processing_ms,
            apexProcessingTime=0,
        )
    if job.error_message:
        info["errorMessage"] = job.error_message
    return info
