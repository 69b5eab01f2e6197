"""A running sfsink pipeline against the session's broker and emulator, one per test."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from prometheus_client import CollectorRegistry

from connector.config import Config
from connector.service import build_service


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """Poll `condition` until it holds; fail with `what` when the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or condition}")


@dataclass
class Sink:
    """One pipeline run: its topics, its config, the thread it runs in."""

    bootstrap: str
    topic: str
    dlq: str
    group: str
    config: Config
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    error: list[BaseException] = field(default_factory=list)

    def start(self) -> None:
        """Run the pipeline in a background thread, with the /limits reader as `run` has it."""
        service = build_service(self.config, self.registry)
        service.limits.start()

        def main() -> None:
            try:
                service.pipeline.run(self.stop.is_set)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                self.error.append(exc)
            finally:
                service.limits.stop()
                service.client.close()

        self.thread = threading.Thread(target=main, name="sfsink", daemon=True)
        self.thread.start()

    def stop_and_join(self, timeout: float = 60.0) -> None:
        """Ask for a clean stop and wait for it."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), "the pipeline did not stop"
        assert not self.error, self.error

    def write_config(self, path: Path, metrics_port: int = 0) -> Path:
        """The config as the YAML file a `sfsink` command reads, secret included."""
        config: dict[str, Any] = self.config.model_dump(mode="json", exclude_none=True)
        secret = self.config.salesforce.auth.client_secret
        assert secret is not None
        config["salesforce"]["auth"]["client_secret"] = secret.get_secret_value()
        config["metrics"]["port"] = metrics_port
        path.write_text(yaml.safe_dump(config))
        return path

    def produce(self, events: list[tuple[object, object]], topic: str | None = None) -> None:
        """(key, value) pairs as JSON; a value of None is a tombstone."""
        producer = Producer({"bootstrap.servers": self.bootstrap})
        for key, value in events:
            producer.produce(
                topic or self.topic,
                key=None if key is None else json.dumps(key).encode(),
                value=None if value is None else _encode(value),
            )
        assert producer.flush(30) == 0

    def committed(self, topic: str | None = None, partitions: int = 1) -> int:
        """The group's committed offsets on a topic, summed; -1 while any has none.

        Raises what stopped the pipeline, if it stopped, so a test fails with the cause.
        """
        if self.error:
            raise self.error[0]
        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group})
        wanted = [TopicPartition(topic or self.topic, p) for p in range(partitions)]
        try:
            offsets = consumer.committed(wanted, timeout=10)
        except KafkaException:
            return -1  # the group's coordinator is still being elected: ask again
        finally:
            consumer.close()
        if any(tp.offset < 0 for tp in offsets):
            return -1
        return sum(tp.offset for tp in offsets)

    def dead_letters(self, count: int, timeout: float = 30.0) -> list[Any]:
        """Read `count` records from the dead-letter topic."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": uuid.uuid4().hex,
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([self.dlq])
        got: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            got += [m for m in consumer.consume(count - len(got), 0.5) if m.error() is None]
        consumer.close()
        return got


def _encode(value: object) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


@pytest.fixture
def sink_factory(kafka_bootstrap, topic_factory, emulator) -> Iterator[Callable[..., Sink]]:
    """Makes a Sink for the Account object over fresh topics; stops it after the test."""
    sinks: list[Sink] = []
    emulator.admin.reset()

    def make(  # noqa: PLR0913 - each is one section of the config a test may change
        *,
        route: dict[str, Any] | None = None,
        batching: dict[str, Any] | None = None,
        extra_routes: tuple[dict[str, Any], ...] = (),
        partitions: int = 1,
        consumer: dict[str, Any] | None = None,
        salesforce: dict[str, Any] | None = None,
        avro: dict[str, Any] | None = None,
    ) -> Sink:
        topic, dlq, group = topic_factory(partitions), topic_factory(), uuid.uuid4().hex
        extra = [{**r, "topic": topic_factory(partitions)} for r in extra_routes]
        account = {
            "topic": topic,
            "sobject": "Account",
            "external_id": "ExternalKey__c",
            "pass_unmapped": True,
            **(route or {}),
        }
        config = Config.model_validate(
            {
                "kafka": {
                    "consumer": {
                        "bootstrap.servers": kafka_bootstrap,
                        "group.id": group,
                        **(consumer or {}),
                    },
                    "topics": [topic, *(r["topic"] for r in extra)],
                },
                "salesforce": {
                    "login_url": emulator.base_url,
                    "ca_bundle": str(emulator.ca_path),
                    "poll_initial_seconds": 0.2,
                    "retry_max_elapsed_seconds": 3,
                    "auth": {
                        "flow": "client_credentials",
                        "client_id": emulator.client_id,
                        "client_secret": emulator.client_secret,
                    },
                    **(salesforce or {}),
                },
                "routes": [account, *extra],
                "batching": {
                    "max_age_seconds": 0.5,
                    "retry_backoff_seconds": 0.05,
                    **(batching or {}),
                },
                "avro": avro or {},
                "dead_letter": {"topic": dlq},
            }
        )
        sink = Sink(kafka_bootstrap, topic, dlq, group, config)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.stop.set()
    for sink in sinks:
        if sink.thread is not None:
            sink.thread.join(60)
