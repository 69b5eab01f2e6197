"""Every Prometheus metric of sfsink, on an injected registry (no globals), and their server.

Labels are bounded: topic, partition, object, operation, outcome, reason, endpoint class,
error code. A record key, a job id or a free-text message is never a label.

The accounting identity the dashboards and alerts rely on, at every scrape:
    consumed = applied + superseded + dead_lettered + released + pending
where `released` counts records of revoked partitions handed back to the group
unfinished (the new owner replays them) and `pending` is a gauge of the records consumed
and not yet final. It holds exactly at every scrape because the loop changes a counter
and the offset tracker behind `pending` together under `Metrics.accounting`, which the
server also holds while it renders /metrics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from connector.deadletter import REASONS

_SIZE_BUCKETS = (1, 10, 100, 500, 1_000, 2_000, 5_000, 10_000, 50_000, 100_000)
_BYTE_BUCKETS = tuple(2**n for n in range(10, 28, 2))
_SECOND_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


@dataclass(frozen=True)
class Metrics:
    """The metric objects; stages are handed this and update what they own."""

    records_consumed: Counter
    records_applied: Counter
    records_superseded: Counter
    records_dead_lettered: Counter
    records_released: Counter
    records_pending: Gauge
    spool_bytes: Gauge
    spool_bytes_limit: Gauge
    record_errors: Counter
    bulk_jobs: Counter
    salesforce_requests: Counter
    retries: Counter
    batch_records: Histogram
    batch_bytes: Histogram
    job_duration: Histogram
    freshness: Histogram
    buffered_records: Gauge
    buffered_bytes: Gauge
    jobs_in_flight: Gauge
    consumer_lag: Gauge
    paused_partitions: Gauge
    catching_up: Gauge
    api_requests_used: Gauge
    api_requests_max: Gauge
    bulk_batches_remaining: Gauge
    bulk_batches_max: Gauge
    budget_held: Gauge
    last_poll: Gauge
    accounting: threading.RLock = field(default_factory=threading.RLock, compare=False)

    @classmethod
    def create(cls, registry: CollectorRegistry) -> Metrics:
        """Register every metric on `registry` (a fresh one per test)."""
        r = registry
        return cls(
            records_consumed=Counter(
                "sfsink_records_consumed", "Kafka records consumed", ["topic"], registry=r
            ),
            records_applied=Counter(
                "sfsink_records_applied",
                "Records whose write Salesforce confirmed (operation=ignore: deletes a route "
                "ignores)",
                ["object", "operation"],
                registry=r,
            ),
            records_superseded=Counter(
                "sfsink_records_superseded",
                "Records merged into a later event of their key and settled with it",
                ["object"],
                registry=r,
            ),
            records_dead_lettered=Counter(
                "sfsink_records_dead_lettered",
                "Records acknowledged by the dead-letter topic",
                ["reason"],
                registry=r,
            ),
            records_released=Counter(
                "sfsink_records_released",
                "Unfinished records of revoked partitions, left for their new owner",
                registry=r,
            ),
            records_pending=Gauge(
                "sfsink_records_pending", "Records consumed and not yet final", registry=r
            ),
            spool_bytes=Gauge(
                "sfsink_spool_bytes",
                "Disk held by buffered records' bytes, kept for dead letters until committed",
                registry=r,
            ),
            spool_bytes_limit=Gauge(
                "sfsink_spool_bytes_limit",
                "The spool's disk bound (batching.max_spool_bytes): at it the consumer pauses",
                registry=r,
            ),
            record_errors=Counter(
                "sfsink_record_errors",
                "Row errors Salesforce returned, by status code",
                ["object", "code"],
                registry=r,
            ),
            bulk_jobs=Counter(
                "sfsink_bulk_jobs",
                "Bulk API jobs by final state",
                ["object", "operation", "state"],
                registry=r,
            ),
            salesforce_requests=Counter(
                "sfsink_salesforce_requests",
                "Salesforce API calls by endpoint class and HTTP status (error: no answer came)",
                ["endpoint", "status"],
                registry=r,
            ),
            retries=Counter("sfsink_retries", "Retries by reason", ["reason"], registry=r),
            batch_records=Histogram(
                "sfsink_batch_records", "Rows per Bulk job", buckets=_SIZE_BUCKETS, registry=r
            ),
            batch_bytes=Histogram(
                "sfsink_batch_bytes",
                "Bytes per Bulk job upload",
                unit="bytes",
                buckets=_BYTE_BUCKETS,
                registry=r,
            ),
            job_duration=Histogram(
                "sfsink_job_duration_seconds",
                "Bulk job time by phase (upload, queue, processing)",
                ["phase"],
                buckets=_SECOND_BUCKETS,
                registry=r,
            ),
            freshness=Histogram(
                "sfsink_freshness_seconds",
                "From a record's Kafka timestamp to the commit of its outcome",
                buckets=_SECOND_BUCKETS,
                registry=r,
            ),
            buffered_records=Gauge(
                "sfsink_buffered_records", "Rows buffered, not yet in a job", registry=r
            ),
            buffered_bytes=Gauge(
                "sfsink_buffered_bytes",
                "Bytes held for buffered and in-flight rows",
                registry=r,
            ),
            jobs_in_flight=Gauge("sfsink_jobs_in_flight", "Bulk jobs running", registry=r),
            consumer_lag=Gauge(
                "sfsink_consumer_lag",
                "Records between the consumer's position and the partition's end",
                ["topic", "partition"],
                registry=r,
            ),
            paused_partitions=Gauge(
                "sfsink_paused_partitions", "Partitions paused by backpressure", registry=r
            ),
            catching_up=Gauge(
                "sfsink_catching_up",
                "1 while catching up on a backlog waiting in Kafka (batches then wait up to "
                "backlog_max_age_seconds)",
                registry=r,
            ),
            api_requests_used=Gauge(
                "sfsink_api_requests_used",
                "Daily API requests used by the org (Sforce-Limit-Info)",
                registry=r,
            ),
            api_requests_max=Gauge(
                "sfsink_api_requests_max", "The org's daily API request cap", registry=r
            ),
            bulk_batches_remaining=Gauge(
                "sfsink_bulk_batches_remaining",
                "DailyBulkApiBatches remaining in the rolling 24 hours (/limits)",
                registry=r,
            ),
            bulk_batches_max=Gauge(
                "sfsink_bulk_batches_max",
                "DailyBulkApiBatches allowed in the rolling 24 hours (/limits; 0 until read)",
                registry=r,
            ),
            budget_held=Gauge(
                "sfsink_budget_held",
                "1 while no job starts because a daily budget is within its reserve",
                registry=r,
            ),
            last_poll=Gauge(
                "sfsink_last_poll_timestamp_seconds",
                "When the loop last polled Kafka (unix time)",
                registry=r,
            ),
        )

    def expect(self, topics: Iterable[str], lanes: Iterable[tuple[str, str]]) -> None:
        """Create the series of dead-letter reasons, topics and lanes at zero.

        A counter first seen at 1 has no increase in Prometheus' eyes: the first failed
        job would go unnoticed by `increase()`, and sums over absent series vanish.
        """
        for reason in REASONS:
            self.records_dead_lettered.labels(reason)
        for topic in topics:
            self.records_consumed.labels(topic)
        for sobject, operation in lanes:
            self.records_applied.labels(sobject, operation)
            self.records_superseded.labels(sobject)
            if operation != "ignore":
                for state in ("JobComplete", "Failed", "Aborted"):
                    self.bulk_jobs.labels(sobject, operation, state)


class HealthServer:
    """Serves /metrics, /healthz (the loop polled recently) and /readyz (partitions owned).

    A WSGI app on a daemon thread; `liveness` and `readiness` are asked on each request.
    """

    def __init__(  # noqa: PLR0913 - the lock is optional and by keyword
        self,
        registry: CollectorRegistry,
        host: str,
        port: int,
        liveness: Callable[[], str | None],
        readiness: Callable[[], str | None],
        *,
        scrape_lock: AbstractContextManager[object] | None = None,
    ) -> None:
        """`scrape_lock` is held while /metrics renders (pass `Metrics.accounting`)."""
        self._metrics_app = make_wsgi_app(registry)
        self._scrape_lock = scrape_lock or nullcontext()
        self._checks = {"/healthz": liveness, "/readyz": readiness}
        self._server = make_server(host, port, self._app, handler_class=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on (useful when 0 was asked for)."""
        return int(self._server.server_port)

    def start(self) -> None:
        """Start answering."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and release the port."""
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: WSGIEnvironment, start: StartResponse) -> Iterable[bytes]:
        check = self._checks.get(environ.get("PATH_INFO", ""))
        if check is None:
            with self._scrape_lock:  # the app renders the whole text before returning
                body: Iterable[bytes] = self._metrics_app(environ, start)
            return body
        problem = check()
        status = "200 OK" if problem is None else "503 Service Unavailable"
        start(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [(problem or "ok").encode() + b"\n"]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """Scrapes every few seconds would drown the service's own log."""
