"""The consumer wrapper on a real broker: records, commits, pause/resume, rebalances."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Producer

from connector.records import SourceRecord
from connector.source import Source


def produce(bootstrap: str, topic: str, count: int, partitions: int = 1, pad: int = 0) -> None:
    """`count` records spread round-robin over `partitions`, with a header each.

    Values are "v<i>", followed by `pad` x's.
    """
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        producer.produce(
            topic,
            key=f"k{i}",
            value=f"v{i}" + "x" * pad,
            partition=i % partitions,
            headers=[("n", str(i).encode())],
            timestamp=1_000 + i,
        )
    assert producer.flush(30) == 0


class Member:
    """A Source plus what its rebalance callbacks reported."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.assigned: list[tuple[str, int]] = []
        self.revoked: list[tuple[str, int]] = []
        self.source = Source({"bootstrap.servers": bootstrap, "group.id": group}, [topic])
        self.source.subscribe(on_assign=self.assigned.extend, on_revoke=self.revoked.extend)

    def take(self, count: int, rounds: int = 60) -> list[SourceRecord]:
        """Poll until `count` records came (or the rounds run out)."""
        got: list[SourceRecord] = []
        for _ in range(rounds):
            got += self.source.poll(0.25, max_records=count - len(got) or 1)
            if len(got) >= count:
                break
        return got


def test_records_carry_position_bytes_headers_and_timestamp(
    kafka_bootstrap: str, topic: str
) -> None:
    """A polled SourceRecord is the Kafka record, whole."""
    produce(kafka_bootstrap, topic, 3)
    member = Member(kafka_bootstrap, topic, uuid.uuid4().hex)
    records = member.take(3)
    member.source.close()
    assert [(r.position.offset, r.key, r.value) for r in records] == [
        (0, b"k0", b"v0"),
        (1, b"k1", b"v1"),
        (2, b"k2", b"v2"),
    ]
    assert records[2].headers == (("n", b"2"),)
    assert records[2].timestamp_ms == 1_002
    assert member.assigned == [(topic, 0)]


def test_commit_is_where_a_new_member_resumes(kafka_bootstrap: str, topic: str) -> None:
    """Only the committed prefix is skipped by the next member of the group."""
    produce(kafka_bootstrap, topic, 6)
    group = uuid.uuid4().hex
    first = Member(kafka_bootstrap, topic, group)
    assert len(first.take(6)) == 6
    first.source.commit({(topic, 0): 4})
    first.source.close()
    second = Member(kafka_bootstrap, topic, group)
    resumed = second.take(2)
    second.source.close()
    assert [r.position.offset for r in resumed] == [4, 5]


def test_paused_partitions_deliver_nothing_until_resumed(kafka_bootstrap: str, topic: str) -> None:
    """Pause holds new fetches back; resume lets them through."""
    member = Member(kafka_bootstrap, topic, uuid.uuid4().hex)
    produce(kafka_bootstrap, topic, 1)
    assert len(member.take(1)) == 1
    member.source.pause([(topic, 0)])
    produce(kafka_bootstrap, topic, 2)
    assert member.take(2, rounds=8) == []
    member.source.resume([(topic, 0)])
    assert [r.position.offset for r in member.take(2)] == [1, 2]
    assert member.source.lag() == {(topic, 0): 0}
    member.source.close()


def test_pausing_mid_stream_loses_and_repeats_nothing(kafka_bootstrap: str, topic: str) -> None:
    """Paused every 50 records (librdkafka drops what it fetched ahead), resumed: 0..399."""
    produce(kafka_bootstrap, topic, 400)
    member = Member(kafka_bootstrap, topic, uuid.uuid4().hex)
    offsets: list[int] = []
    while len(offsets) < 400:
        offsets += [r.position.offset for r in member.take(50)]
        member.source.pause([(topic, 0)])
        assert member.take(1, rounds=2) == []
        member.source.resume([(topic, 0)])
    assert offsets == list(range(400))
    assert member.source.lag() == {(topic, 0): 0}
    member.source.close()


def test_a_resumed_partition_is_fetched_again_at_once(kafka_bootstrap: str, topic: str) -> None:
    """Records come within a fraction of a second of a resume.

    Paused with its 4 MiB fetch queue full, far from the end of the log (as in a drain),
    librdkafka alone fetches at its broker thread's next look, about a second after the
    pause: 700 ms after the resume here.
    """
    produce(kafka_bootstrap, topic, 6_000, pad=1_000)
    member = Member(kafka_bootstrap, topic, uuid.uuid4().hex)
    waits = []
    for _ in range(3):
        assert len(member.take(100)) == 100
        member.source.pause([(topic, 0)])
        assert member.take(1, rounds=1) == []
        member.source.resume([(topic, 0)])
        resumed = time.monotonic()
        while not member.source.poll(0.01, 100):
            assert time.monotonic() - resumed < 10, "nothing came after the resume"
        waits.append(time.monotonic() - resumed)
    member.source.close()
    assert sorted(waits)[1] < 0.3, waits


def test_two_members_share_partitions_cooperatively(kafka_bootstrap: str, topic_factory) -> None:
    """A second member takes some partitions; the first gives up only those."""
    topic = topic_factory(partitions=4)
    group = uuid.uuid4().hex
    produce(kafka_bootstrap, topic, 8, partitions=4)
    first = Member(kafka_bootstrap, topic, group)
    assert len(first.take(8)) == 8
    assert sorted(first.assigned) == [(topic, p) for p in range(4)]
    second = Member(kafka_bootstrap, topic, group)
    for _ in range(80):
        first.take(1, rounds=1)
        second.take(1, rounds=1)
        if second.assigned and first.revoked:
            break
    assert sorted(first.revoked) == sorted(second.assigned)
    assert len(second.assigned) == 2
    assert sorted(first.source.assignment() + second.source.assignment()) == [
        (topic, p) for p in range(4)
    ]
    second.source.close()
    first.source.close()


def test_a_poll_hands_over_what_arrived_without_waiting_for_a_full_batch(
    kafka_bootstrap: str, topic: str
) -> None:
    """Fewer records than asked for come back when they arrive, not when the timeout ends.

    librdkafka's batch consume waits for the whole count or the timeout; on a steady
    stream that held every record back a full poll timeout (freshness lost per poll).
    """
    member = Member(kafka_bootstrap, topic, uuid.uuid4().hex)
    produce(kafka_bootstrap, topic, 3)
    got: list[SourceRecord] = []
    started = time.monotonic()
    while len(got) < 3 and time.monotonic() - started < 30:
        got += member.source.poll(30.0, max_records=5_000)
    assert len(got) == 3
    assert time.monotonic() - started < 15, "the poll waited for 5,000 records"
    member.source.close()
