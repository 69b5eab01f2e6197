"""The Kafka consumer: polls SourceRecords, pauses and resumes, commits what it is told."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from connector.errors import CommitRefusedError, FatalError
from connector.records import Position, SourceRecord

log = logging.getLogger(__name__)

TP = tuple[str, int]
RebalanceCallback = Callable[[list[TP]], None]

# sfsink stores and commits offsets itself, only for records whose outcome is final.
_OWNED = {"enable.auto.commit": False, "enable.auto.offset.store": False}
_DEFAULTS = {
    "partition.assignment.strategy": "cooperative-sticky",
    "auto.offset.reset": "earliest",
    # librdkafka prefetches up to 64 MiB per consumer by default; the memory bound
    # would mean little with that much held outside it. 4 MiB keeps a fetch or two ahead
    # (24 MB less peak RSS than 16 MiB in the bench). With a small queue its threshold is
    # reached often, and librdkafka then waits fetch.queue.backoff.ms (1 s by default)
    # before fetching again: that halved the floor's rate until it was cut to 10 ms.
    "queued.max.messages.kbytes": 4096,
    "fetch.queue.backoff.ms": 10,
}


KafkaValue = str | int | float | bool
# Connection settings every client of the cluster shares; the rest are the consumer's own.
_SHARED_KEYS = ("bootstrap.servers", "security.protocol", "client.id", "client.dns.lookup")


def connection_settings(settings: Mapping[str, KafkaValue]) -> dict[str, KafkaValue]:
    """What a producer or an admin client needs from the consumer's settings to connect."""
    return {
        key: value
        for key, value in settings.items()
        if key in _SHARED_KEYS or key.startswith(("sasl.", "ssl."))
    }


# What the coordinator answers a commit made between a rebalance's start and this member's
# rejoining, which the next poll does (seen when a second member joins a busy group).
_REBALANCING = frozenset(
    {
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError._ASSIGNMENT_LOST,  # noqa: SLF001 - librdkafka's name
    }
)


def commit_refusal(error: KafkaError) -> CommitRefusedError | FatalError:
    """What a refused commit means: wait out a rebalance, or stop."""
    message = f"Kafka refused the offset commit: {error.str()}"
    if error.code() in _REBALANCING or error.retriable():
        return CommitRefusedError(message)
    return FatalError(message)


def consumer_config(settings: Mapping[str, object]) -> dict[str, object]:
    """The operator's librdkafka settings, our defaults under them, our ownership over them."""
    return {**_DEFAULTS, **settings, **_OWNED}


