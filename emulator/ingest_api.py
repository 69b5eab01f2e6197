"""Bulk API 2.0 ingest endpoints: create, upload, close/abort, info, delete, list, results.

Choices on what the reference leaves open (section 14):
- Second PUT: refused at the PUT with BULK_API_ERROR (the newer of the two observations).
- PUT or close on a job that is not Open, results before a terminal state: 400
  INVALIDJOBSTATE, as the reference recommends; the messages follow the wording of the
  documented "Aborting already Completed Job not allowed".
- Closing a job with no upload is accepted; the job then goes Failed (no content).
- Upload over 150 MB (base64): 413 EXCEEDED_MAX_SIZE_REQUEST, the REST API's code for an
  oversized request, since Bulk 2.0 documents none.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from emulator.http import Call, api_error, guard, not_found, sf_json, with_limit_info
from emulator.ingest_create import create_job
from emulator.jobs import TERMINAL, Job, State, full_info, patched_info
from emulator.org import Org

# 150 MB after base64 encoding is 3/4 of that in raw bytes.
MAX_UPLOAD_BYTES = 150 * 1024 * 1024 * 3 // 4
_SAID = {State.JOB_COMPLETE: "Completed"}


def create(call: Call) -> Response:
    """POST /jobs/ingest."""
    return create_job(call)


def _job(call: Call) -> Job | None:
    return call.org.jobs.get(call.params["job_id"], "ingest")


def info(call: Call) -> Response:
    """GET /jobs/ingest/{id}."""
    job = _job(call)
    if job is None:
        return not_found()
    with call.org.jobs.lock:
        return sf_json(full_info(job))


def patch(call: Call) -> Response:
    """PATCH /jobs/ingest/{id}: close (UploadComplete) or abort."""
    job = _job(call)
    if job is None:
        return not_found()
    try:
        body = call.json()
    except ValueError:
        return api_error(400, "JSON_PARSER_ERROR", "The request body is not valid JSON")
    wanted = body.get("state") if isinstance(body, dict) else None
    with call.org.jobs.lock:
        refused = _transition(call.org, job, wanted)
        return refused or sf_json(patched_info(job))


def _transition(org: Org, job: Job, wanted: object) -> Response | None:
    said = _SAID.get(job.state, str(job.state))
    if wanted == State.UPLOAD_COMPLETE:
        if job.state != State.OPEN:
            return api_error(400, "INVALIDJOBSTATE", f"Closing already {said} Job not allowed")
        job.move(State.UPLOAD_COMPLETE)
        org.worker.submit(job)
        return None
    if wanted == State.ABORTED:
        if job.state in TERMINAL:
            return api_error(400, "INVALIDJOBSTATE", f"Aborting already {said} Job not allowed")
        job.move(State.ABORTED)
        return None
    if wanted in {s.value for s in State}:
        return api_error(
            400, "INVALIDJOBSTATE", f"Changing the state of a job to {wanted} is not allowed"
        )
    return api_error(
        400, "API_ERROR", f"Invalid value: '{wanted or ''}' supplied for property: 'state'"
    )


def delete(call: Call) -> Response:
    """DELETE /jobs/ingest/{id}: only once the job has stopped moving."""
    job = _job(call)
    if job is None:
        return not_found()
    with call.org.jobs.lock:
        if job.state in {State.OPEN, State.IN_PROGRESS}:
            return api_error(
                400,
                "API_ERROR",
                "Error encountered when deleting the job because the job is not terminated",
            )
        if job.state == State.UPLOAD_COMPLETE:
            job.move(State.ABORTED)  # the queued run sees this and does nothing
        running = job.running
    if running:  # an aborted job whose worker is still letting go of its files
        job.settled.wait(timeout=120)
    call.org.jobs.delete(job)
    return Response(status_code=204)


async def upload(request: Request) -> Response:
    """PUT /jobs/ingest/{id}/batches: the one CSV upload, streamed to disk (chunked or not)."""
    org: Org = request.app.state.org
    refused = await guard(request, org, "ingest")
    if refused is None:
        refused = await _store_upload(request, org)
    return with_limit_info(refused or Response(status_code=201), org)


async def _store_upload(request: Request, org: Org) -> Response | None:
    job = org.jobs.get(request.path_params["job_id"], "ingest")
    if job is None:
        return not_found()
    with org.jobs.lock:
        if job.uploaded and job.state == State.OPEN:
            return api_error(
                400,
                "BULK_API_ERROR",
                f"Found multipe contents for job: <{job.id[:15]}>, please 'Close' / 'Abort' / "
                "'Delete' the current Job then create a new Job and make sure you only do "
                "'PUT' once on a given Job.",
            )
        if job.state != State.OPEN:
            said = _SAID.get(job.state, str(job.state))
            return api_error(400, "INVALIDJOBSTATE", f"Uploading to already {said} Job not allowed")
        job.uploaded = True
    limit = org.faults.current.max_upload_bytes or MAX_UPLOAD_BYTES
    size = 0
    with job.upload_path.open("wb") as target:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                break
            target.write(chunk)
    if size > limit:
        with org.jobs.lock:
            job.uploaded = False
        job.upload_path.unlink(missing_ok=True)
        return api_error(
            413, "EXCEEDED_MAX_SIZE_REQUEST", f"Exceeded max size limit of {limit} bytes"
        )
    return None
