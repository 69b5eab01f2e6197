"""BulkClient: the Bulk API 2.0 operations people expect, with typed results.

client = BulkClient.from_env()
result = client.upsert("Account", rows, "ExternalKey__c")
for failure in result.failed_records: ...
client.query("SELECT Id, Name FROM Account").to_csv("accounts.csv")
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from connector.errors import (
    InvalidRequestError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    SalesforceError,
)
from connector.salesforce import lookup
from connector.salesforce.endpoints import CallObserver
from connector.salesforce.http import Transport, TransportSettings
from connector.salesforce.jobs import CreateRequest, JobApi, OnProgress, merge
from connector.salesforce.limits import ApiUsage, OrgLimits
from connector.salesforce.payloads import Payload, Records, prepare
from connector.salesforce.polls import Closed
from connector.salesforce.query import BulkQueryResult, composite_records
from connector.salesforce.results import BulkJob, BulkResult, JobState, Operation
from connector.salesforce.settings import ClientSettings, settings_from_env

log = logging.getLogger(__name__)

# Uploads this small go with the create, in one multipart call instead of create,
# upload and close. Salesforce's docs give the limit in characters (100,000; older
# ones say 20,000); bytes are never fewer than characters. A refusal steps down once
# to the older figure, then turns multipart off for this client. Inserts never go
# this way: a multipart create whose answer is lost may have written its rows already,
# and the retry would insert them twice (upserts, updates and deletes just repeat).
MULTIPART_MAX_BYTES = 100_000
MULTIPART_FALLBACK_BYTES = 20_000


@dataclass(frozen=True, slots=True)
class _Run:
    """How one ingest call waits and what it fetches."""

    wait: bool
    timeout: float | None
    on_progress: OnProgress | None
    fetch_successes: bool


class BulkClient:
    """A Bulk API 2.0 client for one org; thread-safe, one pooled session. Close it after."""

    def __init__(self, settings: ClientSettings, on_call: CallObserver | None = None) -> None:
        """`on_call(endpoint_class, status)` is told of every HTTP call, for metrics."""
        self.settings = settings
        self._transport = Transport(
            TransportSettings(
                login_url=settings.login_url,
                auth=settings.auth,
                api_version=settings.api_version,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                ca_bundle=settings.ca_bundle,
                pool_size=settings.pool_size,
                retry=settings.retry,
            ),
            on_call,
        )
        self._ingest = JobApi(self._transport, "ingest", settings.poll)
        self._multipart_max = MULTIPART_MAX_BYTES
        self._query = JobApi(self._transport, "query", settings.poll)
        self._where_chars: int | None = None  # set once an org refuses long IN lists

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BulkClient:
        """A client from SF_LOGIN_URL, one flow's credentials, SF_CA_BUNDLE, SF_API_VERSION.

        Flows: SF_CLIENT_ID + SF_CLIENT_SECRET (client credentials); SF_CLIENT_ID +
        SF_USERNAME + SF_PRIVATE_KEY or SF_PRIVATE_KEY_FILE (JWT bearer); SF_CLIENT_ID +
        SF_REFRESH_TOKEN [+ SF_CLIENT_SECRET]; SF_ACCESS_TOKEN + SF_INSTANCE_URL.
        """
        return cls(settings_from_env(os.environ if environ is None else environ))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BulkClient(login_url={self.settings.login_url!r}, auth={self.settings.auth!r})"

    def close(self) -> None:
        """Release the pooled connections."""
        self._transport.close()

    @property
    def api_usage(self) -> ApiUsage | None:
        """Daily API requests (used, max) from the latest Sforce-Limit-Info."""
        return self._transport.usage.latest

    @property
    def http_calls(self) -> int:
        """HTTP requests this client sent (retries and resends included)."""
        return self._transport.calls

    def insert(  # noqa: PLR0913 - the options every operation takes, by keyword
        self,
        sobject: str,
        records: Records,
        *,
        wait: bool = True,
        timeout: float | None = None,
        on_progress: OnProgress | None = None,
        fetch_successes: bool = True,
    ) -> BulkResult:
        """Insert records (mappings, or a CSV path or stream); see `upsert` for the options."""
        run = _Run(wait, timeout, on_progress, fetch_successes)
        return self._run(sobject, Operation.INSERT, records, None, run)

    def update(  # noqa: PLR0913 - the options every operation takes, by keyword
        self,
        sobject: str,
        records: Records,
        *,
        wait: bool = True,
        timeout: float | None = None,
        on_progress: OnProgress | None = None,
        fetch_successes: bool = True,
    ) -> BulkResult:
        """Update records by Id; a record without an Id raises ValueError before any call."""
        run = _Run(wait, timeout, on_progress, fetch_successes)
        return self._run(sobject, Operation.UPDATE, records, None, run)

    def upsert(  # noqa: PLR0913 - the options every operation takes, by keyword
        self,
        sobject: str,
        records: Records,
        external_id_field: str,
        *,
        wait: bool = True,
        timeout: float | None = None,
        on_progress: OnProgress | None = None,
        fetch_successes: bool = True,
    ) -> BulkResult:
        """Insert or update by an external id field, which every record must fill.

        Args:
            sobject: the object's API name.
            records: mappings, or a CSV path or stream (see `insert`).
            external_id_field: the field that matches records to existing ones.
            wait: False returns at once with the started jobs; `job(id).wait()` later.
            timeout: seconds to wait in all; then JobTimeoutError, the jobs left running.
            on_progress: called with the job each time a poll finds it changed.
            fetch_successes: False skips downloading the successful rows (their Ids);
                the counts stay exact, success_records is empty.
        """
        run = _Run(wait, timeout, on_progress, fetch_successes)
        return self._run(sobject, Operation.UPSERT, records, external_id_field, run)

    def delete(  # noqa: PLR0913 - the options every operation takes, by keyword
        self,
        sobject: str,
        ids: Records | Iterable[str],
        *,
        wait: bool = True,
        timeout: float | None = None,
        on_progress: OnProgress | None = None,
        fetch_successes: bool = True,
    ) -> BulkResult:
        """Delete (to the recycle bin) by Id: ids, mappings with Id, or an Id CSV."""
        run = _Run(wait, timeout, on_progress, fetch_successes)
        return self._run(sobject, Operation.DELETE, ids, None, run)  # type: ignore[arg-type]

    def hard_delete(  # noqa: PLR0913 - the options every operation takes, by keyword
        self,
        sobject: str,
        ids: Records | Iterable[str],
        *,
        wait: bool = True,
        timeout: float | None = None,
        on_progress: OnProgress | None = None,
        fetch_successes: bool = True,
    ) -> BulkResult:
        """Delete by Id, skipping the recycle bin (needs the Bulk API Hard Delete permission)."""
        run = _Run(wait, timeout, on_progress, fetch_successes)
        return self._run(sobject, Operation.HARD_DELETE, ids, None, run)  # type: ignore[arg-type]

    def _run(
        self,
        sobject: str,
        operation: Operation,
        records: Records,
        external_id_field: str | None,
        run: _Run,
    ) -> BulkResult:
        payloads = prepare(
            records,
            operation,
            external_id_field=external_id_field,
            max_bytes=self.settings.max_upload_bytes,
        )
        wanted = CreateRequest(sobject, operation, external_id_field)
        jobs: list[BulkJob] = []
        closed: list[Closed] = []
        try:
            for payload in payloads:
                jobs.append(self._start(wanted, payload))
                closed.append(Closed(self._ingest.clock(), payload.rows))
        except SalesforceError as exc:
            _note_started(exc, jobs)
            raise
        finally:
            for payload in payloads:
                payload.close()
        if not run.wait:
            return BulkResult(tuple(jobs))
        try:
            return self._finish([(job.id, c) for job, c in zip(jobs, closed, strict=True)], run)
        except JobTimeoutError as exc:
            _note_started(exc, jobs)
            raise

    def _start(self, wanted: CreateRequest, payload: Payload) -> BulkJob:
        body: dict[str, str] = {
            "object": wanted.object,
            "operation": wanted.operation.value,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        if wanted.external_id_field:
            body["externalIdFieldName"] = wanted.external_id_field
        if wanted.operation is Operation.INSERT or payload.size > self._multipart_max:
            return self._start_in_three_calls(wanted, body, payload)
        try:
            return self._ingest.create_with_data(body, wanted, payload)
        except InvalidRequestError as refused:
            # Documented limits disagree (100,000 characters now, 20,000 before): a
            # refusal that the three-call create then accepts was about the size.
            job = self._start_in_three_calls(wanted, body, payload)
            self._multipart_max = (
                MULTIPART_FALLBACK_BYTES if payload.size > MULTIPART_FALLBACK_BYTES else 0
            )
            log.warning(
                "a multipart job create of %d bytes was refused (%s); multipart creates "
                "now go up to %d bytes (0: never)",
                payload.size,
                refused,
                self._multipart_max,
            )
            return job

    def _start_in_three_calls(
        self, wanted: CreateRequest, body: dict[str, str], payload: Payload
    ) -> BulkJob:
        job = self._ingest.create(body, wanted)
        try:
            self._ingest.upload(job.id, payload)
        except BaseException:
            with contextlib.suppress(SalesforceError):
                self._ingest.abort(job.id)  # an Open job holds no data: nothing is lost
            raise
        return self._ingest.close(job.id)

    def _finish(self, jobs: list[tuple[str, Closed | None]], run: _Run) -> BulkResult:
        """Wait for each job (`Closed` when this call closed it) and read its results."""
        timeout = run.timeout
        deadline = None if timeout is None else self._ingest.clock() + timeout
        done = [
            self._ingest.wait(
                job_id,
                deadline=deadline,
                timeout=timeout,
                on_progress=run.on_progress,
                closed=closed,
            )
            for job_id, closed in jobs
        ]
        result = merge(self._ingest.results(job, successes=run.fetch_successes) for job in done)
        for job in done:
            if job.state in {JobState.FAILED, JobState.ABORTED}:
                message = job.error_message or f"job {job.id} ended {job.state.value}"
                raise JobFailedError(message, job_id=job.id, state=job.state.value, result=result)
        return result

    def query(self, soql: str, **options: object) -> BulkQueryResult:
        """Run a Bulk query; rows stream from the result (timeout=None, on_progress=None)."""
        return self._run_query(Operation.QUERY, soql, **options)  # type: ignore[arg-type]

    def query_all(self, soql: str, **options: object) -> BulkQueryResult:
        """Like query, including deleted and archived records."""
        return self._run_query(Operation.QUERY_ALL, soql, **options)  # type: ignore[arg-type]

    def _run_query(
        self,
        operation: Operation,
        soql: str,
        *,
        timeout: float | None = None,
        on_progress: OnProgress | None = None,
    ) -> BulkQueryResult:
        body = {"operation": operation.value, "query": soql, "contentType": "CSV"}
        body |= {"columnDelimiter": "COMMA", "lineEnding": "LF"}
        wanted = CreateRequest(_object_of(soql), operation)
        job = self._query.create(body, wanted)
        return self._query_result(job.id, timeout, on_progress, Closed(self._query.clock()))

    def _query_result(
        self,
        job_id: str,
        timeout: float | None,
        on_progress: OnProgress | None,
        created: Closed | None,
    ) -> BulkQueryResult:
        """Wait for a query job to finish; its streamed result (JobFailedError if not).

        `created` when this client just created it (the schedule learns from it).
        """
        api = self._query
        deadline = None if timeout is None else api.clock() + timeout
        job = api.wait(
            job_id, deadline=deadline, timeout=timeout, on_progress=on_progress, closed=created
        )
        if job.state is not JobState.JOB_COMPLETE:
            message = job.error_message or f"query job {job.id} ended {job.state.value}"
            raise JobFailedError(message, job_id=job.id, state=job.state.value)
        return BulkQueryResult(self._transport, job, self.settings.query_page_size)

    def composite_queries(self, paths: Sequence[str]) -> list[list[dict[str, Any]]]:
        """The records of up to five REST query paths (`lookup.rest_uri`), in one call.

        A Composite call: Salesforce counts it as one API request. Each result's further
        pages, if any, cost a call each.
        """
        return composite_records(self._transport, paths)

    def find_ids(self, sobject: str, field: str, keys: Iterable[str]) -> dict[str, str]:
        """Id by external id (`field`), for the keys that have a record.

        The keys go in SOQL IN lists, five lists to a Composite call (see lookup.py). A
        lookup refused as a malformed query is tried again in short lists; if those
        work, this client uses short lists from then on.
        """
        listed = list(keys)
        version = self.settings.api_version
        try:
            return lookup.find_ids(
                self, sobject, field, listed, api_version=version, where_chars=self._where_chars
            )
        except InvalidRequestError as exc:
            if self._where_chars is not None or exc.error_code not in lookup.LONG_LIST_REFUSED:
                raise
            short = lookup.SHORT_WHERE_CHARS
            found = lookup.find_ids(
                self, sobject, field, listed, api_version=version, where_chars=short
            )
            log.warning(
                "Salesforce refused a lookup's long IN lists (%s) and took lists of %d "
                "characters: lookups use those from now on",
                exc.error_code,
                short,
            )
            self._where_chars = short
            return found

    def job(self, job_id: str, kind: str | None = None) -> JobHandle:
        """A handle on an existing job: wait on it, abort it, read its results."""
        return JobHandle(self, job_id, kind)

    def describe(self, sobject: str) -> dict[str, Any]:
        """The object's describe (REST `sobjects/{name}/describe`), as Salesforce sends it."""
        response = self._transport.request("GET", f"sobjects/{sobject}/describe")
        body: dict[str, Any] = response.json()
        return body

    def limits(self) -> OrgLimits:
        """The org's daily API requests and Bulk batches (REST `limits`)."""
        return OrgLimits.from_json(self._transport.request("GET", "limits").json())

    def jobs(self, kind: str = "ingest") -> list[BulkJob]:
        """The org's jobs of one kind ("ingest" or "query"), as listed by Salesforce."""
        api = self._ingest if kind == "ingest" else self._query
        return list(api.listing())


