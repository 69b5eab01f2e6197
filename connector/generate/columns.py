"""Source columns: how each value is made, written as JSON, and stored by Salesforce.

A row holds its values in the form the Avro writer takes (Debezium's wire forms: days
for dates, microseconds for timestamps, unscaled bytes for decimals), since that is the
hot path; the JSON form and the org's form are derived from it only when needed. The
org's form is what the emulator's admin API and REST answer with: numbers as numbers,
dates as YYYY-MM-DD, datetimes as 2026-01-02T03:04:05.000+0000.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from random import Random

Make = Callable[[Random], object]
Convert = Callable[[object], object]

POOL_SIZE = 4096  # values drawn per column; rows combine them, so rows rarely repeat

VARIABLE_SCALE_DECIMAL = "io.debezium.data.VariableScaleDecimal"
_EPOCH_DAY = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Timestamps fall in 2025, so every run writes the same values for a seed.
_YEAR_START_MICROS = 1_735_689_600_000_000
_YEAR_MICROS = 365 * 86_400 * 1_000_000


def _same(value: object) -> object:
    return value


@dataclass(frozen=True, slots=True)
class Column:
    """One source column and the Salesforce field it is written to.

    Args:
        source: the column's name in the source table (and the Avro field).
        target: the Salesforce field (or relationship column such as
            Account.ExternalKey__c); None when the column is not replicated.
        make: a fresh value in the Avro writer's form.
        nullable: whether an update may set it to null.
        json: the Avro form to the JSON form Debezium's converter would write
            without schemas (text for times and decimals, which JSON cannot name).
        org: the Avro form to the form the org answers with.
        coerce: the route's coercion for the Salesforce field, when it declares one.
    """

    source: str
    target: str | None
    make: Make
    nullable: bool = True
    json: Convert = _same
    org: Convert = _same
    coerce: str | None = None

    def pool(self, seed: str, extra: tuple[object, ...] = ()) -> Pool:
        """This column's values, drawn once from `seed`.

        Null comes first when the column is nullable, then POOL_SIZE ordinary values,
        then `extra` (values Salesforce refuses).
        """
        rng = Random(seed)  # noqa: S311 - a seeded stream, no secret
        head: tuple[object, ...] = (None,) if self.nullable else ()
        values = (*head, *(self.make(rng) for _ in range(POOL_SIZE)), *extra)
        return Pool(
            values=values,
            first=len(head),
            json=tuple(None if v is None else self.json(v) for v in values),
            org=tuple(None if v is None else self.org(v) for v in values),
        )


@dataclass(frozen=True, slots=True)
class Pool:
    """The values a column takes, in three forms; a row holds indexes into them.

    Index 0 is null for a nullable column; `fresh` draws an ordinary value.
    """

    values: tuple[object, ...]
    first: int
    json: tuple[object, ...]
    org: tuple[object, ...]

    def fresh(self, rng: Random) -> int:
        """The index of an ordinary value, at random."""
        return self.first + int(rng.random() * POOL_SIZE)


def pick(pool: Sequence[object]) -> Make:
    """One of `pool`, uniformly."""
    size = len(pool)
    return lambda rng: pool[int(rng.random() * size)]


def below(rng: Random, limit: int) -> int:
    """A whole number in [0, limit): Random.randrange's checks cost more than the draw."""
    return int(rng.random() * limit)


def integer(low: int, high: int) -> Make:
    """A whole number in [low, high]."""
    span = high - low + 1
    return lambda rng: low + int(rng.random() * span)


def flag() -> Make:
    """True or False."""
    return lambda rng: rng.random() < 0.5  # noqa: PLR2004 - a fair coin


def double(high: float) -> Make:
    """A float in [0, high) with two decimals, as a score is kept."""
    return lambda rng: round(rng.random() * high, 2)


def _unscaled(number: int) -> bytes:
    return number.to_bytes(number.bit_length() // 8 + 1, "big", signed=True)


def decimal_bytes(high: int) -> Make:
    """A Connect Decimal (scale 2) as Avro writes it: unscaled two's-complement bytes."""
    return lambda rng: _unscaled(below(rng, high * 100))


def variable_decimal(high: int) -> Make:
    """Debezium's VariableScaleDecimal, named so fastavro need not guess the union branch."""
    return lambda rng: (
        VARIABLE_SCALE_DECIMAL,
        {"scale": 2, "value": _unscaled(below(rng, high * 100))},
    )


def days(first: int, last: int) -> Make:
    """A date as days since 1970-01-01 (io.debezium.time.Date)."""
    return integer(first, last)


def micros() -> Make:
    """A 2025 timestamp in microseconds since the epoch (io.debezium.time.MicroTimestamp)."""
    return lambda rng: _YEAR_START_MICROS + below(rng, _YEAR_MICROS)


def millis() -> Make:
    """A 2025 timestamp in milliseconds since the epoch (io.debezium.time.Timestamp)."""
    return lambda rng: (_YEAR_START_MICROS + below(rng, _YEAR_MICROS)) // 1000


def zoned() -> Make:
    """A 2025 timestamp as ISO 8601 text in UTC (io.debezium.time.ZonedTimestamp)."""
    days = tuple((date(2025, 1, 1) + timedelta(days=n)).isoformat() for n in range(365))

    def make(rng: Random) -> object:
        millis = below(rng, _YEAR_MICROS // 1000)
        day, rest = divmod(millis, 86_400_000)
        hour, rest = divmod(rest, 3_600_000)
        minute, rest = divmod(rest, 60_000)
        return f"{days[day]}T{hour:02d}:{minute:02d}:{rest // 1000:02d}.{rest % 1000:03d}Z"

    return make


def uuid_text() -> Make:
    """A random (version 4 shaped) UUID as text (io.debezium.data.Uuid)."""

    def make(rng: Random) -> object:
        h = f"{rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    return make


def date_text(value: object) -> object:
    """Days since the epoch as YYYY-MM-DD."""
    return (_EPOCH_DAY + timedelta(days=_int(value))).isoformat()


def _moment(value: object) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    return _EPOCH + timedelta(microseconds=_int(value))


def timestamp_text(value: object) -> object:
    """Microseconds since the epoch (or ISO text) as ISO 8601 text in UTC."""
    return _moment(value).isoformat()


def millis_text(value: object) -> object:
    """Milliseconds since the epoch as ISO 8601 text in UTC."""
    return timestamp_text(_int(value) * 1000)


def org_datetime(value: object) -> object:
    """A timestamp as the org answers with it: UTC, milliseconds kept, +0000."""
    moment = _moment(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _decimal(value: object) -> Decimal:
    if isinstance(value, tuple):  # a VariableScaleDecimal, named for fastavro
        struct = value[1]
        return Decimal(int.from_bytes(struct["value"], "big", signed=True)).scaleb(-struct["scale"])
    if isinstance(value, bytes):
        return Decimal(int.from_bytes(value, "big", signed=True)).scaleb(-2)
    raise TypeError(f"not a decimal: {type(value).__name__}")


def decimal_text(value: object) -> object:
    """A decimal as plain text, which JSON carries without float error."""
    return format(_decimal(value), "f")


def org_number(value: object) -> object:
    """A decimal as the org stores a currency: a float."""
    return float(_decimal(value))


def _int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError(f"expected an integer, got {type(value).__name__}")
