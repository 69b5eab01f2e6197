"""A generated stream and the Avro schemas it is written with, ids given in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.generate.avroschemas import TableSchemas, table_schemas
from connector.generate.tables import TABLES

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


class NumberedSchemas:
    """Every table's schemas with ids 1, 2, 3, ... and a SchemaSource serving them by id."""

    def __init__(self) -> None:
        self.tables: dict[str, TableSchemas] = {t.name: table_schemas(t, SCHEMAS) for t in TABLES}
        self.ids: dict[str, dict[str, int]] = {}
        self.texts: dict[int, str] = {}
        for name, schemas in self.tables.items():
            self.ids[name] = {}
            for role, text in schemas.texts.items():
                schema_id = len(self.texts) + 1
                self.ids[name][role] = schema_id
                self.texts[schema_id] = text

    def writer_schema(self, schema_id: int, subject: str) -> str:  # noqa: ARG002 - ids are global
        """The text of schema `schema_id`, as a registry would serve it."""
        return self.texts[schema_id]


@pytest.fixture(scope="session")
def numbered() -> NumberedSchemas:
    """The repository's schemas, numbered."""
    return NumberedSchemas()
