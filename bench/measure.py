"""What the benchmark measures: a contestant's process (CPU, peak RSS) and Kafka progress.

Each contestant runs as a process of its own. Its peak RSS is sampled with psutil (the
process and its children) every 50 ms: the kernel's ru_maxrss would not do, as Linux
carries the parent's RSS at fork into it. Its CPU time is the kernel's account when it
is reaped (os.wait4), children included, so nothing between two samples is missed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
from confluent_kafka import Consumer, KafkaException, TopicPartition

PY_SPY = Path(sys.executable).with_name("py-spy")


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU the processes have spent so far (their reaped children too)."""
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass(frozen=True)
class Usage:
    """What one process cost, from its start until it was reaped."""

    cpu_seconds: float
    peak_rss: int


class PeakRss:
    """Samples a process's RSS (its children's included) every 50 ms, in a thread."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            try:
                rss = self._process.memory_info().rss
                rss += sum(c.memory_info().rss for c in self._process.children(recursive=True))
            except psutil.Error:
                return  # it exited
            self._peak = max(self._peak, rss)

    def stop(self) -> int:
        """Stop sampling; the peak seen, in bytes."""
        self._stop.set()
        self._thread.join()
        return self._peak


class Watched:
    """A process started with its output in a log file, its RSS sampled every 50 ms.

    With `profile`, py-spy samples its stacks from outside (its own CPU is not counted)
    and writes them, collapsed, to that file when the process ends.
    """

    def __init__(self, command: Sequence[str], log: Path, profile: Path | None = None) -> None:
        with log.open("wb") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self._spy = None
        if profile is not None:
            self._spy = subprocess.Popen(
                [str(PY_SPY), "record", "--pid", str(self.proc.pid), "--format", "raw",
                 "--output", str(profile), "--nonblocking", "--idle"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        self.log = log
        self.started = time.monotonic()
        self._rss = PeakRss(self.proc.pid)

    def alive(self) -> bool:
        """Whether the process still runs (without reaping it)."""
        try:
            return psutil.Process(self.proc.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def stop(self, timeout: float = 120.0) -> Usage:
        """SIGTERM it (if it still runs), reap it, and return what it cost."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive():
            self.proc.kill()
        _pid, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        peak = self._rss.stop()
        if self._spy is not None:
            self._spy.wait(60)
        return Usage(usage.ru_utime + usage.ru_stime, peak)


class Offsets:
    """A topic's end offsets and a group's committed offsets, read without joining it."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
        )

    def partitions(self, topic: str) -> list[TopicPartition]:
        """The topic's partitions."""
        metadata = self._consumer.list_topics(topic, timeout=10).topics[topic]
        return [TopicPartition(topic, p) for p in sorted(metadata.partitions)]

    def end(self, topic: str) -> int:
        """Records in the topic: the high watermarks summed (the topic starts at 0)."""
        return sum(
            self._consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in self.partitions(topic)
        )

    def committed(self, topic: str) -> int:
        """The group's committed offsets summed; 0 where none is committed yet."""
        try:
            offsets = self._consumer.committed(self.partitions(topic), timeout=10)
        except KafkaException:
            return 0  # the coordinator is still being elected: ask again
        return sum(max(tp.offset, 0) for tp in offsets)

    def close(self) -> None:
        """Release the client."""
        self._consumer.close()


def wait_for(
    condition: Callable[[], bool], proc: Watched, timeout: float, what: str, every: float = 0.1
) -> float:
    """Poll until `condition` holds; the moment it did. Fails if the process dies first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if not proc.alive():
            raise RuntimeError(f"{what}: the process exited; see {proc.log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not done after {timeout:.0f}s; see {proc.log}")
        time.sleep(every)
    return time.monotonic()
