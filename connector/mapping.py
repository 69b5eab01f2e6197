"""ChangeEvent → Row: route by topic, pick the external id, map and coerce the fields."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from connector.config import Config, OnDelete, Route, SalesforceType
from connector.errors import MappingError
from connector.records import Action, ChangeEvent, Lane, Op, Row
from connector.salesforce.csvio import NULL, cell

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class Mapper:
    """Turns events into rows following the configured routes."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._routes: dict[str, Route | None] = {}

    def to_row(self, event: ChangeEvent) -> Row | None:
        """The row for this event, or None when its route ignores deletes.

        Raises:
            MappingError: the event cannot be written; dead-letter it with this reason.
        """
        route = self._route(event.position.topic)
        external_id = _external_id(route, event)
        if event.op is Op.DELETE:
            if route.on_delete is OnDelete.IGNORE:
                return None
            action = (
                Action.HARD_DELETE if route.on_delete is OnDelete.HARD_DELETE else Action.DELETE
            )
            lane = Lane(route.sobject, action, route.external_id)
            return Row(lane, external_id, {}, (event.record,))
        fields = _fields(route, event.fields)
        fields[route.external_id] = external_id
        group = fields.get(route.group_by, "") if route.group_by else ""
        lane = Lane(route.sobject, Action.UPSERT, route.external_id)
        return Row(lane, external_id, fields, (event.record,), group=group)

    def sobject_for(self, topic: str) -> str:
        """The object a routed topic writes to."""
        return self._route(topic).sobject

    def _route(self, topic: str) -> Route:
        if topic not in self._routes:
            self._routes[topic] = self._config.route_for(topic)
        route = self._routes[topic]
        if route is None:
            raise MappingError("no_route", f"no route matches topic {topic!r}")
        return route


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


def _fields(route: Route, values: Mapping[str, object]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in values.items():
        column = _column(route, name)
        if column is None:
            continue
        kind = route.coerce.get(column)
        try:
            # An empty cell means "leave unchanged" to the Bulk API, and Salesforce stores
            # an empty text as null anyway: so an empty source value clears the field.
            fields[column] = NULL if value is None or value == "" else coerce(value, kind)
        except (ValueError, TypeError) as exc:
            raise MappingError("bad_value", f"field {name!r} → {column}: {exc}") from None
    fields.update(route.constants)
    return fields


def _column(route: Route, name: str) -> str | None:
    if name in route.relationships:
        return route.relationships[name]
    if name in route.fields:
        return route.fields[name]
    return name if route.pass_unmapped else None


def coerce(value: object, kind: SalesforceType | None) -> str:
    """Check `value` against a declared Salesforce type and render it as CSV text."""
    if kind is None or kind is SalesforceType.STRING:
        return to_text(value)
    if kind is SalesforceType.BOOLEAN:
        return _boolean(value)
    if kind is SalesforceType.INT:
        number = _decimal(value)
        if number != number.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number")
        return str(int(number))
    if kind is SalesforceType.DOUBLE:
        return to_text(_decimal(value))
    if kind is SalesforceType.DATE:
        return _date(value).isoformat()
    return cell(_datetime(value))


def to_text(value: object) -> str:
    """Render a decoded value the way the Bulk API reads it from CSV.

    Nested structures (a JSON column, an Avro record) become compact JSON text.
    """
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
