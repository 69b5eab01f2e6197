"""The dead-letter producer against a real broker: acked before it returns, or it raises."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, Producer

from connector.deadletter import DeadLetter, Failure, Stage, producer_config
from connector.errors import DeadLetterUnavailableError, RetriableError
from connector.records import Position, SourceRecord
from devstack import free_port


def poison(offset: int) -> Failure:
    """An undecodable record from topic src."""
    record = SourceRecord(Position("src", 0, offset), b"key", b"\x00bad", (("h", b"1"),), 1_700_000)
    return Failure(
        record,
        Stage.VALUE_CONVERTER,
        "connector.decode",
        "undecodable",
        "connector.errors.DecodeError",
        "wrong magic byte 0x7b",
    )


def test_send_returns_after_every_record_is_in_the_topic(kafka_bootstrap: str, topic: str) -> None:
    """Once send returns, a consumer finds each record with its bytes and headers."""
    producer = Producer(producer_config({"bootstrap.servers": kafka_bootstrap, "group.id": "x"}))
    DeadLetter(producer, topic, "sfsink-test").send([poison(5), poison(6)])
    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": topic, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    got = []
    for _ in range(60):
        got += [m for m in consumer.consume(2, timeout=0.5) if m.error() is None]
        if len(got) == 2:
            break
    consumer.close()
    assert [(m.key(), m.value(), m.timestamp()[1]) for m in got] == [
        (b"key", b"\x00bad", 1_700_000)
    ] * 2
    headers = dict(got[1].headers())
    assert headers["h"] == b"1"
    assert headers["__connect.errors.offset"] == b"6"
    assert headers["__connect.errors.stage"] == b"VALUE_CONVERTER"


def test_send_raises_a_retriable_error_when_kafka_does_not_ack() -> None:
    """With no broker to take them, send fails loudly instead of returning."""
    producer = Producer(
        {
            **producer_config({"bootstrap.servers": f"127.0.0.1:{free_port()}"}),
            "message.timeout.ms": 1500,
            "log_level": 0,
        }
    )
    with pytest.raises(DeadLetterUnavailableError, match="did not take 1 of 1") as caught:
        DeadLetter(producer, "dlq", "sfsink-test").send([poison(1)], timeout=5)
    assert isinstance(caught.value, RetriableError)
