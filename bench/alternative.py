"""The alternative contestant: what a user would write with confluent-kafka and simple-salesforce.

Written the way each library's documentation shows it: a consumer loop with auto-commit
off that collects up to a batch of records, values decoded by confluent-kafka's
AvroDeserializer through the schema registry, Debezium's shapes unwrapped by hand (an
envelope, an unwrapped row with __deleted, a sparse row, a tombstone),
the batch handed to simple-salesforce's bulk2 upsert (by external id) and delete (by
Id, looked up with `query_all`, the documented SOQL call), then the offsets committed.
Within a batch the last event of a key wins, as anyone would write it: Bulk API 2.0
rejects one external id twice in a job. `wait=1` polls jobs every second (its default
is 5 s), as sfsink's first poll does. Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import requests
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from simple_salesforce import Salesforce
from workload import BATCH_RECORDS, EXTERNAL_ID, SOBJECT, fields

EPOCH = date(1970, 1, 1)
FIELDS = fields()
IN_CHUNK = 500  # keys per SOQL IN (...), well under SOQL's 100,000 characters


def salesforce(url: str, ca: str, client_id: str, client_secret: str) -> Salesforce:
    """A simple-salesforce client on a session from the client-credentials flow."""
    session = requests.Session()
    session.verify = ca
    session.trust_env = False
    token = session.post(
        f"{url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
        timeout=30,
    )
    token.raise_for_status()
    return Salesforce(instance_url=url, session_id=token.json()["access_token"], session=session)


def to_account(row: dict[str, Any]) -> dict[str, Any]:
    """A Debezium row as Account fields.

    Debezium's Date is days since 1970 and its VariableScaleDecimal a {scale, value}
    record; AvroDeserializer hands both over as they are.
    """
    account = {FIELDS[name]: value for name, value in row.items() if name in FIELDS}
    if row.get("founded") is not None:
        account["Founded__c"] = (EPOCH + timedelta(days=row["founded"])).isoformat()
    if row.get("credit_limit") is not None:
        limit = row["credit_limit"]
        unscaled = int.from_bytes(limit["value"], "big", signed=True)
        account["CreditLimit__c"] = Decimal(unscaled).scaleb(-limit["scale"])
    return account


def change(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """The row a value upserts, or None when it deletes its key."""
    if value is None:
        return None
    if "op" in value:  # an envelope
        return None if value["op"] == "d" else value["after"]
    return None if value.get("__deleted") == "true" else value


def write(sf: Salesforce, upserts: dict[int, dict[str, Any]], deletes: set[int]) -> None:
    """One batch: an upsert job, then the Ids of the deleted keys and a delete job."""
    bulk = getattr(sf.bulk2, SOBJECT)
    if upserts:
        bulk.upsert(records=list(upserts.values()), external_id_field=EXTERNAL_ID, wait=1)
    keys = sorted(deletes)
    ids = []
    for start in range(0, len(keys), IN_CHUNK):
        values = ",".join(f"'{key}'" for key in keys[start : start + IN_CHUNK])
        soql = f"SELECT Id FROM {SOBJECT} WHERE {EXTERNAL_ID} IN ({values})"  # noqa: S608 - integer keys
        ids += [{"Id": record["Id"]} for record in sf.query_all(soql)["records"]]
    if ids:
        bulk.delete(records=ids, wait=1)


def main() -> int:
    """Consume a batch, write it, commit; forever."""
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("bootstrap", "registry", "topic", "group", "url", "ca", "client-id", "secret"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([args.topic])
    registry = SchemaRegistryClient({"url": args.registry})
    keys, values = AvroDeserializer(registry), AvroDeserializer(registry)
    key_context = SerializationContext(args.topic, MessageField.KEY)
    value_context = SerializationContext(args.topic, MessageField.VALUE)
    sf = salesforce(args.url, args.ca, args.client_id, args.secret)
    while True:
        messages = [m for m in consumer.consume(BATCH_RECORDS, timeout=1.0) if m.error() is None]
        if not messages:
            continue
        upserts: dict[int, dict[str, Any]] = {}
        deletes: set[int] = set()
        for message in messages:
            key = keys(message.key(), key_context)["id"]
            value = values(message.value(), value_context) if message.value() else None
            row = change(value)
            if row is None:
                upserts.pop(key, None)
                deletes.add(key)
            else:
                deletes.discard(key)
                earlier = upserts.get(key, {})
                upserts[key] = {**earlier, **to_account(row), EXTERNAL_ID: str(key)}
        write(sf, upserts, deletes)
        consumer.commit(asynchronous=False)


if __name__ == "__main__":
    sys.exit(main())
