"""`make bench`: measurements on real parts, printed as one table.

For now it measures the Kafka floor, the cost no connector avoids: producing a topic of
N records and consuming it back with confluent-kafka, on a private broker. The connector
benchmarks (issue 7) join this table side by side, so their ratios come from one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from confluent_kafka import Consumer, Producer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy" / "local"))
from devstack import KafkaBroker, free_port


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    name: str
    records: int
    seconds: float
    cpu_seconds: float

    def render(self) -> str:
        """Records/s and CPU seconds per million records."""
        rate = self.records / self.seconds
        cpu_per_million = self.cpu_seconds * 1_000_000 / self.records
        return f"{self.name:<24}{self.records:>10}{rate:>14,.0f}{cpu_per_million:>16.1f}"


def cpu_seconds() -> float:
    """CPU time of this process so far (user + system)."""
    times = psutil.Process(os.getpid()).cpu_times()
    return times.user + times.system


def produce(bootstrap: str, topic: str, count: int, size: int) -> Row:
    """Produce `count` records of `size` bytes and wait for every ack."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    payload = b"x" * size
    began, cpu = time.monotonic(), cpu_seconds()
    for i in range(count):
        while True:
            try:
                producer.produce(topic, key=str(i).encode(), value=payload)
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush()
    return Row("kafka produce", count, time.monotonic() - began, cpu_seconds() - cpu)


def consume(bootstrap: str, topic: str, count: int) -> Row:
    """Consume the topic from the start until `count` records arrived.

    The clock starts at the first record, so the group join is not counted as throughput.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-floor",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    began, cpu = 0.0, 0.0
    while seen < count:
        for msg in consumer.consume(num_messages=10_000, timeout=1.0):
            if msg.error() is None:
                if seen == 0:
                    began, cpu = time.monotonic(), cpu_seconds()
                seen += 1
    elapsed = time.monotonic() - began
    consumer.close()
    return Row("kafka consume (floor)", count, elapsed, cpu_seconds() - cpu)


def main() -> int:
    """Start a private broker, run each benchmark, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=600, help="bytes per record value")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sfsink-bench-") as home:
        broker = KafkaBroker(Path(home), free_port(), free_port())
        broker.start()
        try:
            rows = [
                produce(broker.bootstrap, "bench", args.records, args.size),
                consume(broker.bootstrap, "bench", args.records),
            ]
        finally:
            broker.stop()
    print(f"{'benchmark':<24}{'records':>10}{'records/s':>14}{'CPU s per 1M':>16}")
    for row in rows:
        print(row.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
