"""Kafka Connect and Debezium semantic types, by their schema name, as Python values.

Debezium writes times as plain numbers and names their meaning in the schema
(`connect.name` in Avro, `name` in the JsonConverter's schema block). The mapping stage
renders date, datetime, time and Decimal; these functions turn the numbers into those.
Datetimes are UTC-aware, as Salesforce datetimes are.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

Convert = Callable[[object], object]

_EPOCH_DAY = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIDNIGHT = datetime(1970, 1, 1)  # noqa: DTZ001 - a wall-clock anchor for times of day

VARIABLE_SCALE_DECIMAL = "io.debezium.data.VariableScaleDecimal"
CONNECT_DECIMAL = "org.apache.kafka.connect.data.Decimal"


def days(value: object) -> date:
    """Days since 1970-01-01."""
    return _EPOCH_DAY + timedelta(days=_int(value))


def millis(value: object) -> datetime:
    """Milliseconds since the epoch, in UTC."""
    return _EPOCH + timedelta(milliseconds=_int(value))


def micros(value: object) -> datetime:
    """Microseconds since the epoch, in UTC."""
    return _EPOCH + timedelta(microseconds=_int(value))


def nanos(value: object) -> datetime:
    """Nanoseconds since the epoch, in UTC (Python keeps microseconds)."""
    return _EPOCH + timedelta(microseconds=_int(value) // 1000)


def zoned(value: object) -> datetime:
    """An ISO 8601 timestamp with an offset (Debezium's ZonedTimestamp), in UTC."""
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def time_millis(value: object) -> time:
    """Milliseconds since midnight."""
    return (_MIDNIGHT + timedelta(milliseconds=_int(value))).time()


def time_micros(value: object) -> time:
    """Microseconds since midnight."""
    return (_MIDNIGHT + timedelta(microseconds=_int(value))).time()


def time_nanos(value: object) -> time:
    """Nanoseconds since midnight."""
    return (_MIDNIGHT + timedelta(microseconds=_int(value) // 1000)).time()


def as_utc(value: object) -> object:
    """A local-timestamp (no zone) read as UTC, since Salesforce needs a zone."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def unscaled(raw: bytes, scale: int) -> Decimal:
    """A decimal from its two's-complement big-endian unscaled bytes and its scale."""
    return Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)


def decimal_of(value: object, scale: int) -> Decimal:
    """A Connect Decimal as Avro bytes, JsonConverter base64 text, or a JSON number."""
    if isinstance(value, bytes):
        return unscaled(value, scale)
    if isinstance(value, str):
        return unscaled(base64.b64decode(value, validate=True), scale)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    raise TypeError(f"a decimal cannot be {type(value).__name__}")


def variable_scale(value: object) -> object:
    """Debezium's VariableScaleDecimal struct {scale, value} as one Decimal."""
    if not isinstance(value, Mapping):
        return value
    return decimal_of(value["value"], _int(value["scale"]))


# Keyed by the schema name Debezium and Kafka Connect put on the field's type.
BY_NAME: Mapping[str, Convert] = {
    "io.debezium.time.Date": days,
    "io.debezium.time.Time": time_millis,
    "io.debezium.time.MicroTime": time_micros,
    "io.debezium.time.NanoTime": time_nanos,
    "io.debezium.time.Timestamp": millis,
    "io.debezium.time.MicroTimestamp": micros,
    "io.debezium.time.NanoTimestamp": nanos,
    "io.debezium.time.ZonedTimestamp": zoned,
    "org.apache.kafka.connect.data.Date": days,
    "org.apache.kafka.connect.data.Time": time_millis,
    "org.apache.kafka.connect.data.Timestamp": millis,
    VARIABLE_SCALE_DECIMAL: variable_scale,
}


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def fields(steps: tuple[tuple[str, Convert], ...]) -> Convert:
    """Convert the named fields of a decoded struct in place, each by its own step."""

    def convert(value: object) -> object:
        if isinstance(value, dict):
            for name, step in steps:
                if name in value:
                    value[name] = step(value[name])
        return value

    return convert
