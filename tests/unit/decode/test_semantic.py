"""The semantic-type conversions at their edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from connector.decode import semantic


def test_days_before_the_epoch():
    """Negative day counts are dates before 1970."""
    assert semantic.days(-365) == date(1969, 1, 1)


def test_nanos_keep_microseconds_and_are_utc():
    """Nanosecond timestamps keep microsecond precision, UTC-aware."""
    assert semantic.nanos(1_999) == datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def test_zoned_z_suffix_is_utc():
    """A trailing Z is read as UTC."""
    assert semantic.zoned("2026-05-06T07:08:09.5Z") == datetime(
        2026, 5, 6, 7, 8, 9, 500000, tzinfo=UTC
    )


def test_time_nanos():
    """Nanoseconds since midnight become a time of day."""
    assert semantic.time_nanos(86_399_999_999_999) == time(23, 59, 59, 999999)


def test_unscaled_negative_decimal():
    """Two's-complement bytes with a scale become a negative Decimal."""
    assert semantic.unscaled(b"\xff\x85", 3) == Decimal("-0.123")


def test_decimal_rejects_bad_base64():
    """Base64 that is not base64 is a ValueError (a bad value, not a crash)."""
    with pytest.raises(ValueError, match="base64"):
        semantic.decimal_of("@@@", 2)


def test_integer_conversions_refuse_booleans():
    """A boolean is not a day count."""
    with pytest.raises(TypeError):
        semantic.days(value=True)
