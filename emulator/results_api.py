"""Ingest result files and the paged list of jobs.

Results are served once a job is JobComplete, Failed or Aborted (aborted jobs have
unprocessed rows to give back). A job aborted before it ran has no result files; then
the unprocessed file is the upload itself and the other two are header-only.
"""

from __future__ import annotations

import csv
import io

from starlette.responses import FileResponse, Response

from emulator import csvio
from emulator.http import Call, api_error, not_found, sf_json
from emulator.jobs import DELIMITERS, TERMINAL, Job, full_info

RESULT_FILES = {
    "successfulresults": "success",
    "failedresults": "failed",
    "unprocessedrecords": "unprocessed",
}
PAGE = 1000
_LOCATOR_PREFIX = "01gJ"


def results(call: Call) -> Response:
    """GET /jobs/ingest/{id}/{successfulResults|failedResults|unprocessedrecords}."""
    name = RESULT_FILES.get(call.params["result"].lower())
    job = call.org.jobs.get(call.params["job_id"], "ingest")
    if name is None or job is None:
        return not_found()
    with call.org.jobs.lock:
        state, running = job.state, job.running
    if running:
        job.settled.wait(timeout=120)
    if state not in TERMINAL:
        return api_error(400, "INVALIDJOBSTATE", f"Results are not available for a {state} Job")
    path = job.result_path(name)
    if not path.exists():
        _results_of_unrun(job)
    return FileResponse(path, media_type="text/csv", headers={"Content-Type": "text/csv"})


def _results_of_unrun(job: Job) -> None:
    header: list[str] = []
    if job.uploaded and job.upload_path.exists():
        with job.upload_path.open(encoding="utf-8", errors="replace", newline="") as upload:
            first = upload.readline()
        rows = csv.reader(io.StringIO(first), delimiter=DELIMITERS[job.column_delimiter])
        header = next(rows, [])
    csvio.write_empty_results(job, header)
    if job.uploaded and job.upload_path.exists():
        job.result_path("unprocessed").write_bytes(job.upload_path.read_bytes())


def listing(call: Call, kind: str, job_type: str) -> Response:
    """GET /jobs/ingest or /jobs/query: pages of 1,000 jobs, following queryLocator."""
    start = 0
    locator = call.query.get("queryLocator")
    if locator:
        prefix, _, number = locator.partition("-")
        if prefix != _LOCATOR_PREFIX or not number.isdigit():
            return api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        start = int(number)
    wanted = call.query.get("jobType")
    jobs = call.org.jobs.listing(kind) if wanted in {None, "", job_type} else []
    page = jobs[start : start + PAGE]
    done = start + PAGE >= len(jobs)
    path = "ingest" if kind == "ingest" else "query"
    locator = f"{_LOCATOR_PREFIX}-{start + PAGE}"
    next_url = (
        None if done else f"/services/data/v{call.version}/jobs/{path}?queryLocator={locator}"
    )
    with call.org.jobs.lock:
        records = [full_info(j) for j in page]
    return sf_json({"done": done, "records": records, "nextRecordsUrl": next_url})
