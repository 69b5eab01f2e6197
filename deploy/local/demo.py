"""`make demo`: sfsink doing its real job on the local stack, end to end, and checked.

It empties the org, recreates the topics and forgets the consumer group, starts
`sfsink run` (a child process, stopped by its pid), produces a generated Debezium stream
(`sfsink generate`), follows the connector's /metrics with a progress bar until the group
has no lag and every record is final, prints a report, and compares the org with the
state the generator expects: exit 0 when they match, 1 when not. Ctrl-C stops the
connector and the generator's processes and exits 130.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from connector.config import Config, load_config
from connector.generate.expected import Comparison, compare
from connector.generate.produce import Outcome, Plan, Target, generate
from connector.generate.tables import TABLES
from devstack import LOCAL, ROOT, stack_broker, stack_emulator, stack_registry

CONFIG = ROOT / "deploy" / "local" / "sfsink.yaml"
_POLL = 0.5  # seconds between two scrapes of /metrics
_BAR = 30


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and where to look."""


@dataclass(frozen=True)
class Stack:
    """Where the parts run: the local stack's fixed ports, or a test session's."""

    bootstrap: str
    registry_url: str
    emulator_url: str
    ca_file: Path
    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def local(cls) -> Stack:
        """The stack of `make up`."""
        emulator = stack_emulator()
        return cls(
            bootstrap=stack_broker().bootstrap,
            registry_url=stack_registry().url,
            emulator_url=emulator.url,
            ca_file=emulator.ca_file,
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
        )


@dataclass(frozen=True)
class Options:
    """How big and how fast, and where the run keeps its files."""

    count: int = 20_000
    rate: float = 0.0
    seed: int = 1
    workers: int = 2
    partitions: int = 3
    metrics_port: int = 9464
    timeout: float = 900.0
    state: Path = LOCAL / "demo"
    config: Path = CONFIG
    overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Run:
    """What the demo learns while it runs."""

    outcome: Outcome | None = None
    failure: BaseException | None = None
    produced: int = 0
    began: float = field(default_factory=time.monotonic)


def run(stack: Stack, options: Options) -> int:
    """The whole demo; the exit code."""
    environ = {**connector_environment(stack, options), **options.overrides}
    config = load_config(options.config, environ)
    options.state.mkdir(parents=True, exist_ok=True)
    reset(stack, config, options.partitions)
    connector = start_connector(options, environ)
    try:
        state = _Run()
        producer = threading.Thread(
            target=_produce, args=(stack, config, options, state), daemon=True
        )
        producer.start()
        samples = follow(config, options, connector, state)
        (options.state / "metrics.txt").write_text(samples.text)
    finally:
        stop_connector(connector)
    assert state.outcome is not None  # noqa: S101 - follow() returns only once it is set
    comparison = compare(state.outcome.expected, org_records(stack))
    print(report(stack, options, state, samples, comparison))
    return 0 if comparison.matches else 1


def connector_environment(stack: Stack, options: Options) -> dict[str, str]:
    """The SFSINK_* overrides that point deploy/local/sfsink.yaml at `stack`."""
    return {
        "SFSINK_KAFKA__CONSUMER__BOOTSTRAP_SERVERS": stack.bootstrap,
        "SFSINK_SALESFORCE__LOGIN_URL": stack.emulator_url,
        "SFSINK_SALESFORCE__CA_BUNDLE": str(stack.ca_file),
        "SFSINK_SALESFORCE__AUTH__CLIENT_ID": stack.client_id,
        "SFSINK_SALESFORCE__AUTH__CLIENT_SECRET": stack.client_secret,
        "SFSINK_AVRO__REGISTRY_URL": stack.registry_url,
        "SFSINK_METRICS__PORT": str(options.metrics_port),
    }


def reset(stack: Stack, config: Config, partitions: int) -> None:
    """An empty org, fresh topics, and a consumer group with no offsets."""
    with _emulator(stack) as session:
        session.post(f"{stack.emulator_url}/__emulator/reset", timeout=30).raise_for_status()
    admin = AdminClient({"bootstrap.servers": stack.bootstrap})
    topics = [*config.kafka.topics, config.dead_letter.topic]
    existing = [t for t in topics if t in admin.list_topics(timeout=10).topics]
    if existing:
        for future in admin.delete_topics(existing).values():
            future.result(timeout=30)
        _wait(lambda: not set(existing) & set(admin.list_topics(timeout=10).topics), "deletion")
    group = str(config.kafka.consumer["group.id"])
    try:
        for future in admin.delete_consumer_groups([group]).values():
            future.result(timeout=30)
    except KafkaException:
        pass  # no such group yet
    new = [NewTopic(t, partitions, 1) for t in config.kafka.topics]
    for future in admin.create_topics([*new, NewTopic(config.dead_letter.topic, 1, 1)]).values():
        future.result(timeout=30)


