"""A stand-in for `sfsink generate` while it is being built: Debezium Avro account events."""

from __future__ import annotations

# ruff: noqa: PLR2004 - a throwaway stand-in
import random
import time
from decimal import Decimal
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
SOURCE = {"version": "2.7", "connector": "postgresql", "name": "crm", "ts_ms": 1,
          "snapshot": "false", "db": "crm", "schema": "public", "table": "account",
          "txId": 5, "lsn": 6}  # fmt: skip


def account(key: int, rng: random.Random) -> dict[str, object]:
    """One account row."""
    return {"id": key, "external_key": f"A-{key}", "name": f"Account {key} {rng.random():.6f}",
            "industry": rng.choice(["Banking", "Retail", None]),
            "annual_revenue": Decimal(rng.randrange(10**8)) / 100, "employees": rng.randrange(5000),
            "rating": rng.random() * 5, "active": rng.random() < 0.5, "founded": 19_000,
            "created_at": 1_700_000_000_000_001, "updated_at": "2026-01-02T03:04:05+01:00",
            "opens_at": 32_400_000_000, "website": f"https://a{key}.example.com",
            "phone": f"555-{key % 10000:04d}", "billing_city": "Lyon", "billing_country": "FR",
            "credit_limit": None, "public_id": None}  # fmt: skip


def produce(bootstrap: str, registry: str, topic: str, count: int, rate: float = 0) -> None:
    """`count` events: 50% creates, 40% updates, 10% deletes (op d then a tombstone)."""
    client = SchemaRegistryClient({"url": registry})
    key_ser = AvroSerializer(client, (SCHEMAS / "account-key.avsc").read_text())
    value_ser = AvroSerializer(client, (SCHEMAS / "account-value.avsc").read_text())
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    kctx = SerializationContext(topic, MessageField.KEY)
    vctx = SerializationContext(topic, MessageField.VALUE)
    rng = random.Random(7)
    live: list[int] = []
    began = time.monotonic()
    for i in range(count):
        draw = rng.random()
        if draw < 0.5 or len(live) < 10:
            key, op = i, "c"
            live.append(key)
        elif draw < 0.9:
            key, op = rng.choice(live), "u"
        else:
            key = live.pop(rng.randrange(len(live)))
            op = "d"
        row = account(key, rng)
        envelope = {"before": row if op != "c" else None, "after": None if op == "d" else row,
                    "source": SOURCE, "op": op, "ts_ms": 2}  # fmt: skip
        while True:
            try:
                producer.produce(
                    topic, key=key_ser({"id": key}, kctx), value=value_ser(envelope, vctx)
                )
                break
            except BufferError:
                producer.poll(0.1)
        if rate:
            ahead = (i + 1) / rate - (time.monotonic() - began)
            if ahead > 0:
                producer.poll(ahead)
    producer.flush()
