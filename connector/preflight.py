"""Checks before anything is written: routes against the org's describe, topics in Kafka.

A mapping error found here stops the start with one clear message, instead of failing
millions of rows later: every mapped field must exist and be writable, the external id
field must be an external id, relationship columns must name a lookup and an external id
on its parent, and declared coercions must fit the field's type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from connector.config import Config, Route, SalesforceType
from connector.errors import NotFoundError

Describe = Callable[[str], Mapping[str, Any]]

_FITS: dict[SalesforceType, frozenset[str]] = {
    SalesforceType.BOOLEAN: frozenset({"boolean"}),
    SalesforceType.INT: frozenset({"int", "double", "currency", "percent"}),
    SalesforceType.DOUBLE: frozenset({"double", "currency", "percent"}),
    SalesforceType.DATE: frozenset({"date"}),
    SalesforceType.DATETIME: frozenset({"datetime"}),
}


def check_routes(config: Config, describe: Describe) -> list[str]:
    """Every problem of every route, worded for the operator; empty when all is well."""
    cache: dict[str, Mapping[str, Any] | None] = {}

    def fields_of(sobject: str) -> dict[str, Mapping[str, Any]] | None:
        if sobject not in cache:
            try:
                cache[sobject] = describe(sobject)
            except NotFoundError:
                cache[sobject] = None
        found = cache[sobject]
        if found is None:
            return None
        return {str(f["name"]).lower(): f for f in found.get("fields", [])}

    problems: list[str] = []
    for route in config.routes:
        where = f"route {route.topic or route.topic_pattern} → {route.sobject}"
        problems += [f"{where}: {p}" for p in _route_problems(route, fields_of)]
    return problems


def _route_problems(
    route: Route, fields_of: Callable[[str], dict[str, Mapping[str, Any]] | None]
) -> list[str]:
    fields = fields_of(route.sobject)
    if fields is None:
        return [f"object {route.sobject} does not exist (or this user cannot see it)"]
    problems = []
    ext = fields.get(route.external_id.lower())
    if ext is None:
        problems.append(f"external id field {route.external_id} does not exist")
    elif not ext.get("externalId") and ext.get("name") != "Id":
        problems.append(f"{route.external_id} is not an external id field: mark it External ID")
    targets = [t for t in route.fields.values() if t] + list(route.constants)
    for target in dict.fromkeys(targets):
        field = fields.get(target.lower())
        if field is None:
            problems.append(f"field {target} does not exist on {route.sobject}")
        elif not (field.get("createable") or field.get("updateable")):
            problems.append(f"field {target} is read-only")
    for column in route.relationships.values():
        problems += _relationship_problems(route.sobject, column, fields, fields_of)
    for target, kind in route.coerce.items():
        field = fields.get(target.lower())
        fits = _FITS.get(kind)
        if field is not None and fits is not None and field.get("type") not in fits:
            problems.append(
                f"{target} is a {field.get('type')} field; coercing to {kind} won't fit"
            )
    return problems


def _relationship_problems(
    sobject: str,
    column: str,
    fields: dict[str, Mapping[str, Any]],
    fields_of: Callable[[str], dict[str, Mapping[str, Any]] | None],
) -> list[str]:
    relationship, _, parent_field = column.partition(".")
    lookup = next(
        (
            f
            for f in fields.values()
            if str(f.get("relationshipName", "")).lower() == relationship.lower()
        ),
        None,
    )
    if lookup is None:
        return [f"{sobject} has no relationship named {relationship} (column {column})"]
    problems = []
    for parent in lookup.get("referenceTo") or []:
        parent_fields = fields_of(str(parent)) or {}
        key = parent_fields.get(parent_field.lower())
        if key is None or not (key.get("externalId") or key.get("name") == "Id"):
            problems.append(f"{parent}.{parent_field} is not an external id (column {column})")
    return problems


def kafka_problems(config: Config, admin: AdminClient) -> list[str]:
    """Topics that are missing: a configured source, or a dead-letter topic not created."""
    try:
        existing = set(admin.list_topics(timeout=10).topics)
    except KafkaException as exc:
        return [f"cannot reach Kafka at {config.kafka.consumer['bootstrap.servers']}: {exc}"]
    problems = [f"topic {t} does not exist" for t in config.kafka.topics if t not in existing]
    dlq = config.dead_letter
    if dlq.topic not in existing and not dlq.create:
        problems.append(f"dead-letter topic {dlq.topic} does not exist (and create is false)")
    return problems


def ensure_dead_letter_topic(config: Config, admin: AdminClient) -> None:
    """Create the dead-letter topic when it is missing and the config allows it."""
    dlq = config.dead_letter
    if not dlq.create or dlq.topic in admin.list_topics(timeout=10).topics:
        return
    future = admin.create_topics([NewTopic(dlq.topic, num_partitions=1)])[dlq.topic]
    try:
        future.result(timeout=30)
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another member won
            raise
