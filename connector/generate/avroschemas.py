"""The Avro schemas a generated topic carries, and their registration in a schema registry.

Per table: the key schema and the Debezium envelope (schemas/<table>-key.avsc and
-value.avsc), plus two derived from the envelope's row record: the flat row that
ExtractNewRecordState writes (with its `__deleted` field), and one record per sparse
patch (the key and the patched columns). All value schemas go under the topic's
`-value` subject (Confluent's TopicNameStrategy), as versions of it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from connector.errors import ConfigError, SchemaRegistryUnavailableError
from connector.generate.tables import Table

KEY = "key"
ENVELOPE = "envelope"
ROW = "row"
_MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"


def patch_role(index: int) -> str:
    """The role name of a table's sparse patch schema."""
    return f"patch{index}"


@dataclass(frozen=True, slots=True)
class TableSchemas:
    """A table's schemas as JSON text, by role (key, envelope, row, patch0, ...)."""

    table: Table
    texts: Mapping[str, str]

    @property
    def row_name(self) -> str:
        """The full name of the envelope's row record, for fastavro's union notation."""
        return f"{self.table.namespace}.Value"


def table_schemas(table: Table, directory: Path) -> TableSchemas:
    """Read a table's key and envelope schemas and derive the others."""
    try:
        key = json.loads((directory / f"{table.name}-key.avsc").read_text(encoding="utf-8"))
        envelope = json.loads((directory / f"{table.name}-value.avsc").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the {table.name} schemas in {directory}: {exc}") from None
    value = _row_record(envelope)
    texts = {KEY: json.dumps(key), ENVELOPE: json.dumps(envelope), ROW: json.dumps(_flat(value))}
    for index, names in enumerate(table.patches):
        texts[patch_role(index)] = json.dumps(_patch(value, table, index, names))
    return TableSchemas(table, texts)


def _row_record(envelope: Mapping[str, Any]) -> dict[str, Any]:
    before = next(f for f in envelope["fields"] if f["name"] == "before")
    record = next(branch for branch in before["type"] if isinstance(branch, dict))
    return {**copy.deepcopy(record), "namespace": envelope["namespace"]}


def _flat(value: dict[str, Any]) -> dict[str, Any]:
    deleted = {"name": "__deleted", "type": ["null", "string"], "default": None}
    return {**value, "fields": [*value["fields"], deleted]}


def _patch(
    value: dict[str, Any], table: Table, index: int, names: tuple[str, ...]
) -> dict[str, Any]:
    wanted = {"id", *names}
    kept = [f for f in value["fields"] if f["name"] in wanted]
    return {
        "type": "record",
        "name": f"Patch{index}",
        "namespace": table.namespace,
        "fields": kept,
    }


def register(url: str, subject: str, text: str, session: requests.Session) -> int:
    """Register `text` under `subject` (or find it there) and return its id."""
    try:
        answer = session.post(
            f"{url.rstrip('/')}/subjects/{subject}/versions",
            json={"schema": text, "schemaType": "AVRO"},
            headers={"Content-Type": _MEDIA_TYPE},
            timeout=30,
        )
    except requests.RequestException as exc:
        raise SchemaRegistryUnavailableError(
            f"the schema registry did not answer: {type(exc).__name__}"
        ) from None
    if answer.status_code >= requests.codes.server_error:
        raise SchemaRegistryUnavailableError(
            f"the schema registry answered HTTP {answer.status_code} registering {subject}"
        )
    if answer.status_code != requests.codes.ok:
        raise ConfigError(
            f"the schema registry refused {subject}: HTTP {answer.status_code} {answer.text[:200]}"
        )
    return int(answer.json()["id"])


def register_all(url: str, topic: str, schemas: TableSchemas) -> dict[str, int]:
    """Register a table's schemas for `topic`; their ids by role."""
    with requests.Session() as session:
        return {
            role: register(url, f"{topic}-{'key' if role == KEY else 'value'}", text, session)
            for role, text in schemas.texts.items()
        }
