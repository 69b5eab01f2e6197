"""Ingest jobs: create (never twice), upload, close, poll with backoff, abort, results.

Creating a job is the one request that is not idempotent. When a create fails in a way
that leaves its fate unknown (a connection error, a timeout, a 5xx: the job may exist
with its answer lost), the retry first sweeps: it lists the org's jobs and aborts, then
deletes, every job that matches this create (same object, operation, external id field,
created by our user since this create began, minus clock skew, still Open) and that this
client has not handed out. Creates are serialised per client under a lock, so a job this
client owns is known by the time another create could sweep. An Open job has no data,
so aborting one loses nothing; only then is the create sent again, so a retried create
leaves at most one job behind. A multipart create (a small job that carries its data)
also sweeps UploadComplete and InProgress jobs: its lost job is queued with the same
rows, and aborting it keeps it from landing after a later job of the same keys.
Refusals at the door (401, 429, REQUEST_LIMIT_EXCEEDED) created nothing and retry
without a sweep. The sweep cannot tell our lost job from a job another process created
with the same user, object and operation in the same seconds; that process then sees
its upload refused, or its job Aborted, and retries its batch: loud, not lost.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.errors import (
    InvalidRequestError,
    JobTimeoutError,
    NotFoundError,
    SalesforceUnavailableError,
)
from connector.salesforce import csvio
from connector.salesforce.http import Transport
from connector.salesforce.payloads import Payload
from connector.salesforce.polls import Closed, PollPolicy, PollSchedule, Seen
from connector.salesforce.results import (
    BulkJob,
    BulkResult,
    FailedRecord,
    JobState,
    Operation,
    SuccessRecord,
)

CLOCK_SKEW = timedelta(seconds=60)
# States a job can be in once a close got through (the job may already have moved on).
_CLOSED = frozenset(
    {JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS, JobState.JOB_COMPLETE, JobState.FAILED}
)
OnProgress = Callable[[BulkJob], None]
# A multipart create's lost job may be past Open: queued with its data, or running.
_MULTIPART_ORPHANS = frozenset({JobState.OPEN, JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS})


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """What identifies a create, for the sweep."""

    object: str
    operation: Operation
    external_id_field: str | None = None


def is_orphan(  # noqa: PLR0913 - each is one criterion of the match
    job: BulkJob,
    wanted: CreateRequest,
    *,
    user_id: str,
    since: datetime,
    known: Iterable[str],
    states: frozenset[JobState] = frozenset({JobState.OPEN}),
) -> bool:
    """Whether a listed job may be the lost result of this create (see the module doc)."""
    created = job.created_date
    return (
        job.state in states
        and job.object.casefold() == wanted.object.casefold()
        and job.operation is wanted.operation
        and (job.external_id_field_name or None) == (wanted.external_id_field or None)
        and (not user_id or job.created_by_id == user_id)
        and created is not None
        and created >= since - CLOCK_SKEW
        and job.id not in set(known)
    )


class JobApi:
    """The job endpoints of one kind ("ingest" or "query") over a Transport."""

    def __init__(
        self,
        transport: Transport,
        kind: str,
        poll: PollPolicy,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._t = transport
        self.kind = kind
        self._poll = poll
        self._schedule = PollSchedule(poll)
        self._sleep = sleep
        self.clock = clock
        self._create_lock = threading.Lock()
        self._known: set[str] = set()

    def create(self, body: Mapping[str, Any], wanted: CreateRequest) -> BulkJob:
        """Create a job; a retried create sweeps first, so at most one job remains."""
        orphan_states = (
            frozenset({JobState.OPEN})
            if self.kind == "ingest"
            else frozenset({JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS, JobState.JOB_COMPLETE})
        )
        return self._create(wanted, orphan_states, json=body)

    def create_with_data(
        self, body: Mapping[str, Any], wanted: CreateRequest, payload: Payload
    ) -> BulkJob:
        """Create an ingest job that carries its data, already closed: one call, not three.

        Salesforce takes this multipart form for small uploads only (see
        client.MULTIPART_MAX_BYTES). A lost answer's job is already queued with the data,
        so the sweep before a retry also aborts UploadComplete and InProgress jobs: an
        orphan must never land after a later job of the same keys.
        """
        payload.file.seek(0)
        parts = {
            "job": (None, json.dumps(body), "application/json"),
            "content": ("content", payload.file.read(), "text/csv"),
        }
        return self._create(wanted, _MULTIPART_ORPHANS, files=parts)

    def _create(
        self,
        wanted: CreateRequest,
        orphan_states: frozenset[JobState],
        **request: Any,  # noqa: ANN401 - the body, as requests takes it
    ) -> BulkJob:
        with self._create_lock:
            since = datetime.now(UTC)

            def sweep(error: BaseException) -> None:
                if isinstance(error, SalesforceUnavailableError):
                    self.sweep(wanted, since, orphan_states)

            response = self._t.request("POST", f"jobs/{self.kind}", before_retry=sweep, **request)
            job = BulkJob.from_json(response.json())
            self._known.add(job.id)
        return job

    def sweep(self, wanted: CreateRequest, since: datetime, states: frozenset[JobState]) -> None:
        """Abort and delete the jobs a lost create may have left (see the module doc)."""
        user_id = self._t.auth.token().user_id
        for job in self.listing():
            if is_orphan(
                job, wanted, user_id=user_id, since=since, known=self._known, states=states
            ):
                self._discard(job)

    def _discard(self, job: BulkJob) -> None:
        try:
            if not job.state.terminal:
                self.abort(job.id)
            self.delete(job.id)
        except InvalidRequestError:
            pass  # it moved on (someone uploaded to it): not an orphan after all

    def listing(self) -> Iterator[BulkJob]:
        """Every job of this kind the org lists, page by page."""
        job_type = "V2Ingest" if self.kind == "ingest" else "V2Query"
        path: str | None = f"jobs/{self.kind}?jobType={job_type}"
        while path:
            body = self._t.request("GET", path).json()
            for info in body.get("records", []):
                yield BulkJob.from_json(info)
            path = None if body.get("done", True) else body.get("nextRecordsUrl")

    def get(self, job_id: str) -> BulkJob:
        """The job as Salesforce describes it now."""
        return BulkJob.from_json(self._t.request("GET", f"jobs/{self.kind}/{job_id}").json())

    def upload(self, job_id: str, payload: Payload) -> None:
        """The one PUT of a job's data; a retried PUT that finds it stored counts as done.

        The body is streamed from its spooled file, from its start on each try: a large
        job's CSV is never copied whole into memory.
        """
        body = payload.stream()
        try:
            self._t.request(
                "PUT",
                f"jobs/ingest/{job_id}/batches",
                data=body,
                headers={"Content-Type": "text/csv; charset=UTF-8"},
                before_retry=lambda _error: body.rewind(),
            )
        except InvalidRequestError as exc:
            if exc.error_code != "BULK_API_ERROR":
                raise

    def close(self, job_id: str) -> BulkJob:
        """Mark the upload complete; a retried close that finds it closed counts as done."""
        return self._patch(job_id, JobState.UPLOAD_COMPLETE, _CLOSED)

    def abort(self, job_id: str) -> BulkJob:
        """Abort a job that has not finished."""
        return self._patch(job_id, JobState.ABORTED, frozenset({JobState.ABORTED}))

    def _patch(self, job_id: str, state: JobState, done: frozenset[JobState]) -> BulkJob:
        """PATCH the state; INVALIDJOBSTATE on a retry whose first try got through is done."""
        path = f"jobs/{self.kind}/{job_id}"
        try:
            body = self._t.request("PATCH", path, json={"state": state.value}).json()
        except InvalidRequestError as exc:
            if exc.error_code != "INVALIDJOBSTATE":
                raise
            current = self.get(job_id)
            if current.state in done:
                return current
            raise
        return BulkJob.from_json(body)

    def delete(self, job_id: str) -> None:
        """Delete a finished job and its results."""
        self._t.request("DELETE", f"jobs/{self.kind}/{job_id}")

    def wait(
        self,
        job_id: str,
        *,
        deadline: float | None,
        timeout: float | None,
        on_progress: OnProgress | None,
        closed: Closed | None = None,
    ) -> BulkJob:
        """Poll until the job is terminal; JobTimeoutError past the deadline.

        A job `closed` by this client just now (or a query it just created) is first
        looked at when the learned schedule expects it done (see polls.py), and what
        it took teaches the schedule; any other job is looked at at once, then with
        the policy's backoff.
        """
        delays = self._poll.delays() if closed is None else self._schedule.delays(closed.rows)
        if closed is not None:
            self._pause(closed.at + next(delays) - self.clock(), deadline)
        last: BulkJob | None = None
        missed_at: float | None = None
        while True:
            asked = self.clock()
            job = self.get(job_id)
            if on_progress is not None and job != last:
                on_progress(job)
            last = job
            if job.is_complete():
                if closed is not None and job.state is JobState.JOB_COMPLETE:
                    self._schedule.observe(
                        Seen(
                            rows=closed.rows,
                            elapsed=asked - closed.at,
                            missed_at=missed_at,
                            processing_ms=job.total_processing_ms,
                            processed=job.number_records_processed,
                        )
                    )
                return job
            delay = next(delays)
            if closed is not None:
                missed_at = asked - closed.at
                rest = self._schedule.follow_up(
                    closed.rows,
                    job.number_records_processed,
                    missed_at,
                    queued=job.state is JobState.UPLOAD_COMPLETE,
                )
                delay = delay if rest is None else rest
            if deadline is not None and deadline - self.clock() <= 0:
                raise JobTimeoutError(job_id, timeout or 0.0, job.state.value)
            self._pause(delay, deadline)

    def _pause(self, delay: float, deadline: float | None) -> None:
        """Sleep `delay`, cut short at the deadline."""
        if deadline is not None:
            delay = min(delay, deadline - self.clock())
        self._sleep(max(delay, 0.0))

    def results(self, job: BulkJob, *, successes: bool = True) -> BulkResult:
        """The job's successful, failed and unprocessed rows (only the files that have rows).

        With successes=False the successful rows are not downloaded: the job's counters
        still count them (processed minus failed), which is all a caller without a use
        for the new Ids needs.
        """
        success: tuple[SuccessRecord, ...] = ()
        failed: tuple[FailedRecord, ...] = ()
        unprocessed: tuple[Mapping[str, str], ...] = ()
        if successes and job.number_records_processed > job.number_records_failed:
            success = tuple(
                SuccessRecord.from_row(r) for r in self._file(job.id, "successfulResults")
            )
        if job.number_records_failed:
            failed = tuple(FailedRecord.from_row(r) for r in self._file(job.id, "failedResults"))
        if job.state is not JobState.JOB_COMPLETE:
            try:
                unprocessed = tuple(self._file(job.id, "unprocessedrecords"))
            except NotFoundError:
                unprocessed = ()
        return BulkResult((job,), success, failed, unprocessed)

    def _file(self, job_id: str, name: str) -> list[dict[str, str]]:
        response = self._t.request(
            "GET", f"jobs/ingest/{job_id}/{name}", headers={"Accept": "text/csv"}
        )
        return csvio.parse(response.content)


def merge(results: Iterable[BulkResult]) -> BulkResult:
    """One result for an input that took several jobs."""
    listed = list(results)
    return BulkResult(
        jobs=tuple(j for r in listed for j in r.jobs),
        success_records=tuple(s for r in listed for s in r.success_records),
        failed_records=tuple(f for r in listed for f in r.failed_records),
        unprocessed_records=tuple(u for r in listed for u in r.unprocessed_records),
    )
