"""How long each Bulk job spent uploading, queued and processing, from what its polls saw.

Salesforce reports no start-of-processing time, so the phases are read from the state
transitions the client's polls observe: exact to within one poll interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Histogram

from connector.salesforce import BulkJob, JobState

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Seen:
    """When a job's polls first saw it, saw it leave the queue, and saw it end."""

    first: float
    started: float | None = None
    ended: float | None = None


class JobPhases:
    """Times the jobs of one ingest call; its `note` is the call's on_progress callback.

    upload: from the call to the first poll (create, upload and close of every job of
    the call); queue: from a job's first poll until it is seen past UploadComplete;
    processing: from then until it is seen terminal.
    """

    def __init__(self, histogram: Histogram, clock: Callable[[], float] = time.monotonic) -> None:
        self._histogram = histogram
        self._clock = clock
        self._start = clock()
        self._uploaded = False
        self._jobs: dict[str, _Seen] = {}

    def note(self, job: BulkJob) -> None:
        """Record the phases this sighting of `job` ends."""
        now = self._clock()
        if not self._uploaded:
            self._uploaded = True
            self._histogram.labels("upload").observe(now - self._start)
        seen = self._jobs.setdefault(job.id, _Seen(first=now))
        if seen.started is None and job.state is not JobState.UPLOAD_COMPLETE:
            seen.started = now
            self._histogram.labels("queue").observe(now - seen.first)
        if seen.ended is None and job.state.terminal:
            seen.ended = now
            self._histogram.labels("processing").observe(now - (seen.started or now))
            log.info(
                "Bulk job %s (%s %s) %s: %d processed, %d failed; "
                "upload %.2fs, queue %.2fs, processing %.2fs",
                job.id,
                job.operation.value,
                job.object,
                job.state.value,
                job.number_records_processed,
                job.number_records_failed,
                seen.first - self._start,
                (seen.started or now) - seen.first,
                now - (seen.started or now),
            )
