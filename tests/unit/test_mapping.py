"""Mapping events to rows: routes, keys, field maps, nulls, coercion, deletes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from connector.config import Config, SalesforceType
from connector.errors import MappingError, RecordError
from connector.mapping import Mapper, coerce, to_text
from connector.records import Action, ChangeEvent, Kept, Op, Position, Row, SourceRecord
from connector.salesforce.csvio import NULL

BASE: dict[str, Any] = {
    "kafka": {"consumer": {"bootstrap.servers": "x:1", "group.id": "g"}, "topics": ["acc"]},
    "salesforce": {
        "login_url": "https://login.example.test",
        "auth": {"flow": "access_token", "access_token": "t", "instance_url": "https://i"},
    },
    "dead_letter": {"topic": "dlq"},
}


def mapper(**route: Any) -> Mapper:
    """A Mapper with one route for topic `acc` (plus the given settings)."""
    settings = {"topic": "acc", "sobject": "Contact", "external_id": "Ext__c", **route}
    return Mapper(Config.model_validate({**BASE, "routes": [settings]}))


def event(
    fields: dict[str, object], key: object = None, op: Op = Op.UPSERT, topic: str = "acc"
) -> ChangeEvent:
    """An event from offset 7 of `topic`."""
    record = SourceRecord(Position(topic, 0, 7), b"k", b"v")
    return ChangeEvent(record=record, key=key, op=op, fields=fields)


def row_of(m: Mapper, e: ChangeEvent) -> Row | None:
    """The event's row, its record spooled at offset 0."""
    return m.to_row(e, Kept.of(e.position, 0))


def test_mapped_fields_are_renamed_dropped_and_nulls_kept() -> None:
    """Mapped names are used, null-mapped and unmapped fields dropped, None and "" clear."""
    m = mapper(fields={"first": "FirstName", "secret": None, "phone": "Phone", "t": "Title"})
    row = row_of(
        m,
        event({"first": "Ada", "secret": "x", "phone": None, "t": "", "other": 1}, key={"id": 42}),
    )
    assert row is not None
    assert dict(row.fields) == {"FirstName": "Ada", "Phone": NULL, "Title": NULL, "Ext__c": "42"}
    assert row.lane.action is Action.UPSERT
    assert row.external_id == "42"
    assert tuple(s.position for s in row.sources) == (Position("acc", 0, 7),)


def test_absent_fields_stay_absent() -> None:
    """A sparse event yields only the fields it carries (others stay untouched)."""
    row = row_of(mapper(pass_unmapped=True), event({"Title": "CTO"}, key="c1"))
    assert row is not None
    assert dict(row.fields) == {"Title": "CTO", "Ext__c": "c1"}


def test_key_from_a_value_path_and_relationship_columns() -> None:
    """The key may live inside the value; a parent's external id fills a relationship column."""
    m = mapper(
        key_from="value",
        key_path="meta.uid",
        relationships={"account": "Account.Ext__c"},
        group_by="Account.Ext__c",
        constants={"LeadSource": "sfsink"},
    )
    row = row_of(m, event({"meta": {"uid": "u-9"}, "account": "a-1"}))
    assert row is not None
    assert dict(row.fields) == {"Account.Ext__c": "a-1", "LeadSource": "sfsink", "Ext__c": "u-9"}
    assert row.group == "a-1"


def test_deletes_follow_the_routes_delete_action() -> None:
    """A delete becomes a delete or hardDelete row, or nothing when deletes are ignored."""
    gone = event({}, key=5, op=Op.DELETE)
    delete = row_of(mapper(), gone)
    assert delete is not None
    assert (delete.lane.action, delete.external_id, dict(delete.fields)) == (Action.DELETE, "5", {})
    hard = row_of(mapper(on_delete="hard_delete"), gone)
    assert hard is not None
    assert hard.lane.action is Action.HARD_DELETE
    assert row_of(mapper(on_delete="ignore"), gone) is None


@pytest.mark.parametrize(
    ("key", "route", "reason"),
    [
        (None, {}, "missing_key"),
        ("", {}, "missing_key"),
        ({"a": 1, "b": 2}, {}, "missing_key"),
        ({"a": 1}, {"key_path": "b"}, "missing_key"),
    ],
)
def test_a_missing_key_is_a_record_error(key: object, route: dict[str, Any], reason: str) -> None:
    """Without an external id value the event is dead-lettered, never written."""
    with pytest.raises(MappingError) as caught:
        row_of(mapper(**route), event({"x": 1}, key=key))
    assert caught.value.reason == reason
    assert isinstance(caught.value, RecordError)


def test_an_unrouted_topic_is_a_record_error() -> None:
    """A topic no route matches is reported, not guessed."""
    with pytest.raises(MappingError, match="no route matches topic 'other'"):
        row_of(mapper(), event({}, key=1, topic="other"))


def test_an_uncoercible_value_names_the_field() -> None:
    """A value that does not fit the declared type is a bad_value with the field's name."""
    m = mapper(fields={"n": "NumberOfEmployees"}, coerce={"NumberOfEmployees": "int"})
    with pytest.raises(MappingError, match="'n' → NumberOfEmployees: 'many' is not a number"):
        row_of(m, event({"n": "many"}, key=1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (12, "12"),
        (0.1, "0.1"),
        (1e20, "100000000000000000000"),
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+2"), "100"),
        (date(2024, 2, 29), "2024-02-29"),
        (datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "2024-01-02T03:04:05.678Z"),
        (
            datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-02T03:04:05.000Z",
        ),
        (b"\x00\x01", "AAE="),
        ({"a": [1, 2]}, '{"a":[1,2]}'),
        ('plain, "quoted"\n', 'plain, "quoted"\n'),
    ],
)
def test_values_render_as_salesforce_reads_them(value: object, expected: str) -> None:
    """Booleans, numbers without float noise, dates and UTC datetimes in Salesforce's forms."""
    assert to_text(value) == expected


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("yes", "boolean", "true"),
        (0, "boolean", "false"),
        ("42", "int", "42"),
        (42.0, "int", "42"),
        ("3.25", "double", "3.25"),
        ("2024-05-06T07:08:09Z", "date", "2024-05-06"),
        (1_700_000_000_000, "datetime", "2023-11-14T22:13:20.000Z"),
        ("2024-05-06T07:08:09+02:00", "datetime", "2024-05-06T05:08:09.000Z"),
    ],
)
def test_declared_types_coerce(value: object, kind: str, expected: str) -> None:
    """A declared type accepts its usual spellings and renders one canonical form."""
    assert coerce(value, SalesforceType(kind)) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("maybe", "boolean"),
        ("4.5", "int"),
        (True, "double"),
        ("nan", "double"),
        ("soon", "date"),
        ("later", "datetime"),
        (float("inf"), "string"),
    ],
)
def test_declared_types_reject_what_does_not_fit(value: object, kind: str) -> None:
    """Values that do not fit their declared type are refused, not sent to fail later."""
    with pytest.raises((ValueError, TypeError)):
        coerce(value, SalesforceType(kind))
