"""Builds the running service from a Config: every stage, wired into one Pipeline."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from connector.batch import Batcher, BatchLimits
from connector.budget import Budget
from connector.config import AuthFlow, AuthSettings, BatchingSettings, Config, OnDelete
from connector.deadletter import DeadLetter, producer_config
from connector.decode import RegistrySettings, decoder_for
from connector.flush import JobRunner
from connector.limitswatch import LimitsWatcher
from connector.mapping import Mapper
from connector.metrics import Metrics
from connector.pipeline import LoopSettings, Pipeline
from connector.salesforce import (
    AccessToken,
    BulkClient,
    ClientCredentials,
    ClientSettings,
    JwtBearer,
    PollPolicy,
    RefreshToken,
    RetryPolicy,
)
from connector.salesforce.auth import AuthFlow as ClientAuth
from connector.source import Source
from connector.spool import SEGMENT_BYTES, RecordSpool

log = logging.getLogger(__name__)


def client_settings(config: Config) -> ClientSettings:
    """The BulkClient's settings from the salesforce section."""
    sf = config.salesforce
    return ClientSettings(
        login_url=sf.login_url,
        auth=auth_flow(sf.auth),
        api_version=sf.api_version,
        ca_bundle=str(sf.ca_bundle) if sf.ca_bundle else None,
        read_timeout=sf.timeout_seconds,
        poll=PollPolicy(initial=sf.poll_initial_seconds),
        retry=RetryPolicy(max_elapsed=sf.retry_max_elapsed_seconds),
    )


def auth_flow(auth: AuthSettings) -> ClientAuth:
    """The client's flow object; the config has already checked each flow's fields."""

    def secret(value: object) -> str:
        return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]

    if auth.flow is AuthFlow.CLIENT_CREDENTIALS:
        return ClientCredentials(auth.client_id or "", secret(auth.client_secret))
    if auth.flow is AuthFlow.JWT:
        return JwtBearer(auth.client_id or "", auth.username or "", secret(auth.private_key))
    if auth.flow is AuthFlow.REFRESH_TOKEN:
        return RefreshToken(
            auth.client_id or "", secret(auth.refresh_token), secret(auth.client_secret) or None
        )
    return AccessToken(secret(auth.access_token), auth.instance_url or "")


def registry_settings(config: Config) -> RegistrySettings | None:
    """The schema registry client's settings, when a registry is configured."""
    avro = config.avro
    if avro.registry_url is None:
        return None
    user_info = avro.registry_user_info
    return RegistrySettings(
        avro.registry_url,
        user_info.get_secret_value() if user_info else None,
        timeout=avro.registry_timeout_seconds,
    )


def topics(config: Config) -> list[str]:
    """What to subscribe to; librdkafka reads a leading ^ as a regex."""
    if config.kafka.topic_pattern is not None:
        pattern = config.kafka.topic_pattern
        return [pattern if pattern.startswith("^") else f"^{pattern}"]
    return list(config.kafka.topics)


@dataclass(frozen=True, slots=True)
class Service:
    """The pipeline, the client it writes with (close it after) and their metrics."""

    pipeline: Pipeline
    client: BulkClient
    metrics: Metrics
    limits: LimitsWatcher


def lanes(config: Config) -> list[tuple[str, str]]:
    """Every (object, operation) the routes write with; "ignore" for ignored deletes."""
    deletes = {OnDelete.DELETE: "delete", OnDelete.HARD_DELETE: "hardDelete"}
    return [
        pair
        for route in config.routes
        for pair in (
            (route.sobject, "upsert"),
            (route.sobject, deletes.get(route.on_delete, "ignore")),
        )
    ]


def build_service(config: Config, registry: CollectorRegistry) -> Service:
    """Every stage of the service, ready to run, with the metrics they update."""
    metrics = Metrics.create(registry)

    def count_call(endpoint: str, status: str) -> None:
        metrics.salesforce_requests.labels(endpoint, status).inc()

    client = BulkClient(client_settings(config), on_call=count_call)
    metrics.expect(config.kafka.topics, lanes(config))
    budget = Budget(config.salesforce.budget_reserve_fraction)
    batching = config.batching
    consumer = dict(config.kafka.consumer)
    runner = JobRunner(
        client,
        metrics,
        budget,
        objects={route.sobject for route in config.routes},
        job_timeout=config.salesforce.job_timeout_seconds,
    )
    # librdkafka's own lines then go through logging, in the configured format.
    kafka_log = logging.getLogger("librdkafka")
    dead_letter = DeadLetter(
        Producer({**producer_config(consumer), "logger": kafka_log}),
        config.dead_letter.topic,
        connector_name=str(consumer["group.id"]),
    )
    pipeline = Pipeline(
        source=Source({**consumer, "logger": kafka_log}, topics(config)),
        decoder=decoder_for(
            config,
            registry=registry_settings(config),
            schemas_dir=config.avro.schemas_dir,
            schema_files=config.avro.schema_files,
        ),
        mapper=Mapper(config),
        batcher=Batcher(batch_limits(batching), batching.spool_dir),
        runner=runner,
        dead_letter=dead_letter,
        spool=RecordSpool(batching.spool_dir, min(SEGMENT_BYTES, batching.max_spool_bytes // 8)),
        metrics=metrics,
        budget=budget,
        settings=LoopSettings(
            max_buffered_bytes=batching.max_buffered_bytes,
            max_spool_bytes=batching.max_spool_bytes,
            max_in_flight=batching.max_in_flight,
            retry_attempts=batching.retry_attempts,
            retry_backoff=batching.retry_backoff_seconds,
        ),
    )
    limits = LimitsWatcher(
        client.limits, metrics, budget, config.salesforce.limits_interval_seconds
    )
    return Service(pipeline, client, metrics, limits)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM/SIGINT set the event (drain, commit, exit 0); a second one exits at once.

    Exiting at once loses nothing: offsets are committed only for final records, so
    whatever was in flight is replayed by the next start.
    """
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            log.warning(
                "second %s: exiting now; unfinished records will be replayed",
                signal.Signals(signum).name,
            )
            os._exit(128 + signum)
        log.info("%s: draining, then exiting", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# The share of the memory bound one job's rows may hold while buffered (running, they hold
# about a quarter of that: connector.inflight). Larger jobs spend fewer API calls; smaller
# ones are cut more often at the bound. Draining a million generated events with the 64
# MiB bound on two cores, one run each: a half took 121 calls in 73.4 s, 0.7 took 92 in
# 74.2 s, 0.85 took 99 in 77.9 s, the whole bound 99 in 79.3 s (peak RSS 170-179 MB).
JOB_SHARE = 0.7


def batch_limits(batching: BatchingSettings) -> BatchLimits:
    """When a lane becomes a job, from the settings.

    A job's rows hold at most JOB_SHARE of the memory bound until it starts.
    """
    return BatchLimits(
        batching.max_records,
        min(batching.max_bytes, int(batching.max_buffered_bytes * JOB_SHARE)),
        batching.max_age_seconds,
        batching.backlog_max_age,
    )
