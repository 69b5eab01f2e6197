"""A converter per Avro writer schema: logical and semantic types, planned once per schema.

fastavro already turns the standard logical types into Python values; this plan adds
what it leaves as numbers (Debezium's `connect.name` types), makes local timestamps
UTC-aware and uuids text. The plan touches only the fields that need it, so the hot
path costs nothing for plain fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from connector.decode import semantic
from connector.decode.semantic import Convert

# Logical types fastavro converts itself while reading.
_FASTAVRO_DONE = frozenset(
    {"decimal", "date", "time-millis", "time-micros", "timestamp-millis", "timestamp-micros"}
)
_AFTER_FASTAVRO: Mapping[str, Convert] = {
    "uuid": str,
    "local-timestamp-millis": semantic.as_utc,
    "local-timestamp-micros": semantic.as_utc,
}
_NAMED = frozenset({"record", "enum", "fixed", "error"})
_ENVELOPE = frozenset({"before", "after", "op"})


class _Planner:
    """Walks one schema; named types are remembered so later references reuse them."""

    def __init__(self) -> None:
        self._named: dict[str, object] = {}
        self._building: set[str] = set()

    def plan(self, schema: object, namespace: str = "") -> Convert | None:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, list):
            return self._union([self.plan(branch, namespace) for branch in schema])
        if isinstance(schema, Mapping):
            return self._complex(schema, namespace)
        return None

    def _complex(self, schema: Mapping[str, object], namespace: str) -> Convert | None:
        kind = schema.get("type")
        if kind in _NAMED:
            return self._named_type(schema, namespace)
        if kind == "array":
            return _each(self.plan(schema.get("items"), namespace))
        if kind == "map":
            return _values(self.plan(schema.get("values"), namespace))
        if isinstance(kind, Mapping | list):
            return self.plan(kind, namespace)
        return _leaf(schema)

    def _reference(self, name: str, namespace: str) -> Convert | None:
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        schema = self._named.get(full, self._named.get(name))
        if schema is None or full in self._building:
            return None  # a primitive, or a recursive reference: nothing to convert
        return self.plan(schema, namespace)

    def _named_type(self, schema: Mapping[str, object], namespace: str) -> Convert | None:
        name = str(schema.get("name", ""))
        space = str(schema.get("namespace", namespace if "." not in name else ""))
        full = name if "." in name or not space else f"{space}.{name}"
        self._named[full] = schema
        if schema.get("type") != "record":
            return _leaf(schema)
        self._building.add(full)
        try:
            return self._record(schema, full.rpartition(".")[0])
        finally:
            self._building.discard(full)

    def _record(self, schema: Mapping[str, object], namespace: str) -> Convert | None:
        leaf = _leaf(schema)
        if leaf is not None:
            self._remember_fields(schema, namespace)
            return leaf
        fields = schema.get("fields")
        plans = {
            str(field["name"]): self.plan(field.get("type"), namespace)
            for field in (fields if isinstance(fields, list) else ())
            if isinstance(field, Mapping)
        }
        steps = tuple((name, plan) for name, plan in plans.items() if plan is not None)
        if not steps:
            return None
        return _envelope(plans) if plans.keys() >= _ENVELOPE else semantic.fields(steps)

    def _remember_fields(self, schema: Mapping[str, object], namespace: str) -> None:
        # A record converted whole (VariableScaleDecimal) still declares names others use.
        fields = schema.get("fields")
        for field in fields if isinstance(fields, list) else ():
            if isinstance(field, Mapping):
                self.plan(field.get("type"), namespace)

    @staticmethod
    def _union(plans: list[Convert | None]) -> Convert | None:
        # A branch's value does not say which branch it came from; convert only when
        # exactly one branch needs it (the usual ["null", T]).
        real = [plan for plan in plans if plan is not None]
        if len(real) != 1:
            return None
        only = real[0]
        return lambda value: None if value is None else only(value)


def plan(schema: object) -> Convert | None:
    """The converter for values read with this (raw, JSON-parsed) writer schema."""
    return _Planner().plan(schema)


def _leaf(schema: Mapping[str, object]) -> Convert | None:
    logical = schema.get("logicalType")
    if isinstance(logical, str):
        if logical in _FASTAVRO_DONE:
            return None
        if logical in _AFTER_FASTAVRO:
            return _AFTER_FASTAVRO[logical]
    name = schema.get("connect.name")
    if name == semantic.CONNECT_DECIMAL:
        return _connect_decimal(schema)
    return semantic.BY_NAME.get(name) if isinstance(name, str) else None


def _connect_decimal(schema: Mapping[str, object]) -> Convert:
    params = schema.get("connect.parameters")
    raw_scale = params.get("scale", 0) if isinstance(params, Mapping) else schema.get("scale", 0)
    scale = int(str(raw_scale))
    return lambda value: semantic.decimal_of(value, scale)


def _envelope(plans: Mapping[str, Convert | None]) -> Convert:
    # A Debezium envelope: a delete uses the `before` image, every other op the `after`
    # one, so only that image is converted (half the work on the hot path).
    before, after = plans["before"], plans["after"]

    def convert(value: object) -> object:
        if isinstance(value, dict):
            name, step = ("before", before) if value.get("op") == "d" else ("after", after)
            if step is not None:
                value[name] = step(value[name])
        return value

    return convert


def _each(item: Convert | None) -> Convert | None:
    if item is None:
        return None
    return lambda value: [item(v) for v in value] if isinstance(value, list) else value


def _values(item: Convert | None) -> Convert | None:
    if item is None:
        return None
    return lambda value: (
        {k: item(v) for k, v in value.items()} if isinstance(value, dict) else value
    )
