"""The benchmark's workload: which Debezium account fields land in which Account fields.

Every contestant that writes to Salesforce maps the same fields, keyed the same way
(the Debezium key's `id` as ExternalKey__c), so they do the same work.
"""

from __future__ import annotations

from typing import Any

SOBJECT = "Account"
EXTERNAL_ID = "ExternalKey__c"
# Debezium row field → Account field.
FIELDS = {
    "name": "Name",
    "external_key": "AccountNumber",
    "industry": "Industry",
    "annual_revenue": "AnnualRevenue",
    "employees": "NumberOfEmployees",
    "rating": "Score__c",
    "active": "Active__c",
    "founded": "Founded__c",
    "updated_at": "LastSyncedAt__c",
    "website": "Website",
    "phone": "Phone",
}
COERCE = {
    "NumberOfEmployees": "int",
    "Active__c": "boolean",
    "Founded__c": "date",
    "LastSyncedAt__c": "datetime",
}
BATCH_RECORDS = 10_000


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
        "routes": [
            {
                "topic": topic,
                "sobject": SOBJECT,
                "external_id": EXTERNAL_ID,
                "format": "avro",
                "key_path": "id",
                "fields": FIELDS,
                "coerce": COERCE,
            }
        ],
        "batching": {"max_records": BATCH_RECORDS, **(batching or {})},
        "avro": {"registry_url": registry},
        "dead_letter": {"topic": f"{topic}.{group}.dlq"},
        "metrics": {"port": metrics_port},
    }
