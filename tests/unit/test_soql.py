"""The emulator's SOQL: parsing, Salesforce's semantics, and its error bodies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from emulator.soql import SoqlError, parse

TYPES = {
    "Id": "id",
    "Name": "string",
    "Employees": "int",
    "Active": "boolean",
    "Founded": "date",
    "Seen": "datetime",
    "Score": "double",
}
ROWS = [
    {
        "Id": "001A",
        "Name": "Acme",
        "Employees": 10,
        "Active": True,
        "Founded": date(2020, 1, 1),
        "Seen": datetime(2024, 1, 1, tzinfo=UTC),
        "Score": Decimal("1.5"),
    },
    {
        "Id": "001B",
        "Name": "beta",
        "Employees": None,
        "Active": False,
        "Founded": None,
        "Seen": None,
        "Score": None,
    },
    {
        "Id": "001C",
        "Name": "Gamma",
        "Employees": 30,
        "Active": True,
        "Founded": date(2022, 1, 1),
        "Seen": None,
        "Score": 2.0,
    },
]


def fields_of(name: str) -> Mapping[str, str] | None:
    """The test org: one object, Account."""
    return TYPES if name.lower() == "account" else None


def names(soql: str) -> list[object]:
    """The Name of each row the query returns, in order."""
    return [row["Name"] for row in parse(soql, fields_of).run(ROWS)]


def test_select_resolves_names_case_insensitively() -> None:
    """Keywords and field names in any case resolve to the canonical spelling."""
    query = parse("select id, NAME from account", fields_of)
    assert query.fields == ("Id", "Name")
    assert not query.is_count
    assert next(iter(query.run(ROWS))) == {"Id": "001A", "Name": "Acme"}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'ACME'", ["Acme"]),
        ("Name != 'acme'", ["beta", "Gamma"]),
        ("Name <> 'acme'", ["beta", "Gamma"]),
        ("Employees > 10", ["Gamma"]),
        ("Employees <= 10", ["Acme"]),
        ("Employees = null", ["beta"]),
        ("Employees != null", ["Acme", "Gamma"]),
        ("Name IN ('acme', 'GAMMA')", ["Acme", "Gamma"]),
        ("Employees NOT IN (10)", ["beta", "Gamma"]),
        ("Name LIKE 'a%'", ["Acme"]),
        ("Name LIKE '_eta'", ["beta"]),
        ("Active = true AND NOT Name = 'Acme'", ["Gamma"]),
        ("(Name = 'beta' OR Employees > 20) AND Active = false", ["beta"]),
        ("Founded >= 2021-01-01", ["Gamma"]),
        ("Seen = 2024-01-01T00:00:00Z", ["Acme"]),
        ("Seen < 2024-01-01T01:00:00+01:00", []),
        ("Score > 1.9", ["Gamma"]),
    ],
)
def test_where_follows_soql_semantics(where: str, expected: list[str]) -> None:
    """Comparisons ignore case for text, treat null as a value, and compare numbers exactly."""
    assert names(f"SELECT Name FROM Account WHERE {where}") == expected


def test_order_by_puts_nulls_first_ascending_and_last_descending() -> None:
    """ASC sorts nulls first, DESC last, unless NULLS FIRST/LAST says otherwise."""
    assert names("SELECT Name FROM Account ORDER BY Employees") == ["beta", "Acme", "Gamma"]
    assert names("SELECT Name FROM Account ORDER BY Employees DESC") == ["Gamma", "Acme", "beta"]
    assert names("SELECT Name FROM Account ORDER BY Employees ASC NULLS LAST") == [
        "Acme",
        "Gamma",
        "beta",
    ]
    assert names("SELECT Name FROM Account ORDER BY Active DESC, Name") == ["Acme", "Gamma", "beta"]


def test_limit_offset_and_count() -> None:
    """OFFSET skips, LIMIT caps, COUNT() counts the matches."""
    assert names("SELECT Name FROM Account ORDER BY Name LIMIT 1 OFFSET 1") == ["beta"]
    query = parse("SELECT COUNT() FROM Account WHERE Active = true", fields_of)
    assert query.is_count
    assert query.count(ROWS) == 2


def test_run_streams_without_order_by() -> None:
    """Without ORDER BY, rows are read lazily: LIMIT stops the reading."""

    def endless() -> Iterator[Mapping[str, object]]:
        yield from ROWS
        raise AssertionError("read past what LIMIT needs")

    assert len(list(parse("SELECT Name FROM Account LIMIT 3", fields_of).run(endless()))) == 3


@pytest.mark.parametrize(
    ("soql", "code", "ending"),
    [
        (
            "SELECT Nme FROM Account",
            "INVALID_FIELD",
            (
                "ERROR at Row:1:Column:8\nNo such column 'Nme' on entity 'Account'. If you "
                "are attempting to use a custom field, be sure to append the '__c' after the "
                "custom field name. Please reference your WSDL or the describe call for the "
                "appropriate names."
            ),
        ),
        (
            "SELECT Id FROM Acount",
            "INVALID_TYPE",
            (
                "sObject type 'Acount' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference "
                "your WSDL or the describe call for the appropriate names."
            ),
        ),
        (
            "SELECT FROM Account",
            "MALFORMED_QUERY",
            "\nSELECT FROM Account\n       ^\nERROR at Row:1:Column:8\nunexpected token: FROM",
        ),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        (
            "SELECT Id FROM Account WHERE Employees = '3'",
            "INVALID_FIELD",
            (
                "value of filter criterion for field 'Employees' must be of type integer and "
                "should not be enclosed in quotes"
            ),
        ),
        (
            "SELECT Id FROM Account WHERE Name = 3",
            "INVALID_FIELD",
            (
                "value of filter criterion for field 'Name' must be of type string and should be "
                "enclosed in quotes"
            ),
        ),
        (
            "SELECT Id FROM Account WHERE Founded = 2024-01-01T00:00:00Z",
            "INVALID_FIELD",
            "must be of type date and should not be enclosed in quotes",
        ),
        ("SELECT Account.Name FROM Account", "MALFORMED_QUERY", "relationship paths"),
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY", "GROUP is not supported"),
    ],
)
def test_errors_are_worded_as_salesforce_words_them(soql: str, code: str, ending: str) -> None:
    """Each refusal carries Salesforce's errorCode and its layout: query, caret, row/column."""
    with pytest.raises(SoqlError) as caught:
        parse(soql, fields_of)
    assert caught.value.error_code == code
    assert caught.value.message.endswith(ending) or ending in caught.value.message
    assert caught.value.message.startswith(f"\n{soql}\n")
