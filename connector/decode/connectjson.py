"""A converter from the schema block of Kafka Connect's JsonConverter (schemas.enable=true).

The block describes the payload: `{"type": "struct", "fields": [{"field": "id",
"type": "int64", "name": "io.debezium.time.Timestamp", "parameters": {...}}, ...]}`.
Named semantic types become Python values as they do for Avro.
"""

from __future__ import annotations

from collections.abc import Mapping

from connector.decode import semantic
from connector.decode.semantic import Convert


def plan(schema: object) -> Convert | None:
    """The converter for a payload this schema block describes."""
    if not isinstance(schema, Mapping):
        return None
    name = schema.get("name")
    if name == semantic.CONNECT_DECIMAL:
        return _decimal(schema)
    if isinstance(name, str) and name in semantic.BY_NAME:
        return _nullable(semantic.BY_NAME[name])
    return _container(schema)


def _container(schema: Mapping[str, object]) -> Convert | None:
    kind = schema.get("type")
    if kind == "struct":
        return _struct(schema)
    if kind == "array":
        return _each(plan(schema.get("items")))
    if kind == "map":
        return _values(plan(schema.get("values")))
    return None


def _each(item: Convert | None) -> Convert | None:
    if item is None:
        return None
    return _nullable(lambda value: [item(x) for x in _list(value)])


def _values(item: Convert | None) -> Convert | None:
    if item is None:
        return None
    return _nullable(lambda value: {k: item(x) for k, x in _map(value)})


def _struct(schema: Mapping[str, object]) -> Convert | None:
    fields = schema.get("fields")
    steps = tuple(
        (str(field["field"]), step)
        for field in (fields if isinstance(fields, list) else ())
        if isinstance(field, Mapping) and (step := plan(field)) is not None
    )
    return semantic.fields(steps) if steps else None


def _decimal(schema: Mapping[str, object]) -> Convert:
    params = schema.get("parameters")
    scale = int(str(params.get("scale", 0))) if isinstance(params, Mapping) else 0
    return _nullable(lambda value: semantic.decimal_of(value, scale))


def _nullable(convert: Convert) -> Convert:
    # JSON has no unions: any optional field may be null.
    return lambda value: None if value is None else convert(value)


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"expected an array, got {type(value).__name__}")
    return value


def _map(value: object) -> list[tuple[object, object]]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return list(value.items())
