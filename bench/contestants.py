"""Each benchmark run: a contestant process over a topic, until its group has committed all.

Every contestant runs as its own process with its own consumer group, reading the
topic from the start; the clock runs from its start until the group's committed
offsets reach the topic's end, so start-up and group join count for everyone alike.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml
from confluent_kafka import Consumer, TopicPartition
from measure import Offsets, Usage, Watched, cpu_seconds, wait_for
from org import Org, Spend
from workload import sfsink_config

from devstack import free_port

BENCH = Path(__file__).resolve().parent
SFSINK = Path(sys.executable).with_name("sfsink")


@dataclass(frozen=True)
class Stack:
    """The running parts every contestant shares, and where runs keep their files.

    `neighbours`: the pids of the parts this benchmark started (broker, registry,
    emulator), whose CPU during each run is counted: they share the machine's cores.
    """

    bootstrap: str
    registry: str
    org: Org
    home: Path
    profile: bool = False
    neighbours: tuple[int, ...] = ()

    def watch(self, command: list[str], name: str) -> Watched:
        """Start a run's process, logging (and profiling, when asked) into home."""
        profile = self.home / f"{name}.profile.txt" if self.profile else None
        return Watched(command, self.home / f"{name}.log", profile)


@dataclass(frozen=True)
class Result:
    """One contestant's run over the whole topic."""

    name: str
    records: int
    seconds: float
    usage: Usage
    spend: Spend | None
    stack_cpu_seconds: float | None  # the neighbours' CPU meanwhile; None when none were started

    @property
    def rate(self) -> float:
        """Records per second, wall clock."""
        return self.records / self.seconds


@dataclass(frozen=True)
class Freshness:
    """Event-to-commit ages of a paced run, and the longest Bulk job it took."""

    p50: float
    p99: float
    max_job_seconds: float
    records: int


def _run(  # noqa: PLR0913 - the run's parts, each named
    stack: Stack, name: str, command: list[str], topic: str, group: str, *, org: bool
) -> Result:
    if org:
        stack.org.admin.reset()
    offsets = Offsets(stack.bootstrap, group)
    try:
        end = offsets.end(topic)
        stack_before = cpu_seconds(stack.neighbours)
        proc = stack.watch(command, name)
        try:
            timeout = 300 + end / 500
            done = wait_for(lambda: offsets.committed(topic) >= end, proc, timeout, name)
        finally:
            usage = proc.stop()  # a run that fails leaves no process behind
        stack_cpu = cpu_seconds(stack.neighbours) - stack_before if stack.neighbours else None
    finally:
        offsets.close()
    spend = stack.org.spend() if org else None
    return Result(name, end, done - proc.started, usage, spend, stack_cpu)


def floor(stack: Stack, topic: str) -> Result:
    """Consume and decode with sfsink's own parts; no Salesforce."""
    group = f"floor-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, str(BENCH / "floor.py"), "--bootstrap", stack.bootstrap,
               "--registry", stack.registry, "--topic", topic, "--group", group]  # fmt: skip
    return _run(stack, "floor", command, topic, group, org=False)


def alternative(stack: Stack, topic: str) -> Result:
    """confluent-kafka + simple-salesforce's bulk2, as their documentation shows."""
    group = f"alternative-{uuid.uuid4().hex[:8]}"
    org = stack.org
    command = [sys.executable, str(BENCH / "alternative.py"), "--bootstrap", stack.bootstrap,
               "--registry", stack.registry, "--topic", topic, "--group", group,
               "--url", org.url, "--ca", str(org.ca), "--client-id", org.client_id,
               "--secret", org.client_secret]  # fmt: skip
    return _run(stack, "alternative", command, topic, group, org=True)


def sfsink_command(
    stack: Stack, name: str, topic: str, group: str, batching: dict[str, Any] | None = None
) -> tuple[list[str], int]:
    """`sfsink run` on a config written for this run; the command and its metrics port."""
    port = free_port()
    config = sfsink_config(
        bootstrap=stack.bootstrap,
        group=group,
        topic=topic,
        registry=stack.registry,
        salesforce=stack.org.salesforce_settings(),
        metrics_port=port,
        batching=batching,
    )
    path = stack.home / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return [str(SFSINK), "run", "--config", str(path)], port


def sfsink(
    stack: Stack, topic: str, name: str = "sfsink", batching: dict[str, Any] | None = None
) -> Result:
    """The real `sfsink run` process, until every record is committed."""
    group = f"{name}-{uuid.uuid4().hex[:8]}"
    command, _port = sfsink_command(stack, name, topic, group, batching)
    return _run(stack, name, command, topic, group, org=True)


class CommitLog:
    """Samples a group's committed offset every 100 ms, with the wall-clock time of each."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.samples: list[tuple[float, int]] = []
        self._offsets = Offsets(bootstrap, group)
        self._topic = topic
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.samples.append((time.time(), self._offsets.committed(self._topic)))

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()
        self._offsets.close()


def timestamps(bootstrap: str, topic: str, count: int) -> list[float]:
    """The Kafka timestamps (seconds) of a single-partition topic's first `count` records."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex})
    consumer.assign([TopicPartition(topic, 0, 0)])
    stamps: list[float] = []
    try:
        while len(stamps) < count:
            messages = consumer.consume(10_000, timeout=1.0)
            stamps += [m.timestamp()[1] / 1000 for m in messages if m.error() is None]
    finally:
        consumer.close()
    return stamps[:count]


def ages(stamps: list[float], samples: list[tuple[float, int]]) -> list[float]:
    """Each record's age when the first sample saw its offset committed."""
    index = 0

    def age(offset: int, stamp: float) -> float:
        nonlocal index
        while samples[index][1] <= offset:
            index += 1
        return samples[index][0] - stamp

    return [age(offset, stamp) for offset, stamp in enumerate(stamps)]


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).ok
    except requests.ConnectionError:
        return False


def freshness(stack: Stack, topic: str, produce: Callable[[], None], max_age: float) -> Freshness:
    """Run sfsink on a topic being produced at a steady rate: age of each record at its commit."""
    stack.org.admin.reset()
    group = f"paced-{uuid.uuid4().hex[:8]}"
    command, port = sfsink_command(stack, "paced", topic, group, {"max_age_seconds": max_age})
    proc = stack.watch(command, "paced")
    wait_for(lambda: _ready(port), proc, 120, "paced sfsink to be ready")
    commits = CommitLog(stack.bootstrap, group, topic)
    offsets = Offsets(stack.bootstrap, group)
    try:
        produce()
        end = offsets.end(topic)
        wait_for(lambda: offsets.committed(topic) >= end, proc, 300, "paced sfsink")
        time.sleep(0.2)  # one more sample past the end
    finally:
        commits.stop()
        offsets.close()
        proc.stop()
    spend = stack.org.spend()
    found = ages(timestamps(stack.bootstrap, topic, end), commits.samples)
    cuts = statistics.quantiles(found, n=100)
    longest = max(
        ((j.system_modstamp - j.created_date).total_seconds() for j in spend.jobs
         if j.system_modstamp and j.created_date),
        default=0.0,
    )  # fmt: skip
    return Freshness(cuts[49], cuts[98], longest, end)