def start_connector(options: Options, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """`sfsink run` in its own session (Ctrl-C reaches us, and we stop it by its pid)."""
    log = (options.state / "sfsink.log").open("wb")
    command = [sys.executable, "-c", "from connector.cli import main; raise SystemExit(main())"]
    child = subprocess.Popen(
        [*command, "run", "--config", str(options.config)],
        cwd=ROOT,
        env={**os.environ, **environ},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    try:
        _wait_healthy(child, options)
    except BaseException:
        stop_connector(child)  # Ctrl-C while it starts stops it too
        raise
    return child


def _wait_healthy(child: subprocess.Popen[bytes], options: Options) -> None:
    url = f"http://127.0.0.1:{options.metrics_port}/healthz"
    deadline = time.monotonic() + 60
    while not _answers(url):
        if child.poll() is not None or time.monotonic() > deadline:
            raise DemoError(f"sfsink run did not start; see {options.state / 'sfsink.log'}")
        time.sleep(0.2)


def stop_connector(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM (sfsink drains and commits), then SIGKILL if it lingers."""
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _produce(stack: Stack, config: Config, options: Options, state: _Run) -> None:
    topics = {t.name: _topic(config, t.sobject) for t in TABLES}
    target = Target(stack.bootstrap, topics, "avro", stack.registry_url)
    plan = Plan(options.count, options.seed, options.rate, workers=options.workers)

    def progress(sent: int) -> None:
        state.produced = sent

    try:
        state.outcome = generate(target, plan, progress)
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        state.failure = exc


def _topic(config: Config, sobject: str) -> str:
    return next(r.topic for r in config.routes if r.sobject == sobject and r.topic is not None)


@dataclass(frozen=True)
class Samples:
    """One scrape of /metrics: every sample by name, and the text itself."""

    text: str
    values: Mapping[str, tuple[tuple[Mapping[str, str], float], ...]]

    def total(self, name: str) -> float:
        """The sum of a metric's samples."""
        return sum(value for _, value in self.values.get(name, ()))

    def by(self, name: str, *labels: str) -> Counter[tuple[str, ...]]:
        """A metric summed by some of its labels."""
        out: Counter[tuple[str, ...]] = Counter()
        for sample_labels, value in self.values.get(name, ()):
            out[tuple(sample_labels.get(label, "") for label in labels)] += int(value)
        return out


def scrape(port: int) -> Samples:
    """The connector's metrics now."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    values: dict[str, list[tuple[Mapping[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values.setdefault(sample.name, []).append((sample.labels, sample.value))
    return Samples(text, {name: tuple(v) for name, v in values.items()})


def follow(
    config: Config, options: Options, connector: subprocess.Popen[bytes], state: _Run
) -> Samples:
    """Draw progress until the stream is produced, final and committed; the last scrape."""
    deadline = state.began + options.timeout
    while True:
        if state.failure is not None:
            raise DemoError(f"the generator failed: {state.failure}")
        if connector.poll() is not None:
            raise DemoError(f"sfsink run exited with {connector.returncode}; see its log")
        samples = scrape(options.metrics_port)
        final = sum(
            samples.total(f"sfsink_records_{name}_total")
            for name in ("applied", "superseded", "dead_lettered")
        )
        _draw(options.count, state.produced, int(final), samples, state.began)
        outcome = state.outcome
        if outcome is not None and final >= outcome.records and _no_lag(config):
            print(file=sys.stderr)
            return samples
        if time.monotonic() > deadline:
            raise DemoError(f"not caught up after {options.timeout:.0f}s; see the connector's log")
        time.sleep(_POLL)


def _draw(count: int, produced: int, final: int, samples: Samples, began: float) -> None:
    done = final / count if count else 1.0
    filled = int(min(done, 1.0) * _BAR)
    bar = "#" * filled + "." * (_BAR - filled)
    dead = int(samples.total("sfsink_records_dead_lettered_total"))
    rate = final / max(time.monotonic() - began, 1e-9)
    print(
        f"\r[{bar}] {done:4.0%}  produced {produced:,}  final {final:,} of {count:,}"
        f"  dead-lettered {dead:,}  {rate:,.0f}/s ",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _no_lag(config: Config) -> bool:
    """Whether the group's committed offsets reach the end of every partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": str(config.kafka.consumer["bootstrap.servers"]),
            "group.id": str(config.kafka.consumer["group.id"]),
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = [
            TopicPartition(topic, p)
            for topic in config.kafka.topics
            for p in metadata.topics[topic].partitions
        ]
        committed = consumer.committed(partitions, timeout=10)
        ends = [consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in committed]
    except KafkaException:
        return False  # the coordinator is busy: ask again on the next turn
    finally:
        consumer.close()
    return all(end == 0 or tp.offset >= end for tp, end in zip(committed, ends, strict=True))


def org_records(stack: Stack) -> dict[str, list[dict[str, object]]]:
    """Every record of the generator's objects, deleted ones included."""
    with _emulator(stack) as session:
        return {
            table.sobject: session.get(
                f"{stack.emulator_url}/__emulator/records/{table.sobject}", timeout=120
            ).json()["records"]
            for table in TABLES
        }


def api_calls(stack: Stack) -> dict[str, object]:
    """The emulator's count of calls by endpoint class, and the allocations used."""
    with _emulator(stack) as session:
        body: dict[str, object] = session.get(
            f"{stack.emulator_url}/__emulator/calls", timeout=30
        ).json()
        return body


def report(
    stack: Stack, options: Options, state: _Run, samples: Samples, comparison: Comparison
) -> str:
    """The short report: in, written, dead-lettered, jobs, calls, time, metrics, verdict."""
    outcome = state.outcome
    assert outcome is not None  # noqa: S101 - only reported once produced
    elapsed = time.monotonic() - state.began
    calls = api_calls(stack)
    lines = [
        (
            f"events in       {outcome.records:,} produced in {outcome.seconds:.1f}s "
            f"({outcome.records / max(outcome.seconds, 1e-9):,.0f}/s)"
        ),
        *_table(Counter(outcome.by_kind)),
        "written         (sfsink_records_applied_total)",
        *_table(samples.by("sfsink_records_applied_total", "object", "operation")),
        (
            f"superseded      {int(samples.total('sfsink_records_superseded_total')):,} "
            "(merged into a later change of their key)"
        ),
        "dead-lettered   (sfsink_records_dead_lettered_total, by reason)",
        *_table(samples.by("sfsink_records_dead_lettered_total", "reason")),
        "bulk jobs       (sfsink_bulk_jobs_total)",
        *_table(samples.by("sfsink_bulk_jobs_total", "object", "operation", "state")),
        (
            f"api calls       {calls.get('api_requests')} API requests, "
            f"{calls.get('bulk_batches')} Bulk batches; by endpoint: {calls.get('calls')}"
        ),
        f"elapsed         {elapsed:.1f}s from the first record to the last commit",
        (
            f"metrics         were on http://127.0.0.1:{options.metrics_port}/metrics; last "
            f"scrape in {options.state / 'metrics.txt'}, log in {options.state / 'sfsink.log'}"
        ),
    ]
    if comparison.matches:
        present = sum(outcome.expected.present(t.sobject) for t in TABLES)
        lines.append(
            f"org check       MATCH: {comparison.checked:,} external ids as expected "
            f"({present:,} records present, {comparison.checked - present:,} absent)"
        )
    else:
        lines.append(f"org check       MISMATCH: {comparison.differences:,} differences")
        lines += [f"  {line}" for line in comparison.shown]
    return "\n".join(lines)


def _table(counts: Counter[tuple[str, ...]]) -> list[str]:
    return [f"  {' '.join(key):<40} {n:>12,}" for key, n in sorted(counts.items()) if n]


def _emulator(stack: Stack) -> requests.Session:
    session = requests.Session()
    session.verify = str(stack.ca_file)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    return session


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - our own http URL
            return bool(answer.status == 200)  # noqa: PLR2004 - HTTP OK
    except (urllib.error.URLError, OSError):
        return False


def _wait(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise DemoError(f"Kafka did not finish the topic {what} in {timeout:.0f}s")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    """`demo.py [--count N] [--rate R] [--seed S]` on the stack of `make up`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=Options.count, help="Kafka records")
    parser.add_argument("--rate", type=float, default=Options.rate, help="records/s, 0: at once")
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument("--workers", type=int, default=Options.workers)
    args = parser.parse_args(argv)
    options = Options(count=args.count, rate=args.rate, seed=args.seed, workers=args.workers)
    # Ctrl-C, or SIGTERM, unwinds through run(), which stops the connector by its pid; a
    # shell that started us in the background may have set SIGINT to be ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return run(Stack.local(), options)
    except KeyboardInterrupt:
        print("\ninterrupted: the connector and the generator are stopped", file=sys.stderr)
        return 130
    except DemoError as exc:
        print(f"\ndemo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
