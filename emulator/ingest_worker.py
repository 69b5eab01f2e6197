"""Runs one ingest job: header check, then internal batches of 10,000 rows.

Counters move after every batch, so a poll sees numberRecordsProcessed grow while the
job is InProgress. Between batches the worker honours an abort, an injected job failure,
the Bulk batch allocation and the configured rate (rows per second).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

from emulator import csvio
from emulator.bulkrows import RowReader, failure_cells, success_cells
from emulator.dml import Plan, apply
from emulator.header import Column, HeaderError, resolve
from emulator.jobs import Job, State
from emulator.org import Org

BATCH_ROWS = 10_000


class JobFailedError(Exception):
    """The job goes Failed with this errorMessage; unread rows become unprocessed."""


def _unprocessed(results: csvio.IngestResults, rows: Iterator[list[str]]) -> None:
    """Copy rows that were never attempted, a batch at a time."""
    while batch := list(itertools.islice(rows, BATCH_ROWS)):
        results.unprocessed.write([[csvio.quote(c) for c in r] for r in batch])


def _header(rows: Iterator[list[str]]) -> list[str]:
    header = next(rows, [])
    if not header:
        raise JobFailedError("ClientInputError : No content found in the uploaded data")
    return header


class IngestRun:
    """The processing of one ingest job."""

    def __init__(self, org: Org, job: Job, stop: threading.Event) -> None:
        self.org = org
        self.job = job
        self.stop = stop
        self.started = time.monotonic()
        self.rows_done = 0
        self.rng = org.faults.derived()

    def run(self) -> None:
        """Process the whole upload, then set the terminal state."""
        rows = csvio.read_rows(self.job)
        header: list[str] = []
        try:
            csvio.check_line_ending(self.job)
            header = _header(rows)
            columns = resolve(self.org.schema, self.org.schema.objects[self.job.object], header)
        except (HeaderError, csvio.LineEndingError, JobFailedError) as exc:
            self._finish(State.FAILED, str(exc), header, rows)
            return
        results = csvio.IngestResults(self.job, header)
        try:
            state, message = self._batches(columns, rows, results)
        finally:
            results.close()
        self._set_state(state, message)

    def _batches(
        self, columns: list[Column], rows: Iterator[list[str]], results: csvio.IngestResults
    ) -> tuple[State, str | None]:
        reader = RowReader(columns)
        obj = self.org.schema.objects[self.job.object]
        ext = obj.field(self.job.external_id_field) if self.job.external_id_field else None
        while batch := list(itertools.islice(rows, BATCH_ROWS)):
            # A batch's time passes before its rows count as processed, as Salesforce's
            # counters move when a batch completes.
            if self.org.faults.current.chunk_delay_seconds:
                self.stop.wait(self.org.faults.current.chunk_delay_seconds)
            stop = self._should_stop()
            if stop is None and not self.org.limits.take_batch():
                stop = State.FAILED, "ExceededQuota : Exceeded the daily batch allocation"
            if stop is not None:
                _unprocessed(results, itertools.chain(batch, rows))
                return stop
            plan = Plan(
                self.org.schema, obj, self.job.operation, ext, self.org.faults.current.lock_rate
            )
            for part in self._paced(batch):
                self._one(reader, plan, part, results)
        return State.JOB_COMPLETE, None

    def _should_stop(self) -> tuple[State, str | None] | None:
        with self.org.jobs.lock:
            if self.job.state == State.ABORTED:
                return State.ABORTED, None
        if message := self.org.faults.take_job_failure():
            return State.FAILED, message
        return None

    def _paced(self, batch: list[list[str]]) -> Iterator[list[list[str]]]:
        rate = self.org.settings.rate
        if not rate:
            yield batch
            return
        # Small slices at a set rate let counters move several times a second.
        size = max(1, min(len(batch), int(rate / 5)))
        for start in range(0, len(batch), size):
            due = self.started + (self.rows_done + size) / rate
            self.stop.wait(max(0.0, due - time.monotonic()))
            yield batch[start : start + size]

    def _one(
        self, reader: RowReader, plan: Plan, cells: list[list[str]], results: csvio.IngestResults
    ) -> None:
        rows = [reader.row(c) for c in cells]
        retries = apply(self.org.store, plan, rows, self.rng)
        results.success.write(
            [success_cells(r, c) for r, c in zip(rows, cells, strict=True) if r.error is None]
        )
        failed = [failure_cells(r, c) for r, c in zip(rows, cells, strict=True) if r.error]
        results.failed.write(failed)
        self.rows_done += len(rows)
        with self.org.jobs.lock:
            self.job.processed += len(rows)
            self.job.failed += len(failed)
            self.job.retries += retries
            self.job.processing_ms = int((time.monotonic() - self.started) * 1000)

    def _finish(
        self, state: State, message: str, header: list[str], rows: Iterator[list[str]]
    ) -> None:
        results = csvio.IngestResults(self.job, header)
        _unprocessed(results, rows)
        results.close()
        self._set_state(state, message)

    def _set_state(self, state: State, message: str | None) -> None:
        with self.org.jobs.lock:
            if self.job.state != State.ABORTED or state == State.ABORTED:
                self.job.error_message = message
                self.job.processing_ms = int((time.monotonic() - self.started) * 1000)
                self.job.move(state)
