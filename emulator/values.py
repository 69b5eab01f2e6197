"""Field values: from CSV or JSON text to the stored form, and from the stored form out.

Stored forms are what SQLite keeps: text for text, dates (YYYY-MM-DD) and datetimes
(UTC, YYYY-MM-DDTHH:MM:SS.sssZ, so text order is time order), 0/1 for booleans, int and
float for numbers. Conversion errors carry Salesforce's status code and wording.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from emulator import ids
from emulator.schema import NUMBER_TYPES, FieldDef

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?"
)
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_INT_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class FieldError(Exception):
    """A value Salesforce refuses, with its status code, message and field names."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def sf_error(self) -> str:
        """The `CODE:message:FIELDS --` form of an sf__Error cell."""
        fields = ",".join(self.fields)
        return f"{self.code}:{self.message}:{fields + ' ' if fields else ''}--"


Converter = Callable[[str], object]


def _wrong_type(fld: FieldDef, text: str) -> FieldError:
    return FieldError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{fld.label}: value not of required type: {text}",
        (fld.name,),
    )


def _text(fld: FieldDef) -> Converter:
    limit = fld.length

    def convert(text: str) -> object:
        if len(text) > limit:
            raise FieldError(
                "STRING_TOO_LONG",
                f"{fld.label}: data value too large: {text} (max length={limit})",
                (fld.name,),
            )
        return text

    if fld.type == "email":

        def email(text: str) -> object:
            if not _EMAIL.fullmatch(text):
                raise FieldError(
                    "INVALID_EMAIL_ADDRESS",
                    f"{fld.label}: invalid email address: {text}",
                    (fld.name,),
                )
            return convert(text)

        return email
    if fld.type == "picklist" and fld.restricted:
        allowed = frozenset(fld.picklist_values)

        def picklist(text: str) -> object:
            if text not in allowed:
                raise FieldError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{fld.label}: bad value for restricted picklist field: {text}",
                    (fld.name,),
                )
            return text

        return picklist
    return convert


def _boolean(fld: FieldDef) -> Converter:
    def convert(text: str) -> object:
        lowered = text.lower()
        if lowered in _TRUE:
            return 1
        if lowered in _FALSE:
            return 0
        raise _wrong_type(fld, text)

    return convert


def _int(fld: FieldDef) -> Converter:
    def convert(text: str) -> object:
        try:
            value = int(text)
        except ValueError:
            raise _wrong_type(fld, text) from None
        if abs(value) > _INT_MAX:
            raise _out_of_range(fld, text)
        return value

    return convert


def _out_of_range(fld: FieldDef, text: str) -> FieldError:
    return FieldError(
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{fld.label}: value outside of valid range on numeric field: {text}",
        (fld.name,),
    )


def _number(fld: FieldDef) -> Converter:
    # Digits left of the point are bounded by precision - scale, as in Salesforce.
    bound = 10.0 ** max(fld.precision - fld.scale, 1)

    def convert(text: str) -> object:
        try:
            value = float(text)
        except ValueError:
            raise _wrong_type(fld, text) from None
        if not math.isfinite(value) or text.strip() != text:
            raise _wrong_type(fld, text)
        if abs(value) >= bound:
            raise _out_of_range(fld, text)
        return value

    return convert


def _date(fld: FieldDef) -> Converter:
    def convert(text: str) -> object:
        match = _DATETIME.fullmatch(text)
        try:
            return date.fromisoformat(match.group(1) if match else "").isoformat()
        except ValueError:
            raise _wrong_type(fld, text) from None

    return convert


def parse_datetime(text: str) -> datetime | None:
    """A UTC datetime from Salesforce's accepted forms, or None."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(day).replace(
            hour=int(hour or 0),
            minute=int(minute or 0),
            second=int(second or 0),
            microsecond=int((fraction or "0").ljust(6, "0")[:6]),
        )
    except ValueError:
        return None
    offset = timedelta(0)
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        offset = -offset if zone[0] == "-" else offset
    return moment.replace(tzinfo=timezone(offset)).astimezone(UTC)


def store_datetime(moment: datetime) -> str:
    """The stored text of a datetime: UTC with milliseconds and a Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _datetime(fld: FieldDef) -> Converter:
    def convert(text: str) -> object:
        moment = parse_datetime(text)
        if moment is None:
            raise _wrong_type(fld, text)
        return store_datetime(moment)

    return convert


def _reference(fld: FieldDef) -> Converter:
    def convert(text: str) -> object:
        value = ids.normalize(text)
        if value is None:
            raise FieldError(
                "MALFORMED_ID", f"{fld.label}: id value of incorrect type: {text}", (fld.name,)
            )
        return value

    return convert


def converter(fld: FieldDef) -> Converter:
    """The function turning this field's text into its stored form."""
    if fld.type in NUMBER_TYPES:
        return _number(fld)
    makers: dict[str, Callable[[FieldDef], Converter]] = {
        "boolean": _boolean,
        "int": _int,
        "date": _date,
        "datetime": _datetime,
        "reference": _reference,
        "id": _reference,
    }
    return makers.get(fld.type, _text)(fld)


def to_python(kind: str, stored: object) -> object:
    """The Python value of a stored value, as the SOQL evaluator expects it."""
    if stored is None:
        return None
    if kind == "boolean":
        return bool(stored)
    if kind == "date":
        return date.fromisoformat(str(stored))
    if kind == "datetime":
        return datetime.fromisoformat(str(stored))
    return stored


def to_json(kind: str, stored: object) -> object:
    """A stored value as REST JSON shows it (datetimes as 2024-01-02T03:04:05.000+0000)."""
    if stored is None:
        return None
    if kind == "boolean":
        return bool(stored)
    if kind == "datetime":
        return str(stored).replace("Z", "+0000")
    return stored


def to_csv(kind: str, stored: object) -> str:
    """A stored value as a Bulk API CSV cell shows it; null is an empty cell."""
    if stored is None:
        return ""
    if kind == "boolean":
        return "true" if stored else "false"
    if isinstance(stored, float):
        return java_double(stored)
    return str(stored)


def from_json(fld: FieldDef, value: object) -> object:
    """A REST JSON value in its stored form; JSON null clears the field."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
        if fld.type != "boolean":
            raise _wrong_type(fld, text)
        return int(value)
    if isinstance(value, int | float) and fld.type in NUMBER_TYPES | {"int"}:
        return converter(fld)(repr(value))
    return converter(fld)(str(value))


def java_double(value: float) -> str:
    """A float as Java's Double.toString prints it, which is how Salesforce echoes numbers."""
    if value == 0:
        return "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:  # noqa: PLR2004 - Java's switch to scientific notation
        text = repr(value)
        return text if "." in text or "e" in text else text + ".0"
    mantissa, exponent = f"{value:.16E}".split("E")
    digits = repr(float(mantissa))
    return f"{digits}E{int(exponent)}"
