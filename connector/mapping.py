"""ChangeEvent → Row: route by topic, pick the external id, map and coerce the fields."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from connector import csvline
from connector.config import Config, OnDelete, Route, SalesforceType
from connector.csvline import Columns
from connector.errors import MappingError
from connector.records import Action, ChangeEvent, Kept, Lane, Op, Row
from connector.salesforce.csvio import NULL, cell

_TRUE = {"true", "1", "yes", "y", "t"}
_SCALARS = (bool, int, float, Decimal, date, time, bytes)  # datetime is a date
_FALSE = {"false", "0", "no", "n", "f"}


class Mapper:
    """Turns events into rows following the configured routes."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._plans: dict[str, _RoutePlan | None] = {}

    def to_row(self, event: ChangeEvent, kept: Kept) -> Row | None:
        """The row for this event, holding `kept` (its record), or None if deletes are ignored.

        Raises:
            MappingError: the event cannot be written; dead-letter it with this reason.
        """
        plan = self._plan(event.position.topic)
        external_id = _external_id(plan.route, event)
        if event.op is Op.DELETE:
            if plan.delete_lane is None:
                return None
            return Row(plan.delete_lane, external_id, (), "", (kept,))
        return plan.upsert(event, external_id, kept)

    def sobject_for(self, topic: str) -> str:
        """The object a routed topic writes to."""
        return self._plan(topic).route.sobject

    def _plan(self, topic: str) -> _RoutePlan:
        if topic not in self._plans:
            route = self._config.route_for(topic)
            self._plans[topic] = None if route is None else _RoutePlan(route)
        plan = self._plans[topic]
        if plan is None:
            raise MappingError("no_route", f"no route matches topic {topic!r}")
        return plan


def _external_id(route: Route, event: ChangeEvent) -> str:
    source: object = event.key if route.key_from == "message_key" else event.fields
    value = _pick(source, route.key_path)
    if value is None or value == "":
        where = route.key_from + (f" at {route.key_path!r}" if route.key_path else "")
        raise MappingError("missing_key", f"no external id value in the {where}")
    if isinstance(value, Mapping | list):
        raise MappingError(
            "missing_key", f"the key is a structure with {len(value)} fields: set key_path"
        )
    return to_text(value)


def _pick(source: object, path: str | None) -> object:
    if path is None:
        # A struct key with one field (Debezium's {"id": 42}) stands for that field.
        if isinstance(source, Mapping) and len(source) == 1:
            return next(iter(source.values()))
        return source
    for part in path.split("."):
        if not isinstance(source, Mapping) or part not in source:
            return None
        source = source[part]
    return source


Render = Callable[[object], str]


@dataclass(frozen=True, slots=True)
class _Shape:
    """How events whose fields come in one order become cells.

    One renderer per field (None: dropped), the columns of the row, and the cells every
    row of it ends with (constants; the external id follows them).
    """

    renders: tuple[Render | None, ...]
    columns: Columns
    tail: tuple[str, ...]
    group: int | None


