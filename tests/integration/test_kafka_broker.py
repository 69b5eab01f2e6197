"""The test broker is a real Apache Kafka, and the client library round-trips through it."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.support.kafka_protocol import probe


def produce(bootstrap: str, topic: str, count: int, start: int = 0) -> None:
    """Produce keys k<start>.. with values v<start>.. and wait for every ack."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(start, start + count):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0


def consume(consumer: Consumer, count: int) -> list[tuple[bytes, bytes, int]]:
    """Poll until `count` messages arrived; fail rather than wait forever."""
    got: list[tuple[bytes, bytes, int]] = []
    for _ in range(200):
        if len(got) == count:
            break
        for msg in consumer.consume(num_messages=count - len(got), timeout=0.5):
            assert msg.error() is None, msg.error()
            got.append((msg.key(), msg.value(), msg.offset()))
    return got


def group_consumer(bootstrap: str, group: str) -> Consumer:
    """A consumer that commits only when told to, as sfsink's does."""
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
    )


def test_fixture_is_apache_kafka(kafka_bootstrap: str, kafka_admin: AdminClient) -> None:
    """The broker has a KRaft cluster id and speaks as an Apache Kafka 4.x broker."""
    cluster = kafka_admin.describe_cluster(request_timeout=10).result(timeout=30)
    assert len(cluster.cluster_id) == 22
    assert len(cluster.nodes) == 1
    versions = probe(kafka_bootstrap)
    # metadata.version 4.0-IV3 is level 25; only Apache Kafka 4.x brokers finalize levels
    # at or past it, and share groups (ShareFetch, key 78) arrived with 4.x too.
    assert versions.finalized_features["metadata.version"] >= 25
    assert 78 in versions.api_keys
    # KIP-896: 4.x no longer serves Fetch below version 4 (3.x still did).
    assert versions.api_keys[1][0] >= 4


def test_round_trip_with_group_commit_and_resume(kafka_bootstrap: str, topic: str) -> None:
    """A group commits after 5 of 10 records; a restarted member resumes at record 5."""
    produce(kafka_bootstrap, topic, 10)
    group = f"g-{uuid.uuid4().hex[:8]}"

    first = group_consumer(kafka_bootstrap, group)
    first.subscribe([topic])
    got = consume(first, 10)
    assert [key for key, _, _ in got] == [f"k{i}".encode() for i in range(10)]
    assert got[4][1] == b"v4"
    first.commit(offsets=[TopicPartition(topic, 0, got[4][2] + 1)], asynchronous=False)
    first.close()

    second = group_consumer(kafka_bootstrap, group)
    committed = second.committed([TopicPartition(topic, 0)], timeout=10)
    assert committed[0].offset == 5
    second.subscribe([topic])
    resumed = consume(second, 5)
    second.close()
    assert [key for key, _, _ in resumed] == [f"k{i}".encode() for i in range(5, 10)]
    assert [offset for _, _, offset in resumed] == list(range(5, 10))


def test_unknown_topic_is_reported_not_invented(kafka_bootstrap: str) -> None:
    """Asking a consumer for a topic that was never created yields an error, not silence."""
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"g-{uuid.uuid4().hex[:8]}",
            "allow.auto.create.topics": False,
        }
    )
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    consumer.subscribe([missing])
    errors = []
    for _ in range(40):
        msg = consumer.poll(0.25)
        if msg is not None and msg.error() is not None:
            errors.append(msg.error().code())
            break
    consumer.close()
    assert errors == [KafkaError.UNKNOWN_TOPIC_OR_PART]
