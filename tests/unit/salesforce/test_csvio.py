"""Records render to CSV by Salesforce's rules."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from connector.salesforce import csvio


def test_none_is_na_and_absent_is_empty():
    """None clears a field (#N/A); a key a record lacks leaves it unchanged (empty)."""
    data = csvio.render([{"A": "1", "B": None}, {"A": "2", "C": "x"}])
    assert data == b"A,B,C\n1,#N/A,\n2,,x\n"


def test_header_is_the_union_in_first_seen_order():
    """The header holds every key of every record, in the order first seen."""
    assert csvio.header_of([{"b": 1}, {"a": 1, "b": 2}, {"c": 3}]) == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (12345678901234567890, "12345678901234567890"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e20, "100000000000000000000"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("0.1") + Decimal("0.2"), "0.3"),
        (date(2024, 2, 29), "2024-02-29"),
        (datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "2024-01-02T03:04:05.678Z"),
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05.000Z"),  # noqa: DTZ001 - naive is UTC
        (
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-02T01:04:05.000Z",
        ),
        (time(13, 14, 15, 500000), "13:14:15.500Z"),
        (b"\x00\x01", "AAE="),
        ("#N/A", "#N/A"),
    ],
)
def test_values_in_salesforce_formats(value, text):
    """Booleans, numbers, dates, datetimes and bytes take Salesforce's text forms."""
    assert csvio.cell(value) == text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN")])
def test_non_finite_numbers_are_refused(value):
    """NaN and infinities have no Salesforce form."""
    with pytest.raises(ValueError, match="cannot be stored"):
        csvio.cell(value)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", "plain"),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("line\nbreak", '"line\nbreak"'),
        ("lone\rcr", '"lone\rcr"'),
        (" spaced ", " spaced "),
    ],
)
def test_quoting(text, quoted):
    """Delimiters, quotes, CR and LF are quoted, inner quotes doubled; nothing else."""
    assert csvio.quote(text) == quoted


def test_other_delimiters_quote_their_own_character():
    """With PIPE as delimiter, a pipe is quoted and a comma is not."""
    assert csvio.line(["a|b", "c,d"], "|") == '"a|b"|c,d\n'


def test_round_trip_through_a_csv_reader():
    """What we render reads back to the same cells with a standard CSV reader."""
    values = ['x,"y"\r\nz', "ünïcødé ✓", "", "#N/A"]
    data = csvio.render([{"v": v} for v in values])
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows == [["v"], *([v] for v in values)]


def test_parse_results_handles_empty_and_bom():
    """A result file may be empty, header-only, or start with a BOM."""
    assert csvio.parse(b"") == []
    assert csvio.parse(b'"sf__Id","sf__Error"\n') == []
    assert csvio.parse('\ufeff"a","b"\n"1","2"\n'.encode()) == [{"a": "1", "b": "2"}]
