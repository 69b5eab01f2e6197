"""`sfsink run` and `sfsink check`: the long-running service and its pre-flight check."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient
from prometheus_client import CollectorRegistry, disable_created_metrics

from connector import allocator, collector
from connector.config import Config, load_config
from connector.errors import ConfigError, SfsinkError
from connector.logsetup import TEXT_FORMAT, configure_logging
from connector.metrics import HealthServer
from connector.preflight import check_routes, ensure_dead_letter_topic, kafka_problems
from connector.salesforce import BulkClient
from connector.service import build_service, client_settings, stop_on_signals
from connector.source import connection_settings

log = logging.getLogger("sfsink")


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `run` and `check` on the top-level command parser."""
    run = commands.add_parser("run", help="replicate Kafka into Salesforce until stopped")
    run.add_argument("--config", type=Path, required=True, help="the YAML settings file")
    check = commands.add_parser("check", help="validate the config (and connections)")
    check.add_argument("--config", type=Path, required=True, help="the YAML settings file")
    check.add_argument("--offline", action="store_true", help="check the file alone")


def load(path: Path) -> Config:
    """The config from `path` and the SFSINK_* environment."""
    return load_config(path, os.environ)


def check(args: argparse.Namespace) -> int:
    """Validate the file, then (unless --offline) Kafka's topics and the org's describe.

    Exit 0 when all is well, 2 with every problem when not.
    """
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)  # noqa: T201 - the operator's answer
        return 2
    routes = ", ".join(f"{r.topic or r.topic_pattern} → {r.sobject}" for r in config.routes)
    print(f"{args.config}: valid ({routes})")  # noqa: T201 - the operator's answer
    if args.offline:
        return 0
    admin = AdminClient(connection_settings(config.kafka.consumer))
    try:
        with BulkClient(client_settings(config)) as client:
            problems = kafka_problems(config, admin) + check_routes(config, client.describe)
    except SfsinkError as exc:
        problems = [f"cannot check Salesforce: {exc}"]
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)  # noqa: T201 - the operator's answer
    if problems:
        return 2
    print("Kafka and Salesforce answer; every route matches the org")  # noqa: T201
    return 0


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT: exit 0 after a clean drain, 2 on bad config, 1 on a fatal error."""
    tuned = [*allocator.tune(os.environ), collector.tune()]  # before any thread starts
    logging.basicConfig(level=logging.INFO, format=TEXT_FORMAT)
    try:
        config = load(args.config)
    except ConfigError as exc:
        log.error("config error: %s", exc)  # noqa: TRY400 - the message is the whole story
        return 2
    configure_logging(config.logging)
    log.info("memory: %s", ", ".join(tuned))
    disable_created_metrics()  # type: ignore[no-untyped-call] # _created series double the scrape
    registry = CollectorRegistry()
    service = build_service(config, registry)
    pipeline, client = service.pipeline, service.client
    problems = check_routes(config, client.describe)
    if problems:
        for problem in problems:
            log.error("mapping problem: %s", problem)
        log.error("refusing to start: fix the routes above (sfsink check --config …)")
        client.close()
        return 2
    settings: dict[str, Any] = {
        **connection_settings(config.kafka.consumer),
        "logger": logging.getLogger("librdkafka"),  # its lines in the configured format
    }
    ensure_dead_letter_topic(config, AdminClient(settings))
    health = HealthServer(
        registry,
        config.metrics.host,
        config.metrics.port,
        liveness=pipeline.liveness,
        readiness=pipeline.readiness,
        scrape_lock=service.metrics.accounting,
    )
    health.start()
    log.info("metrics on http://%s:%d/metrics", config.metrics.host, health.port)
    limits = service.limits
    limits.start()
    try:
        with stop_on_signals() as stop:
            pipeline.run(stop.is_set)
    except SfsinkError as exc:
        log.error("stopping: %s", exc)  # noqa: TRY400 - the message is the whole story
        return 1
    finally:
        limits.stop()
        health.stop()
        client.close()
    log.info("stopped cleanly")
    return 0
