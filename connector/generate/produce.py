"""Producing a generated stream to Kafka: schemas registered once, shards in parallel, paced.

One process encodes some 30,000 changes a second; a stream is therefore cut into
`workers` shards (see World), each produced by its own process with its own Kafka
producer, and each paced at its share of the rate. The producers are idempotent, so
a retried batch cannot reorder the changes of a key.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from collections import Counter
from collections.abc import Callable, Mapping, MutableSequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from confluent_kafka import KafkaError, Producer

from connector.errors import GenerateError
from connector.generate.avroschemas import register_all, table_schemas
from connector.generate.encode import AvroEncoder, Encoder, JsonEncoder
from connector.generate.expected import ExpectedState, Fields
from connector.generate.mix import Mix
from connector.generate.tables import TABLES
from connector.generate.world import World

_PRODUCER_DEFAULTS: Mapping[str, str | int | bool] = {
    "enable.idempotence": True,
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "compression.type": "lz4",
    "queue.buffering.max.messages": 500_000,
    "delivery.report.only.error": True,
}
_PACE_EVERY = 256  # changes between two looks at the clock
_SHOW_EVERY = 2048  # changes between two progress updates
_FLUSH_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how the stream goes.

    Args:
        bootstrap: Kafka's bootstrap servers.
        topics: the topic of each table, by table name (account, contact).
        value_format: avro (Confluent wire format, schemas in the registry) or json.
        registry_url: the Confluent-compatible registry, for avro.
        producer: further librdkafka settings (security.protocol, sasl.*, ...).
        schemas_dir: where account-*.avsc and contact-*.avsc are.
    """

    bootstrap: str
    topics: Mapping[str, str]
    value_format: str = "avro"
    registry_url: str | None = None
    producer: Mapping[str, str] = field(default_factory=dict)
    schemas_dir: Path = Path("schemas")


@dataclass(frozen=True, slots=True)
class Plan:
    """What to generate: how many changes, how fast (0: at once), from which seed."""

    count: int
    seed: int = 1
    rate: float = 0.0
    mix: Mix = field(default_factory=Mix)
    workers: int = 1


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run produced, and the org it should leave.

    `seconds` runs from a shard's first record to its last acknowledgement (the slowest
    shard's), so process start-up and the expected state's computation are left out.
    """

    records: int
    by_kind: Mapping[tuple[str, str], int]
    seconds: float
    expected: ExpectedState


@dataclass(frozen=True, slots=True)
class _Shard:
    target: Target
    plan: Plan
    index: int
    ids: Mapping[str, Mapping[str, int]]


def generate(
    target: Target, plan: Plan, on_progress: Callable[[int], None] = lambda _: None
) -> Outcome:
    """Produce the plan's stream to the target; `on_progress` hears the records sent so far."""
    schemas = {t.name: table_schemas(t, target.schemas_dir) for t in TABLES}
    ids: dict[str, dict[str, int]] = {}
    if target.value_format == "avro":
        if not target.registry_url:
            raise GenerateError("avro needs a schema registry URL (--registry-url)")
        for name, table in schemas.items():
            ids[name] = register_all(target.registry_url, target.topics[name], table)
    shards = [_Shard(target, plan, i, ids) for i in range(plan.workers)]
    if plan.workers == 1:
        progress = [0]
        parts = [_produce(shards[0], progress, lambda: on_progress(progress[0]), lambda: True)]
    else:
        parts = _in_processes(shards, on_progress)
    total: Counter[tuple[str, str]] = Counter()
    objects: dict[str, dict[str, Fields | None]] = {}
    for counts, _, expected in parts:
        total.update(counts)
        for sobject, rows in expected.objects.items():
            objects.setdefault(sobject, {}).update(rows)
    seconds = max(part[1] for part in parts)
    return Outcome(sum(total.values()), dict(total), seconds, ExpectedState(objects))


# A shard's counts by (object, kind), its seconds from first record to last ack, its org.
_Part = tuple[Counter[tuple[str, str]], float, ExpectedState]