class Source:
    """One consumer in the group; rebalance callbacks run inside `poll`, on its thread."""

    def __init__(self, settings: Mapping[str, object], topics: Iterable[str]) -> None:
        self._consumer = Consumer(consumer_config(settings))
        self._topics = list(topics)
        self._on_assign: RebalanceCallback = _ignore
        self._on_revoke: RebalanceCallback = _ignore
        # Next offset per owned partition after the records handed out (librdkafka forgets
        # its own after the seek in `resume`).
        self._read_to: dict[TP, int] = {}

    def subscribe(self, on_assign: RebalanceCallback, on_revoke: RebalanceCallback) -> None:
        """Join the group; the callbacks run inside `poll` when partitions move."""
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._consumer.subscribe(
            self._topics,
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_lost=self._revoked,
        )

    def poll(self, timeout: float, max_records: int) -> list[SourceRecord]:
        """Up to `max_records` records, waiting at most `timeout` seconds for the first.

        librdkafka's batch consume waits until it has all `max_records` or the timeout
        passes, which on a steady stream held every record back for the whole timeout
        (a second of freshness lost per poll). So: what is queued now; if nothing, wait
        for one record, then take what arrived with it.
        """
        messages = self._consumer.consume(num_messages=max_records, timeout=0)
        if not messages:
            first = self._consumer.poll(timeout)
            if first is None:
                return []
            rest = max_records - 1
            messages = [first, *(self._consumer.consume(rest, timeout=0) if rest else [])]
        records = []
        for msg in messages:
            error = msg.error()
            if error is None:
                records.append(_record(msg))
            elif error.fatal():
                raise FatalError(f"Kafka consumer failed: {error.str()}")
            elif error.code() != KafkaError._PARTITION_EOF:  # noqa: SLF001 - librdkafka's name
                log.warning("Kafka consumer: %s", error.str())
        self._read_to.update({r.position.topic_partition: r.position.offset + 1 for r in records})
        return records

    def pause(self, partitions: Iterable[TP]) -> None:
        """Stop fetching these partitions; librdkafka drops what it fetched ahead of `poll`."""
        self._consumer.pause(_tps(partitions))

    def resume(self, partitions: Iterable[TP]) -> None:
        """Fetch these partitions again, from where `poll` left them, without delay.

        librdkafka's resume leaves the fetch to the broker thread's next look, and that
        thread, with nothing to fetch while the partitions were paused, looks once a
        second: the first records came 670 ms after a 300 ms pause, and the loop idled
        meanwhile, at every pause of a drain. A seek to the same offset changes the
        partition's fetch state, which wakes the thread: records come within 15 ms.
        """
        tps = _tps(partitions)
        self._consumer.resume(tps)
        for tp in tps:
            offset = self._read_to.get((tp.topic, tp.partition))
            if offset is None:  # nothing read yet: librdkafka looks its start up, at once
                continue
            try:
                self._consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            except KafkaException as exc:  # the partition is moving: resumed all the same
                log.debug("no seek on resuming %s: %s", tp, exc.args[0].str())

    def commit(self, offsets: Mapping[TP, int]) -> None:
        """Commit these next-offsets synchronously.

        CommitRefusedError when the group is moving on (a member joined or left and this
        one has not rejoined yet: the next poll does); FatalError for any other refusal.
        """
        if not offsets:
            return
        parts = [TopicPartition(topic, part, offset) for (topic, part), offset in offsets.items()]
        try:
            self._consumer.commit(offsets=parts, asynchronous=False)
        except KafkaException as exc:
            raise commit_refusal(exc.args[0]) from None

    def assignment(self) -> list[TP]:
        """The partitions this member owns now."""
        return [(tp.topic, tp.partition) for tp in self._consumer.assignment()]

    def lag(self) -> dict[TP, int]:
        """Records between this member's position and the end, per owned partition."""
        lags = {}
        for tp in self._consumer.assignment():
            read_to = self._read_to.get((tp.topic, tp.partition))
            _low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if read_to is not None and high >= 0:
                lags[(tp.topic, tp.partition)] = max(high - read_to, 0)
        return lags

    def close(self) -> None:
        """Leave the group (without committing: commits are explicit)."""
        self._consumer.close()

    def _assigned(self, _consumer: Any, partitions: list[TopicPartition]) -> None:  # noqa: ANN401 - librdkafka's callback signature
        self._on_assign([(tp.topic, tp.partition) for tp in partitions])

    def _revoked(self, _consumer: Any, partitions: list[TopicPartition]) -> None:  # noqa: ANN401 - librdkafka's callback signature
        revoked = [(tp.topic, tp.partition) for tp in partitions]
        self._on_revoke(revoked)
        for tp in revoked:
            self._read_to.pop(tp, None)


def _record(msg: Message[bytes, bytes]) -> SourceRecord:
    kind, timestamp = msg.timestamp()
    topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
    if topic is None or partition is None or offset is None:
        raise FatalError("librdkafka returned a record without topic, partition or offset")
    headers = msg.headers()
    return SourceRecord(
        position=Position(topic, partition, offset),
        key=msg.key(),
        value=msg.value(),
        headers=tuple((name, _bytes(value)) for name, value in header_items(headers))
        if headers
        else (),
        timestamp_ms=None if kind == TIMESTAMP_NOT_AVAILABLE else timestamp,
    )


def header_items(
    headers: dict[str, str | bytes | None] | list[tuple[str, str | bytes | None]],
) -> list[tuple[str, str | bytes | None]]:
    """A message's headers as pairs, whichever of its two shapes librdkafka returned."""
    return list(headers.items()) if isinstance(headers, dict) else headers


def _bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _ignore(_partitions: list[TP]) -> None:
    """Until the pipeline subscribes, nothing listens to rebalances."""


def _tps(partitions: Iterable[TP]) -> list[TopicPartition]:
    return [TopicPartition(topic, part) for topic, part in partitions]
