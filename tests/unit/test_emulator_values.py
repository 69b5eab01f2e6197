"""Emulator building blocks with no I/O: ids, value conversion, the objects file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from emulator import ids, schema
from emulator.values import FieldError, converter, java_double, parse_datetime


def test_fifteen_char_ids_get_the_case_safe_suffix():
    """The 18-character form of a known id matches Salesforce's."""
    assert ids.normalize("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert ids.normalize("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"
    assert ids.normalize("001A0000006Vm9riac") == "001A0000006Vm9rIAC"


def test_malformed_ids_are_refused():
    """Wrong lengths, bad characters and a suffix that disagrees are malformed."""
    assert ids.normalize("001A0000006Vm9") is None
    assert ids.normalize("001A0000006Vm9r-AC") is None
    assert ids.normalize("001A0000006Vm9rAAA") is None


def test_made_ids_are_well_formed_and_distinct():
    """Generated ids are 18 characters, carry the key prefix and survive normalize."""
    made = {ids.make_id("a01", n) for n in range(1, 1000)}
    assert len(made) == 999
    assert all(len(i) == 18 and i.startswith("a01") and ids.normalize(i) == i for i in made)


def test_datetimes_in_every_accepted_form():
    """Offsets, Z, milliseconds and a missing seconds part all parse to UTC."""
    expected = datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert parse_datetime("2024-01-02T03:04:05.123Z") == expected
    assert parse_datetime("2024-01-02T05:04:05.123+02:00") == expected
    assert parse_datetime("2024-01-02T05:04:05.123+0200") == expected
    assert parse_datetime("2024-13-02T03:04:05Z") is None


def test_java_double_formatting():
    """Numbers echo as Java's Double.toString prints them."""
    assert java_double(912260031.0) == "9.12260031E8"
    assert java_double(2676.0) == "2676.0"
    assert java_double(0.0001) == "1.0E-4"


def test_converters_raise_salesforce_errors():
    """A bad value raises FieldError with the status code and sf__Error wording."""
    objects = schema.load(schema.default_path())
    employees = objects.objects["Account"].fields["NumberOfEmployees"]
    with pytest.raises(FieldError) as caught:
        converter(employees)("1.5")
    assert caught.value.sf_error() == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD:NumberOfEmployees: value not of required type: 1.5:"
        "NumberOfEmployees --"
    )
    active = objects.objects["Account"].fields["Active__c"]
    assert converter(active)("TRUE") == 1


def test_objects_file_errors_name_the_field(tmp_path: Path):
    """An unknown field type is refused with the field's name."""
    path = tmp_path / "objects.yaml"
    path.write_text("Foo__c:\n  keyPrefix: a09\n  fields:\n    Bar__c: {type: money}\n")
    with pytest.raises(schema.SchemaError, match="Bar__c"):
        schema.load(path)
