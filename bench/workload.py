"""The benchmark's workload: `sfsink generate`'s account stream, and the route it needs.

The stream is Debezium-style Avro through the schema registry: creates, full and
sparse updates, nulls, and deletes in all three shapes (an envelope with op d and its
tombstone, an unwrapped row with __deleted, a bare tombstone), about 20 replicated
fields per account. Contacts, records Salesforce refuses and undecodable ones are left
out, so every contestant does the same, successful, work.
"""

from __future__ import annotations

from typing import Any

from connector.decode import SCHEMAS_DIR
from connector.generate.mix import Mix
from connector.generate.produce import Outcome, Plan, Target, generate
from connector.generate.tables import ACCOUNTS, route

MIX = Mix(reject=0, undecodable=0, contacts=0)
SEED = 7
BATCH_RECORDS = 100_000
SOBJECT = ACCOUNTS.sobject
EXTERNAL_ID = ACCOUNTS.external_id


def produce(bootstrap: str, registry: str, topic: str, count: int, rate: float = 0.0) -> Outcome:
    """Produce `count` account changes to `topic` (at `rate` per second; 0: at once)."""
    target = Target(
        bootstrap=bootstrap,
        topics={"account": topic, "contact": f"{topic}.contacts"},
        registry_url=registry,
        schemas_dir=SCHEMAS_DIR,
    )
    return generate(target, Plan(count, SEED, rate, MIX, workers=1 if rate else 2))


def fields() -> dict[str, str]:
    """Source column → Salesforce field, as the route maps them."""
    mapped = route(ACCOUNTS, "-", "avro")["fields"]
    assert isinstance(mapped, dict)  # noqa: S101 - route() builds it so
    return {str(source): str(target) for source, target in mapped.items()}


def sfsink_config(  # noqa: PLR0913 - one value per part of the stack, each named
    *,
    bootstrap: str,
    group: str,
    topic: str,
    registry: str,
    salesforce: dict[str, Any],
    metrics_port: int,
    batching: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`sfsink run`'s settings for one contestant run (defaults elsewhere)."""
    return {
        "kafka": {
            "consumer": {"bootstrap.servers": bootstrap, "group.id": group},
            "topics": [topic],
        },
        "salesforce": salesforce,
        "routes": [route(ACCOUNTS, topic, "avro")],
        "batching": {"max_records": BATCH_RECORDS, **(batching or {})},
        "avro": {"registry_url": registry},
        "dead_letter": {"topic": f"{topic}.{group}.dlq"},
        "metrics": {"port": metrics_port},
    }
