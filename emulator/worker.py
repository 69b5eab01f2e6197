"""The background workers that take closed jobs from a queue and run them.

Two threads, so a long query does not hold up a small ingest job; their writes still
meet one SQLite writer lock. A job waits in UploadComplete while a delay or stall fault
holds it, polling the fault state so that clearing it releases the job at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from emulator.ingest_worker import IngestRun
from emulator.jobs import Job, State
from emulator.org import Org
from emulator.query_worker import run_query

log = logging.getLogger(__name__)
THREADS = 2


class Worker:
    """Runs jobs asynchronously, as Salesforce does after UploadComplete."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.stop = threading.Event()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"emulator-worker-{n}", daemon=True)
            for n in range(THREADS)
        ]

    def start(self) -> None:
        """Start the worker threads."""
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        """Queue a job that has reached UploadComplete."""
        self._queue.put(job)

    def close(self) -> None:
        """Stop after the current job; queued jobs stay where they are."""
        self.stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                self._run(job)
            except Exception:
                log.exception("job %s crashed", job.id)
                with self.org.jobs.lock:
                    job.error_message = "Unknown : an internal error occurred"
                    job.move(State.FAILED)

    def _held(self, since: float) -> bool:
        faults = self.org.faults.current
        return faults.stall_jobs or time.monotonic() < since + faults.job_delay_seconds

    def _run(self, job: Job) -> None:
        since = time.monotonic()
        while self._held(since) and not self.stop.is_set():
            self.stop.wait(0.02)
        with self.org.jobs.lock:
            if job.state != State.UPLOAD_COMPLETE or self.stop.is_set():
                return
            job.move(State.IN_PROGRESS)
            job.running = True
        try:
            if job.kind == "query":
                run_query(self.org, job)
            else:
                IngestRun(self.org, job, self.stop).run()
        finally:
            job.running = False
            job.settled.set()