def _note_started(error: BaseException, jobs: list[BulkJob]) -> None:
    """Name the jobs already running on an error, so none is lost track of."""
    if len(jobs) > 1 or (jobs and not isinstance(error, JobTimeoutError)):
        error.add_note("jobs started for this call: " + ", ".join(j.id for j in jobs))


def _object_of(soql: str) -> str:
    words = soql.replace(",", " ").split()
    lowered = [w.lower() for w in words]
    return words[lowered.index("from") + 1] if "from" in lowered[:-1] else ""


class JobHandle:
    """An existing ingest or query job, found by id."""

    def __init__(self, client: BulkClient, job_id: str, kind: str | None) -> None:
        self._client = client
        self.id = job_id
        self._kind = kind

    def __repr__(self) -> str:
        return f"JobHandle(id={self.id!r}, kind={self._kind!r})"

    def _api(self) -> JobApi:
        if self._kind is None:
            try:
                self._client._ingest.get(self.id)  # noqa: SLF001
                self._kind = "ingest"
            except NotFoundError:
                self._kind = "query"
        return self._client._ingest if self._kind == "ingest" else self._client._query  # noqa: SLF001

    def info(self) -> BulkJob:
        """The job as Salesforce describes it now."""
        return self._api().get(self.id)

    def abort(self) -> BulkJob:
        """Abort the job; rows already written stay written."""
        return self._api().abort(self.id)

    def delete(self) -> None:
        """Delete the finished job and its results."""
        self._api().delete(self.id)

    def wait(
        self, timeout: float | None = None, on_progress: Callable[[BulkJob], None] | None = None
    ) -> BulkResult:
        """Wait for an ingest job to finish; its results, or JobFailedError / JobTimeoutError."""
        self._kind = "ingest"
        run = _Run(wait=True, timeout=timeout, on_progress=on_progress, fetch_successes=True)
        return self._client._finish([(self.id, None)], run)  # noqa: SLF001

    def results(self) -> BulkResult:
        """The result rows of a finished ingest job, whatever its state."""
        api = self._client._ingest  # noqa: SLF001
        return api.results(api.get(self.id))

    def query_result(
        self, timeout: float | None = None, on_progress: Callable[[BulkJob], None] | None = None
    ) -> BulkQueryResult:
        """Wait for a query job to finish and return its streamed result."""
        return self._client._query_result(self.id, timeout, on_progress, None)  # noqa: SLF001