def _in_processes(shards: list[_Shard], on_progress: Callable[[int], None]) -> list[_Part]:
    # spawn, not fork: a forked child would inherit the parent's librdkafka threads' state.
    context = multiprocessing.get_context("spawn")
    progress = context.Array("q", len(shards), lock=False)
    results: multiprocessing.Queue[tuple[int, object]] = context.Queue()
    workers = [
        context.Process(target=_worker, args=(shard, progress, results), daemon=True)
        for shard in shards
    ]
    for worker in workers:
        worker.start()
    parts: dict[int, _Part] = {}
    try:
        while len(parts) < len(workers):
            on_progress(sum(progress))
            try:
                index, result = results.get(timeout=0.5)
            except queue.Empty:
                dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
                if dead:
                    raise GenerateError(f"a generator worker exited with {dead[0]}") from None
                continue
            if isinstance(result, str):
                raise GenerateError(f"generator worker {index}: {result}")
            parts[index] = cast("_Part", result)
        on_progress(sum(progress))
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    return [parts[i] for i in range(len(workers))]


def _worker(
    shard: _Shard, progress: MutableSequence[int], results: multiprocessing.Queue[object]
) -> None:
    # The parent hears Ctrl-C and stops the workers by their pids (terminate); a worker
    # whose parent died without doing so stops at its next look at the clock.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    try:
        outcome = _produce(shard, progress, lambda: None, lambda: os.getppid() == parent)
        results.put((shard.index, outcome))
    except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
        results.put((shard.index, f"{type(exc).__name__}: {exc}"))


def _produce(
    shard: _Shard,
    progress: MutableSequence[int],
    show: Callable[[], None],
    wanted: Callable[[], bool],
) -> _Part:
    plan, target = shard.plan, shard.target
    count = plan.count // plan.workers + (shard.index < plan.count % plan.workers)
    world = World(plan.seed, plan.mix, shard.index, plan.workers)
    encoder: Encoder = JsonEncoder()
    if target.value_format == "avro":
        schemas = {t.name: table_schemas(t, target.schemas_dir) for t in TABLES}
        encoder = AvroEncoder(schemas, shard.ids)
    failures: list[KafkaError] = []
    producer = Producer(
        {
            **_PRODUCER_DEFAULTS,
            **target.producer,
            "bootstrap.servers": target.bootstrap,
            "on_delivery": lambda err, _msg: failures.append(err) if err else None,
            "error_cb": lambda err: failures.append(err) if err.fatal() else None,
        }
    )
    began = time.monotonic()
    pace = _Pace(plan.rate / plan.workers)
    counts: Counter[tuple[str, str]] = Counter()
    topics = target.topics
    for sent, change in enumerate(world.changes(count), start=1):
        key, value = encoder.encode(change)
        _send(producer, topics[change.table.name], key, value)
        counts[change.table.sobject, change.kind.value] += 1
        if sent % _PACE_EVERY == 0:
            if not wanted():
                raise GenerateError("stopped: nobody is waiting for this stream any more")
            pace.wait(sent)
            if sent % _SHOW_EVERY == 0:
                progress[shard.index] = sent
                show()
                producer.poll(0)
    left = producer.flush(_FLUSH_SECONDS)
    if left or failures:
        reason = failures[0].str() if failures else f"{left} records not acknowledged"
        raise GenerateError(f"Kafka did not take every record: {reason}")
    seconds = time.monotonic() - began
    progress[shard.index] = count
    show()
    return counts, seconds, world.expected()


def _send(producer: Producer, topic: str, key: bytes, value: bytes | None) -> None:
    while True:
        try:
            producer.produce(topic, value, key)
        except BufferError:
            producer.poll(0.05)  # the local queue is full: let librdkafka send some
        else:
            return


class _Pace:
    """Keeps a producer at `rate` records a second (0: no limit), by sleeping ahead of it."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._began = time.monotonic()

    def wait(self, sent: int) -> None:
        if self._rate <= 0:
            return
        ahead = sent / self._rate - (time.monotonic() - self._began)
        if ahead > 0:
            time.sleep(ahead)