class _RoutePlan:
    """One route worked out once: its lanes, and per field order its columns and renderers.

    Events of one writer schema carry their fields in one order, so the plan for that
    order is made the first time it is seen; every later event costs a dict lookup and
    one renderer call per field.
    """

    __slots__ = ("_shapes", "_steps", "delete_lane", "route", "upsert_lane")

    def __init__(self, route: Route) -> None:
        self.route = route
        self.upsert_lane = Lane(route.sobject, Action.UPSERT, route.external_id)
        self.delete_lane = None
        if route.on_delete is not OnDelete.IGNORE:
            hard = route.on_delete is OnDelete.HARD_DELETE
            action = Action.HARD_DELETE if hard else Action.DELETE
            self.delete_lane = Lane(route.sobject, action, route.external_id)
        self._steps: dict[str, tuple[str, Render] | None] = {}
        self._shapes: dict[tuple[str, ...], _Shape] = {}

    def upsert(self, event: ChangeEvent, external_id: str, kept: Kept) -> Row:
        values = event.fields
        names = tuple(values)
        shape = self._shapes.get(names) or self._learn_shape(names)
        try:
            # An empty cell means "leave unchanged" to the Bulk API, and Salesforce stores
            # an empty text as null anyway: so an empty source value clears the field.
            cells = [
                NULL if value is None or value == "" else render(value)
                for render, value in zip(shape.renders, values.values(), strict=True)
                if render is not None
            ]
        except (ValueError, TypeError):
            raise _bad_value(shape, values) from None
        cells += shape.tail
        cells.append(external_id)
        group = cells[shape.group] if shape.group is not None else ""
        line = csvline.render(cells)
        return Row(self.upsert_lane, external_id, shape.columns, line, (kept,), group=group)

    def _learn_shape(self, names: tuple[str, ...]) -> _Shape:
        """The plan for one field order; the external id, then constants, win a column."""
        route = self.route
        taken = {route.external_id, *route.constants}
        chosen: list[tuple[str, Render] | None] = [None] * len(names)
        for index in reversed(range(len(names))):  # a later field wins a shared column
            step = self._step(names[index])
            if step is not None and step[0] not in taken:
                taken.add(step[0])
                chosen[index] = step
        constants = [(c, v) for c, v in route.constants.items() if c != route.external_id]
        columns = csvline.shape(
            [*(step[0] for step in chosen if step), *(c for c, _ in constants), route.external_id]
        )
        group = columns.index(route.group_by) if route.group_by in columns else None
        shape = _Shape(
            renders=tuple(step[1] if step else None for step in chosen),
            columns=columns,
            tail=tuple(v for _, v in constants),
            group=group,
        )
        self._shapes[names] = shape
        return shape

    def _step(self, name: str) -> tuple[str, Render] | None:
        if name in self._steps:
            return self._steps[name]
        route = self.route
        if name in route.relationships:
            column: str | None = route.relationships[name]
        elif name in route.fields:
            column = route.fields[name]
        else:
            column = name if route.pass_unmapped else None
        step = None if column is None else (column, _renderer(route.coerce.get(column)))
        self._steps[name] = step
        return step


def _bad_value(shape: _Shape, values: Mapping[str, object]) -> MappingError:
    """Which field could not be rendered, found again field by field."""
    rendered = (
        (name, value, render)
        for (name, value), render in zip(values.items(), shape.renders, strict=True)
        if render is not None
    )
    for (name, value, render), column in zip(rendered, shape.columns, strict=False):
        if value is None or value == "":
            continue
        try:
            render(value)
        except (ValueError, TypeError) as exc:
            return MappingError("bad_value", f"field {name!r} → {column}: {exc}")
    return MappingError("bad_value", "a field could not be rendered")


def _renderer(kind: SalesforceType | None) -> Render:
    return _RENDERERS[kind or SalesforceType.STRING]


def coerce(value: object, kind: SalesforceType | None) -> str:
    """Check `value` against a declared Salesforce type and render it as CSV text."""
    return _renderer(kind)(value)


def _int_text(value: object) -> str:
    if type(value) is int:
        return str(value)  # the usual case, without a round trip through Decimal
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return str(int(number))


def _double_text(value: object) -> str:
    return to_text(_decimal(value))


def _date_text(value: object) -> str:
    return _date(value).isoformat()


def _datetime_text(value: object) -> str:
    return cell(_datetime(value))


def to_text(value: object) -> str:
    """Render a decoded value the way the Bulk API reads it from CSV.

    Nested structures (a JSON column, an Avro record) become compact JSON text.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, _SCALARS):
        return cell(value)  # decoded values are mostly these: no costly Mapping check
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, separators=(",", ":"), default=str)
    return cell(value)


def _boolean(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    raise ValueError(f"{value!r} is not a boolean")


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise TypeError(f"{value!r} is not a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _date(value: object) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)  # epoch milliseconds
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a datetime (ISO 8601)") from None


_RENDERERS: dict[SalesforceType, Render] = {
    SalesforceType.STRING: to_text,
    SalesforceType.BOOLEAN: _boolean,
    SalesforceType.INT: _int_text,
    SalesforceType.DOUBLE: _double_text,
    SalesforceType.DATE: _date_text,
    SalesforceType.DATETIME: _datetime_text,
}
