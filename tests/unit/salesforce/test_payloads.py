"""Input is checked whole before any call and split to fit one upload."""

from __future__ import annotations

import io

import pytest

from connector.errors import BulkInputError, SalesforceError
from connector.salesforce.payloads import CsvLines, prepare
from connector.salesforce.results import Operation

BIG = 10**9


def _sent(payload):
    """The bytes an upload sends: the body streamed from its start."""
    return b"".join(iter(payload.stream().read, b""))


def _bodies(payloads):
    return [_sent(p).decode() for p in payloads]


@pytest.mark.parametrize("operation", [Operation.UPDATE, Operation.DELETE, Operation.HARD_DELETE])
def test_id_operations_need_an_id_in_every_record(operation):
    """Update, delete and hard delete name the first record without an Id."""
    records = [{"Id": "001A"}, {"Id": None}, {"Name": "x"}]
    with pytest.raises(ValueError, match="record 2 has no Id") as caught:
        prepare(records, operation, max_bytes=BIG)
    assert isinstance(caught.value, BulkInputError)
    assert isinstance(caught.value, SalesforceError)
    assert caught.value.record == 2


def test_upsert_needs_the_external_id_in_every_record():
    """Upsert names the first record whose external id is missing, empty or #N/A."""
    for bad in ({"Name": "x"}, {"Key__c": ""}, {"Key__c": "#N/A"}):
        with pytest.raises(ValueError, match="record 2 has no Key__c"):
            prepare(
                [{"Key__c": "k"}, bad], Operation.UPSERT, external_id_field="Key__c", max_bytes=BIG
            )


def test_the_key_column_matches_case_insensitively():
    """Salesforce matches header names without case; so does the check."""
    (payload,) = prepare([{"id": "001A", "Name": "n"}], Operation.UPDATE, max_bytes=BIG)
    assert _sent(payload) == b"id,Name\n001A,n\n"


def test_deletes_send_only_the_id_column():
    """Delete payloads carry Id alone, from plain ids or from records."""
    (plain,) = prepare(["001A", "001B"], Operation.DELETE, max_bytes=BIG)
    (records,) = prepare([{"Id": "001A", "Name": "x"}], Operation.HARD_DELETE, max_bytes=BIG)
    assert _sent(plain) == b"Id\n001A\n001B\n"
    assert _sent(records) == b"Id\n001A\n"


def test_csv_input_is_checked_too():
    """A CSV without the key column, or with an empty key cell, is refused."""
    with pytest.raises(ValueError, match="no Id column"):
        prepare(io.StringIO("Name\nx\n"), Operation.UPDATE, max_bytes=BIG)
    with pytest.raises(ValueError, match="record 2 has no Id"):
        prepare(io.StringIO("Id,Name\n001A,x\n,y\n"), Operation.UPDATE, max_bytes=BIG)
    with pytest.raises(ValueError, match="record 1 has 1 cells"):
        prepare(io.StringIO("Id,Name\n001A\n"), Operation.UPDATE, max_bytes=BIG)


def test_input_is_split_at_the_byte_limit_with_the_header_each_time():
    """Each upload stays within the limit, repeats the header and keeps record order."""
    records = [{"Name": f"n{i:03d}"} for i in range(100)]
    payloads = prepare(records, Operation.INSERT, max_bytes=100)
    bodies = _bodies(payloads)
    assert len(bodies) > 1
    assert all(len(b.encode()) <= 100 for b in bodies)
    assert all(b.startswith("Name\n") for b in bodies)
    rows = [line for b in bodies for line in b.splitlines()[1:]]
    assert rows == [f"n{i:03d}" for i in range(100)]
    assert sum(p.rows for p in payloads) == 100


def test_a_record_larger_than_an_upload_is_refused():
    """One record over the limit cannot be split; it is named."""
    with pytest.raises(ValueError, match="record 2 alone"):
        prepare([{"Name": "a"}, {"Name": "x" * 500}], Operation.INSERT, max_bytes=100)


def test_a_value_without_a_salesforce_form_names_its_record():
    """NaN in record 3 is refused before anything is sent."""
    with pytest.raises(ValueError, match="record 3"):
        prepare([{"A": 1}, {"A": 2}, {"A": float("nan")}], Operation.INSERT, max_bytes=BIG)


def test_rendered_lines_are_cut_as_they_are_with_exact_sizes():
    """CsvLines are not read again: split by their UTF-8 size, header on each, order kept."""
    lines = [f"k{i:03d},Zoë {i}" for i in range(200)]
    payloads = prepare(
        CsvLines(("Ext__c", "Name"), lines), Operation.UPSERT, external_id_field="Ext__c",
        max_bytes=300,
    )  # fmt: skip
    bodies = [_sent(p) for p in payloads]
    assert len(bodies) > 1
    assert all(len(body) <= 300 for body in bodies)
    assert [p.size for p in payloads] == [len(body) for body in bodies]
    assert all(body.startswith(b"Ext__c,Name\n") for body in bodies)
    assert [x for body in bodies for x in body.decode().splitlines()[1:]] == lines


def test_rendered_lines_need_the_key_column():
    """The header must hold the key an upsert matches on."""
    with pytest.raises(BulkInputError, match="no Ext__c column"):
        prepare(CsvLines(("Name",), ["a"]), Operation.UPSERT, external_id_field="Ext__c",
                max_bytes=BIG)  # fmt: skip


def test_an_upload_is_handed_over_in_large_pieces():
    """Up to 1 MiB per read, whatever size http.client asks for.

    It asks for 8 KiB; each piece would then wait for the GIL behind the loop thread.
    """
    rows = [{"Name": "x" * 1_000} for _ in range(3_000)]
    [payload] = prepare(rows, Operation.INSERT, max_bytes=BIG)
    body = payload.stream()
    first = body.read(8192)
    assert len(first) == 2**20
    assert len(body) == payload.size
