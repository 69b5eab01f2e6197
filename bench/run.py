"""`make bench`: sfsink next to the floor and the obvious alternative, on the local stack.

One topic of Debezium-style Avro change events (creates, updates, deletes) is produced
once through the schema registry; then, each from the start in its own consumer group
and as its own process:

1. floor: consume and decode with sfsink's parts, nothing written (bench/floor.py);
2. sfsink: the real `sfsink run`, until every record is committed;
3. the alternative: confluent-kafka and simple-salesforce's bulk2 (bench/alternative.py);

then sfsink on a paced stream (freshness), sfsink with a backlog ten times its buffer
bound (peak RSS), and the emulator's own processing rate. Kafka, the registry and the
emulator (rate limit off) are started on free ports unless given; the figures are printed
as one table with the targets of issue 7 (the benchmark never fails on them).

    make bench BENCH_ARGS="--records 100000"
    .venv/bin/python bench/run.py --report docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "local")]

import contestants  # noqa: E402 - after the path to the stack's modules
import report  # noqa: E402
import workload  # noqa: E402
from confluent_kafka import Consumer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from contestants import Stack  # noqa: E402
from org import Org  # noqa: E402
from registry import SchemaRegistryServer  # noqa: E402

from devstack import Emulator, KafkaBroker, free_port  # noqa: E402


def options(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--records", type=int, default=1_000_000, help="events in the shared topic")
    p.add_argument("--pace-rate", type=float, default=2_000, help="events/s of the paced run")
    p.add_argument("--pace-seconds", type=float, default=60, help="length of the paced run")
    p.add_argument(
        "--max-age", type=float, default=5.0, help="sfsink's max_age_seconds in every run"
    )
    p.add_argument("--emulator-rows", type=int, default=100_000, help="rows of the emulator job")
    p.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    p.add_argument("--registry", help="use this registry (Confluent API URL)")
    p.add_argument("--emulator-url", help="use this emulator (its rate limit off)")
    p.add_argument("--emulator-ca", type=Path, help="the CA file of --emulator-url")
    p.add_argument("--profile", action="store_true", help="py-spy each run (see the logs dir)")
    p.add_argument("--report", type=Path, help="also write the report, machine and command here")
    return p.parse_args(argv)


@contextmanager
def stack(args: argparse.Namespace, home: Path, logs: Path) -> Iterator[Stack]:
    """The parts not given on the command line, started on free ports, stopped after."""
    with ExitStack() as started:
        parts: list[KafkaBroker | SchemaRegistryServer | Emulator] = []
        bootstrap = args.bootstrap
        if bootstrap is None:
            broker = KafkaBroker(home / "kafka", free_port(), free_port())
            broker.start()
            started.callback(broker.stop)
            parts.append(broker)
            bootstrap = broker.bootstrap
        registry = args.registry
        if registry is None:
            server = SchemaRegistryServer(home / "registry", free_port())
            server.start()
            started.callback(server.stop)
            parts.append(server)
            registry = server.url
        if args.emulator_url is None:
            emulator = Emulator(home / "emulator", free_port())
            emulator.start()
            started.callback(emulator.stop)
            parts.append(emulator)
            org = Org(
                emulator.url,
                emulator.ca_file,
                emulator.client_id,
                emulator.client_secret,
                emulator.pid(),
            )
        else:
            org = Org(
                args.emulator_url, args.emulator_ca, "sfsink-emulator", "sfsink-emulator-secret"
            )
        neighbours = tuple(_pid(part) for part in parts)
        yield Stack(bootstrap, registry, org, logs, profile=args.profile, neighbours=neighbours)


def _pid(part: KafkaBroker | SchemaRegistryServer | Emulator) -> int:
    pid = part.pid()
    if pid is None:
        raise RuntimeError(f"{type(part).__name__} exited after it started; see {part.log_file}")
    return pid


def new_topic(bootstrap: str, name: str) -> str:
    """A single-partition topic (freshness is read per offset)."""
    topic = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    return topic


def record_bytes(bootstrap: str, topic: str, total: int) -> int:
    """The topic's key and value bytes, from the mean of its first 2,000 records."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    sizes: list[int] = []
    deadline = time.monotonic() + 60
    while len(sizes) < min(total, 2_000) and time.monotonic() < deadline:
        sizes += [
            len(m.key() or b"") + len(m.value() or b"")
            for m in consumer.consume(500, 1.0)
            if m.error() is None
        ]
    consumer.close()
    return int(sum(sizes) / len(sizes) * total)


def measure(args: argparse.Namespace, s: Stack) -> report.Figures:
    """Every run, in order, on one stack."""
    topic = new_topic(s.bootstrap, "input")
    produced = workload.produce(s.bootstrap, s.registry, topic, args.records)
    print(
        f"produced {produced.records:,} events in {produced.seconds:.1f}s "
        f"({produced.records / produced.seconds:,.0f}/s)",
        flush=True,
    )
    floor = contestants.floor(s, topic)
    print(f"floor: {floor.rate:,.0f} records/s", flush=True)
    age = {"max_age_seconds": args.max_age}
    sfsink = contestants.sfsink(s, topic, batching=age)
    print(f"sfsink: {sfsink.rate:,.0f} records/s", flush=True)
    alternative = contestants.alternative(s, topic)
    print(f"alternative: {alternative.rate:,.0f} records/s", flush=True)
    total = record_bytes(s.bootstrap, topic, args.records)
    bound = max(total // 10, 2**20)
    backlog = contestants.sfsink(s, topic, "sfsink-backlog", {**age, "max_buffered_bytes": bound})
    paced = new_topic(s.bootstrap, "paced")
    count = int(args.pace_rate * args.pace_seconds)
    fresh = contestants.freshness(
        s,
        paced,
        lambda: workload.produce(s.bootstrap, s.registry, paced, count, args.pace_rate),
        args.max_age,
    )
    emulator_rate, emulator_rss = s.org.processing_rate(args.emulator_rows)
    return report.Figures(
        floor=floor,
        sfsink=sfsink,
        alternative=alternative,
        freshness=fresh,
        max_age=args.max_age,
        pace=f"{args.pace_rate:,.0f} events/s for {args.pace_seconds:g} s",
        backlog=backlog,
        backlog_bound=bound,
        backlog_bytes=total,
        emulator_rate=emulator_rate,
        emulator_rss=emulator_rss,
        emulator_rows=args.emulator_rows,
        cores=len(os.sched_getaffinity(0)),
    )


def main(argv: list[str] | None = None) -> int:
    """Start what is missing, run everything, print (and maybe write) the report."""
    args = options(argv)
    logs = ROOT / ".local" / "bench" / time.strftime("%Y%m%dT%H%M%S")
    logs.mkdir(parents=True)
    print(f"logs and configs in {logs}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="sfsink-bench-") as tmp,
        stack(args, Path(tmp), logs) as s,
    ):
        figures = measure(args, s)
    text = report.render(figures)
    print(text)
    if args.report is not None:
        command = " ".join([".venv/bin/python bench/run.py", *map(shlex.quote, sys.argv[1:])])
        report.write(args.report, command, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
