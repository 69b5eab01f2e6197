"""Avro the way Debezium's converter and confluent-kafka's AvroSerializer write it."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SOURCE = {"version": "2.7", "connector": "postgresql", "name": "crm", "ts_ms": 1,
          "snapshot": "false", "db": "crm", "schema": "public", "table": "account",
          "txId": 5, "lsn": 6}  # fmt: skip


def account(account_id: int, name: str) -> dict[str, object]:
    """One account row as Debezium's Avro converter writes it."""
    return {"id": account_id, "external_key": f"A-{account_id}", "name": name,
            "industry": "Energy", "annual_revenue": Decimal("1234567.89"), "employees": 42,
            "rating": 4.5, "active": True, "founded": 19_000, "created_at": 1_700_000_000_000_001,
            "updated_at": "2026-01-02T03:04:05+01:00", "opens_at": 32_400_000_000,
            "website": None, "phone": None, "billing_city": "Lyon", "billing_country": "FR",
            "credit_limit": {"scale": 2, "value": (150_000).to_bytes(3, "big", signed=True)},
            "public_id": str(uuid.UUID(int=account_id))}  # fmt: skip


class AvroProducer:
    """Produces keys and values framed by confluent-kafka's own AvroSerializer."""

    def __init__(
        self, bootstrap: str, registry_url: str, topic: str, value_schema: str | None = None
    ) -> None:
        client = SchemaRegistryClient({"url": registry_url})
        self.topic = topic
        self.key = AvroSerializer(client, (SCHEMAS / "account-key.avsc").read_text())
        value = value_schema or (SCHEMAS / "account-value.avsc").read_text()
        self.value = AvroSerializer(client, value)
        self.producer = Producer({"bootstrap.servers": bootstrap})

    def send(self, account_id: int, envelope: dict[str, object] | None) -> None:
        """One record keyed by the account id; None sends a tombstone."""
        key = self.key({"id": account_id}, SerializationContext(self.topic, MessageField.KEY))
        value = None
        if envelope is not None:
            context = SerializationContext(self.topic, MessageField.VALUE)
            value = self.value(envelope, context)
        self.producer.produce(self.topic, key=key, value=value)

    def flush(self) -> None:
        """Wait until the broker has every record."""
        assert self.producer.flush(30) == 0


def envelope(op: str, before: object, after: object) -> dict[str, object]:
    """A Debezium envelope."""
    return {"before": before, "after": after, "source": SOURCE, "op": op, "ts_ms": 2}


def unwrapped_schema() -> str:
    """The row schema ExtractNewRecordState writes: the table's columns plus `__deleted`."""
    envelope_schema = json.loads((SCHEMAS / "account-value.avsc").read_text())
    before = next(f for f in envelope_schema["fields"] if f["name"] == "before")
    row = next(t for t in before["type"] if isinstance(t, dict))
    deleted = {"name": "__deleted", "type": ["null", "string"], "default": None}
    return json.dumps({**row, "name": "Unwrapped", "fields": [*row["fields"], deleted]})
