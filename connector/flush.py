"""Runs a batch as Bulk API jobs and reconciles each row's result to its events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from connector import csvline
from connector.batch import Batch
from connector.budget import Budget
from connector.deadletter import SalesforceFailure
from connector.errors import JobFailedError, JobTimeoutError, SalesforceUnavailableError
from connector.jobphases import JobPhases
from connector.metrics import Metrics
from connector.records import Action, Lane, Row
from connector.salesforce import BulkClient, BulkResult, CsvLines, JobState

log = logging.getLogger(__name__)


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
    """Every row of a batch, sorted by what happens next: final, try again, or dead.

    Applied rows are named by their index in `batch.rows` (their records are all that is
    wanted of them); the others are made whole again, to be retried or dead-lettered.
    """

    batch: Batch
    applied: Sequence[int]
    retry: tuple[RowFailure, ...]
    dead: tuple[RowFailure, ...]
    job_ids: tuple[str, ...] = ()


# Row errors worth another attempt: contention and Salesforce-side hiccups.
RETRIABLE_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_RUNNING_TOO_LONG",
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
    }
)
# Deleting what is already gone is what a delete wants: idempotent replays count as done.
ALREADY_DELETED = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})
# States in which a job may still write rows.
_LANDING_STATES = frozenset({JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS})


class JobRunner:
    """Writes a batch through the BulkClient and sorts each row into applied, retry, dead."""

    def __init__(
        self,
        client: BulkClient,
        metrics: Metrics,
        budget: Budget,
        objects: Iterable[str],
        job_timeout: float,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._budget = budget
        self._objects = frozenset(objects)
        self._job_timeout = job_timeout

    def await_leftover_jobs(self, deadline: float) -> None:
        """Wait until the ingest jobs on our objects that could still land have ended.

        Only jobs running now count (a member that died, or a previous process, left
        them): jobs started later are not waited for, so a busy group cannot hold this
        forever. An Open job was never closed by its uploader and can never land.
        """
        waiting = {
            job.id
            for job in self._client.jobs("ingest")
            if job.object in self._objects and job.state in _LANDING_STATES
        }
        while waiting:
            if time.monotonic() >= deadline:
                log.warning("%d leftover ingest jobs still running; going on", len(waiting))
                return
            log.info("waiting for %d ingest jobs left running: %s", len(waiting), sorted(waiting))
            time.sleep(min(2.0, max(deadline - time.monotonic(), 0.0)))
            waiting = {
                job_id
                for job_id in waiting
                if self._client.job(job_id, "ingest").info().state in _LANDING_STATES
            }

    def run(self, batch: Batch) -> BatchOutcome:
        """Run the batch's job(s) and reconcile every row by its key."""
        lane = batch.lane
        try:
            if lane.action is Action.UPSERT:
                return self._upsert(batch)
            return self._delete(batch)
        except JobTimeoutError as exc:
            if exc.job_id:
                self._client.job(exc.job_id).abort()  # an old job must never land later
            raise SalesforceUnavailableError(str(exc), job_id=exc.job_id) from None

    def _upsert(self, batch: Batch) -> BatchOutcome:
        lane = batch.lane
        header, lines = csvline.layout(batch.rows.columns, batch.rows.lines())
        try:
            result = self._client.upsert(
                lane.sobject,
                CsvLines(header, lines),
                lane.external_id_field,
                timeout=self._job_timeout,
                fetch_successes=False,
                on_progress=JobPhases(self._metrics.job_duration).note,
            )
        except JobFailedError as exc:
            result = self._failed_job(exc)
        self._count_jobs(result, lane)
        every = range(len(batch.rows))
        return self._reconcile(batch, every, result, _by_key(batch.rows.keys, lane))

    def _delete(self, batch: Batch) -> BatchOutcome:
        lane = batch.lane
        keys = batch.rows.keys
        ids = self._resolve_ids(lane, list(keys))
        by_id = {ids[key]: index for index, key in enumerate(keys) if key in ids}
        gone = [index for index, key in enumerate(keys) if key not in ids]
        if not by_id:
            return BatchOutcome(batch, applied=gone, retry=(), dead=())
        operation = (
            self._client.hard_delete if lane.action is Action.HARD_DELETE else self._client.delete
        )
        try:
            result = operation(
                lane.sobject,
                list(by_id),
                timeout=self._job_timeout,
                fetch_successes=False,
                on_progress=JobPhases(self._metrics.job_duration).note,
            )
        except JobFailedError as exc:
            result = self._failed_job(exc)
        self._count_jobs(result, lane)
        outcome = self._reconcile(
            batch, list(by_id.values()), result, lambda fields: by_id.get(fields.get("Id", ""))
        )
        return replace(outcome, applied=[*outcome.applied, *gone])

    def _resolve_ids(self, lane: Lane, keys: list[str]) -> dict[str, str]:
        """External id → Salesforce Id, for the keys that have a record."""
        return self._client.find_ids(lane.sobject, lane.external_id_field, keys)

    def _failed_job(self, exc: JobFailedError) -> BulkResult:
        """A job that ended Failed or Aborted: what it reported (rows not in it are retried)."""
        log.warning("Bulk job %s ended %s: %s", exc.job_id, exc.state, exc.error_message)
        if isinstance(exc.result, BulkResult):
            return exc.result
        raise SalesforceUnavailableError(str(exc), job_id=exc.job_id) from None

    @staticmethod
    def _ended_well(result: BulkResult) -> bool:
        return all(job.state is JobState.JOB_COMPLETE for job in result.jobs)

    def _reconcile(
        self,
        batch: Batch,
        sent: Sequence[int],
        result: BulkResult,
        row_of: Callable[[Mapping[str, str]], int | None],
    ) -> BatchOutcome:
        """Successes are every row `sent` not reported failed or unprocessed."""
        rows = batch.rows
        settled: set[int] = set()
        retry: list[RowFailure] = []
        dead: list[RowFailure] = []
        applied: list[int] = []
        job_id = result.job.id
        for failed in result.failed_records:
            index = row_of(failed.fields)
            if index is None:
                continue
            settled.add(index)
            error = failed.error
            self._metrics.record_errors.labels(batch.lane.sobject, error.status_code).inc()
            if batch.lane.action.is_delete and error.status_code in ALREADY_DELETED:
                applied.append(index)
                continue
            code, message = error.status_code, error.message
            failure = RowFailure(rows[index], code, message, error.fields, job_id)
            (retry if _retriable(code, message) else dead).append(failure)
        for fields in result.unprocessed_records:
            index = row_of(fields)
            if index is not None and index not in settled:
                settled.add(index)
                unprocessed = "not processed by the job"
                retry.append(RowFailure(rows[index], "UNPROCESSED", unprocessed, job_id=job_id))
        rest: Sequence[int] = [i for i in sent if i not in settled] if settled else sent
        jobs = tuple(job.id for job in result.jobs)
        if self._ended_well(result):
            everything = [*applied, *rest] if applied else rest  # most often a whole range
            return BatchOutcome(batch, everything, tuple(retry), tuple(dead), jobs)
        # Successes were not downloaded, so a row a Failed or Aborted job does not
        # mention may or may not have landed: writing it again is safe (upserts and
        # deletes are idempotent), calling it applied is not.
        retry += [
            RowFailure(rows[i], "JOB_NOT_COMPLETE", "the job ended early", job_id=job_id)
            for i in rest
        ]
        return BatchOutcome(batch, applied, tuple(retry), tuple(dead), jobs)

    def _count_jobs(self, result: BulkResult, lane: Lane) -> None:
        for job in result.jobs:
            self._metrics.bulk_jobs.labels(lane.sobject, job.operation.value, job.state.value).inc()
        usage = self._client.api_usage
        if usage is not None:
            self._metrics.api_requests_used.set(usage.used)
            self._metrics.api_requests_max.set(usage.max)
            self._budget.observe_api(usage)


def _by_key(keys: Sequence[str], lane: Lane) -> Callable[[Mapping[str, str]], int | None]:
    """A result row's place in the batch, by its external id; the index is made only if asked.

    Most jobs report no failed or unprocessed rows: their index of tens of thousands
    of keys would be memory at the peak for nothing.
    """
    index: dict[str, int] = {}
    field = lane.external_id_field

    def row_of(fields: Mapping[str, str]) -> int | None:
        if not index:
            index.update((key, i) for i, key in enumerate(keys))
        return index.get(fields.get(field, ""))

    return row_of


def _retriable(code: str, message: str) -> bool:
    """Worth another attempt: contention, hiccups, or a parent that has not landed yet.

    A child row naming its parent by external id often travels in the same window as
    the parent, in another lane's job: until that job lands, the lookup fails.
    """
    return code in RETRIABLE_CODES or message.startswith("Foreign key external ID:")
