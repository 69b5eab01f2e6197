"""Reads dead letters back, to send them through the pipeline again or to keep them in a file.

A dead letter carries its origin in Kafka Connect's headers (`__connect.errors.topic`,
`.partition`, `.offset`); replaying produces the original key, value and headers to that
topic, so the running connector consumes it like any new event. The dead-letter topic is
only read (never committed to, never changed): a replay can be repeated, and a record
replayed twice is written twice, which upserts and deletes absorb.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from connector.deadletter import CONNECT_PREFIX, SFSINK_PREFIX, producer_config
from connector.errors import ReplayError
from connector.records import Position
from connector.source import KafkaValue, connection_settings, header_items

REPLAYED_FROM = "sfsink.replayed.from"
Header = tuple[str, bytes | None]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which dead letters to read: a topic, optionally one partition, an offset range, reasons.

    Offsets are inclusive at both ends and apply to each selected partition.
    """

    topic: str
    partition: int | None = None
    from_offset: int | None = None
    to_offset: int | None = None
    reasons: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One dead letter: where it sits, the original record, and why it failed."""

    position: Position
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...]
    errors: Mapping[str, str]

    @property
    def reason(self) -> str:
        """The reason category sfsink gave, or "unknown" for a record another tool dead-lettered."""
        return self.errors.get(f"{SFSINK_PREFIX}reason", "unknown")

    @property
    def origin_topic(self) -> str | None:
        """The topic the record was first consumed from."""
        return self.errors.get(f"{CONNECT_PREFIX}topic")


def read(
    settings: Mapping[str, KafkaValue], selection: Selection, idle_timeout: float = 30.0
) -> Iterator[DeadLetterRecord]:
    """The selected dead letters, partition by partition in offset order, up to today's end.

    The end is fixed when reading starts, so records dead-lettered meanwhile (by a
    replay that fails again, say) are left for the next replay rather than looped over.

    Raises:
        ReplayError: the topic or partition does not exist, or Kafka sent nothing for
            `idle_timeout` seconds while records were still due.
    """
    consumer = Consumer(
        {
            **connection_settings(settings),
            "group.id": "sfsink-replay-dlq",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        ranges = _ranges(consumer, selection)
        if not ranges:
            return
        consumer.assign(
            [TopicPartition(selection.topic, p, start) for p, (start, _) in ranges.items()]
        )
        yield from _consume(consumer, selection, ranges, idle_timeout)
    finally:
        consumer.close()


def _ranges(consumer: Consumer, selection: Selection) -> dict[int, tuple[int, int]]:
    """Per partition, the first and last offset to read (inclusive); empty ones left out."""
    topics = consumer.list_topics(selection.topic, timeout=10).topics
    meta = topics.get(selection.topic)
    if meta is None or meta.error is not None or not meta.partitions:
        raise ReplayError(f"dead-letter topic {selection.topic} does not exist")
    partitions = sorted(meta.partitions)
    if selection.partition is not None:
        if selection.partition not in meta.partitions:
            raise ReplayError(
                f"dead-letter topic {selection.topic} has no partition {selection.partition} "
                f"(it has {len(partitions)})"
            )
        partitions = [selection.partition]
    ranges = {}
    for partition in partitions:
        low, high = consumer.get_watermark_offsets(
            TopicPartition(selection.topic, partition), timeout=10
        )
        first = max(low, selection.from_offset if selection.from_offset is not None else low)
        last = high - 1 if selection.to_offset is None else min(high - 1, selection.to_offset)
        if first <= last:
            ranges[partition] = (first, last)
    return ranges


def _consume(
    consumer: Consumer,
    selection: Selection,
    ranges: dict[int, tuple[int, int]],
    idle_timeout: float,
) -> Iterator[DeadLetterRecord]:
    due = dict(ranges)
    quiet_since = time.monotonic()
    while due:
        if time.monotonic() - quiet_since > idle_timeout:
            raise ReplayError(
                f"Kafka sent nothing for {idle_timeout:.0f}s with partitions "
                f"{sorted(due)} of {selection.topic} not read to their end"
            )
        for msg in consumer.consume(num_messages=500, timeout=1.0):
            quiet_since = time.monotonic()
            partition, offset = msg.partition(), msg.offset()
            if partition not in due or offset is None:
                continue
            error = msg.error()
            last = due[partition][1]
            if error is not None and error.code() != KafkaError._PARTITION_EOF:  # noqa: SLF001 - librdkafka's name
                raise ReplayError(f"reading {selection.topic}: {error.str()}")
            if error is None and offset <= last:
                record = _dead_letter(msg)
                if not selection.reasons or record.reason in selection.reasons:
                    yield record
            if error is not None or offset >= last:
                del due[partition]  # compaction or transaction markers may skip `last` itself


def _dead_letter(msg: Message[bytes, bytes]) -> DeadLetterRecord:
    kept: list[Header] = []
    errors: dict[str, str] = {}
    for name, value in header_items(msg.headers() or []):
        raw = value.encode() if isinstance(value, str) else value
        if name.startswith((CONNECT_PREFIX, SFSINK_PREFIX)):
            errors[name] = (raw or b"").decode("utf-8", "replace")
        else:
            kept.append((name, raw))
    return DeadLetterRecord(
        position=Position(msg.topic() or "", msg.partition() or 0, msg.offset() or 0),
        key=msg.key(),
        value=msg.value(),
        headers=tuple(kept),
        errors=errors,
    )


class TopicReplayer:
    """Produces dead letters back to their origin topic (or one given topic), acks awaited."""

    def __init__(self, settings: Mapping[str, KafkaValue], to_topic: str | None = None) -> None:
        self._producer = Producer(producer_config(settings))
        self._to_topic = to_topic
        self._failed: list[str] = []

    def send(self, record: DeadLetterRecord) -> str:
        """Queue one record; returns the topic it goes to.

        Raises:
            ReplayError: the record names no origin and no target topic was given.
        """
        topic = self._to_topic or record.origin_topic
        if topic is None:
            raise ReplayError(
                f"dead letter at {record.position} has no {CONNECT_PREFIX}topic header: "
                "give the topic to replay it to (--to-topic)"
            )
        where = f"{record.position.topic}/{record.position.partition}/{record.position.offset}"
        headers = [(n, v) for n, v in record.headers if n != REPLAYED_FROM]
        while True:
            try:
                self._producer.produce(
                    topic,
                    key=record.key,
                    value=record.value,
                    headers=[*headers, (REPLAYED_FROM, where.encode())],
                    on_delivery=self._delivered,
                )
            except BufferError:
                self._producer.poll(0.1)
            else:
                return topic

    def finish(self, timeout: float = 60.0) -> None:
        """Wait until Kafka has acknowledged every record sent.

        Raises:
            ReplayError: some were not acknowledged (they may be sent again safely).
        """
        remaining = self._producer.flush(timeout)
        if self._failed or remaining:
            detail = self._failed[0] if self._failed else f"{remaining} unacknowledged"
            raise ReplayError(f"Kafka did not take every replayed record: {detail}")

    def _delivered(self, error: KafkaError | None, _msg: Message[bytes, bytes]) -> None:
        if error is not None:
            self._failed.append(error.str())


def write_json_line(record: DeadLetterRecord, out: IO[str]) -> None:
    """One dead letter as a JSON line: bytes in base64, the error headers as text."""
    line = {
        "dead_letter": {
            "topic": record.position.topic,
            "partition": record.position.partition,
            "offset": record.position.offset,
        },
        "reason": record.reason,
        "errors": dict(record.errors),
        "key": _b64(record.key),
        "value": _b64(record.value),
        "headers": [[name, _b64(value)] for name, value in record.headers],
    }
    out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")
