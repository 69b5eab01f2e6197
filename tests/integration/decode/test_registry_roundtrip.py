"""Avro through Kafka and a real Schema Registry (Apicurio): what AvroSerializer writes, we read."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from connector.decode import AvroDecoder, JsonDecoder, RegistrySettings, SchemaRegistry
from connector.errors import DecodeError, SchemaRegistryUnavailableError
from connector.records import ChangeEvent, Op, Position, SourceRecord
from connector.source import Source
from devstack import free_port
from tests.support.avro import SCHEMAS, AvroProducer, account, envelope


def consume(bootstrap: str, topic: str, count: int) -> list[SourceRecord]:
    """The first `count` records of `topic`, polled until they are all here."""
    source = Source(
        {
            "bootstrap.servers": bootstrap,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
        },
        [topic],
    )
    source.subscribe(on_assign=lambda _: None, on_revoke=lambda _: None)
    got: list[SourceRecord] = []
    try:
        for _ in range(120):
            got += source.poll(0.25, max_records=count)
            if len(got) >= count:
                break
    finally:
        source.close()
    assert len(got) == count
    return got


@pytest.fixture
def registry_decoder(schema_registry: str) -> AvroDecoder:
    """Our decoder on the session's real registry."""
    return AvroDecoder(SchemaRegistry(RegistrySettings(schema_registry, timeout=5)))


def test_debezium_stream_round_trips_through_the_registry(
    kafka_bootstrap, topic, schema_registry, registry_decoder
):
    """Create, update, delete and the tombstone after it decode to the right events."""
    producer = AvroProducer(kafka_bootstrap, schema_registry, topic)
    producer.send(1, envelope("c", None, account(1, "Acme")))
    producer.send(1, envelope("u", account(1, "Acme"), account(1, "Acme Corp")))
    producer.send(1, envelope("d", account(1, "Acme Corp"), None))
    producer.send(1, None)
    producer.flush()
    events = [registry_decoder.decode(r) for r in consume(kafka_bootstrap, topic, 4)]
    assert [(e.op, e.key) for e in events] == [(Op.UPSERT, {"id": 1})] * 2 + [
        (Op.DELETE, {"id": 1})
    ] * 2
    created = events[0].fields
    assert created["name"] == "Acme"
    assert events[1].fields["name"] == "Acme Corp"
    assert created["annual_revenue"] == Decimal("1234567.89")
    assert created["founded"] == date(2022, 1, 8)
    assert created["created_at"] == datetime(2023, 11, 14, 22, 13, 20, 1, tzinfo=UTC)
    assert created["updated_at"] == datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert created["credit_limit"] == Decimal("1500.00")
    assert created["public_id"] == str(uuid.UUID(int=1))
    assert created["website"] is None


def test_same_schema_under_two_subjects_has_one_id(schema_registry, registry_decoder):
    """Apicurio's ccompat ids are content ids, as Confluent's are: one schema, one id."""
    client = SchemaRegistryClient({"url": schema_registry})
    serializer = AvroSerializer(client, (SCHEMAS / "account-key.avsc").read_text())
    ids = set()
    for subject_topic in (f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"):
        framed = serializer({"id": 3}, SerializationContext(subject_topic, MessageField.KEY))
        ids.add(framed[1:5])
        record = SourceRecord(Position(subject_topic, 0, 0), framed, None)
        assert registry_decoder.decode(record).key == {"id": 3}
    assert len(ids) == 1


def test_unknown_schema_id_is_a_decode_error_with_the_record(
    kafka_bootstrap, topic, registry_decoder
):
    """A frame naming an id the registry does not have is dead-letter material."""
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, key=b"k", value=b"\x00" + (987_654).to_bytes(4, "big") + b"\x02")
    assert producer.flush(30) == 0
    [record] = consume(kafka_bootstrap, topic, 1)
    with pytest.raises(DecodeError) as caught:
        registry_decoder.decode(record)
    assert (caught.value.reason, caught.value.record) == ("unknown_schema", record)
    assert "987654" in str(caught.value)


def test_wrong_magic_byte_from_kafka_is_rejected(kafka_bootstrap, topic, registry_decoder):
    """A JSON value on an Avro topic is rejected for its framing, not misread."""
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, key=b"k", value=b'{"id": 1}')
    assert producer.flush(30) == 0
    [record] = consume(kafka_bootstrap, topic, 1)
    with pytest.raises(DecodeError, match="magic byte") as caught:
        registry_decoder.decode(record)
    assert caught.value.record == record


def test_registry_down_is_retriable_not_a_decode_error():
    """With nothing listening, the registry error is retriable and says where, not who."""
    url = f"http://user:pw-secret@127.0.0.1:{free_port()}/apis/ccompat/v7"
    decoder = AvroDecoder(SchemaRegistry(RegistrySettings(url, timeout=2)))
    record = SourceRecord(Position("t", 0, 0), None, b"\x00\x00\x00\x00\x01\x02")
    with pytest.raises(SchemaRegistryUnavailableError) as caught:
        decoder.decode(record)
    assert not isinstance(caught.value, DecodeError)
    assert "pw-secret" not in str(caught.value)


def test_wrong_registry_path_is_retriable_not_unknown_schema(schema_registry):
    """A 404 that is not Confluent's schema-not-found (a wrong URL) never dead-letters."""
    wrong = schema_registry.replace("/apis/ccompat/v7", "/nothing-here")
    decoder = AvroDecoder(SchemaRegistry(RegistrySettings(wrong, timeout=5)))
    record = SourceRecord(Position("t", 0, 0), None, b"\x00\x00\x00\x00\x01\x02")
    with pytest.raises(SchemaRegistryUnavailableError, match="HTTP 404"):
        decoder.decode(record)


def test_json_connect_envelope_through_kafka(kafka_bootstrap, topic):
    """JsonConverter-wrapped Debezium JSON from Kafka decodes to typed upserts and deletes."""
    row_schema = {"type": "struct", "optional": True, "fields": [
        {"field": "id", "type": "int64"},
        {"field": "seen", "type": "int64", "optional": True, "name": "io.debezium.time.Timestamp"},
    ]}  # fmt: skip
    schema = {"type": "struct", "fields": [
        {**row_schema, "field": "before"}, {**row_schema, "field": "after"},
        {"field": "op", "type": "string"},
    ]}  # fmt: skip
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for op, before, after in (("c", None, {"id": 1, "seen": 0}), ("d", {"id": 1}, None)):
        value = {"before": before, "after": after, "op": op}
        payload = json.dumps({"schema": schema, "payload": value})
        producer.produce(topic, key=b'{"id": 1}', value=payload.encode())
    producer.produce(topic, key=b'{"id": 1}', value=None)
    assert producer.flush(30) == 0
    events: list[ChangeEvent] = [
        JsonDecoder().decode(r) for r in consume(kafka_bootstrap, topic, 3)
    ]
    assert [e.op for e in events] == [Op.UPSERT, Op.DELETE, Op.DELETE]
    assert events[0].fields == {"id": 1, "seen": datetime(1970, 1, 1, tzinfo=UTC)}
