"""Every ingest operation against the emulator, asserted on the org's records."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connector.salesforce import BulkClient, JobState
from tests.support.emulator import EmulatorHandle


def _accounts(n: int, prefix: str = "A") -> list[dict[str, object]]:
    return [{"ExternalKey__c": f"{prefix}-{i}", "Name": f"Account {i}"} for i in range(n)]


def test_insert_reports_ids_and_created(client: BulkClient, org: EmulatorHandle):
    """An insert writes every row and returns each new Id, marked created."""
    result = client.insert("Account", [{"Name": "Acme"}, {"Name": "Globex"}])
    assert result.job.state is JobState.JOB_COMPLETE
    assert result.job.is_successful()
    assert result.success_count == 2
    assert result.failed_count == 0
    assert result.total_records == 2
    live = {r["Id"] for r in org.admin.live("Account")}
    assert {r.sf_id for r in result.success_records} == live
    assert all(r.created for r in result.success_records)


def test_upsert_inserts_then_updates(client: BulkClient, org: EmulatorHandle):
    """Upsert by external id creates unknown keys and updates known ones."""
    client.upsert("Account", _accounts(3), "ExternalKey__c")
    result = client.upsert(
        "Account",
        [{"ExternalKey__c": "A-1", "Name": "Renamed"}, {"ExternalKey__c": "A-9", "Name": "New"}],
        "ExternalKey__c",
    )
    created = {r.fields["ExternalKey__c"]: r.created for r in result.success_records}
    assert created == {"A-1": False, "A-9": True}
    names = sorted(r["Name"] for r in org.admin.live("Account"))
    assert names == ["Account 0", "Account 2", "New", "Renamed"]


def test_typed_values_and_nulls_reach_the_org(client: BulkClient, org: EmulatorHandle):
    """Booleans, dates, datetimes and decimals arrive exactly; None clears, absent keeps."""
    client.upsert(
        "Account",
        [
            {
                "ExternalKey__c": "T-1",
                "Name": 'Quote "and", comma\nnewline',
                "Active__c": True,
                "Founded__c": date(1999, 12, 31),
                "LastSyncedAt__c": datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
                "Score__c": Decimal("0.1") + Decimal("0.2"),
                "Phone": "555",
                "Description": "kept",
            }
        ],
        "ExternalKey__c",
    )
    client.upsert("Account", [{"ExternalKey__c": "T-1", "Phone": None}], "ExternalKey__c")
    (record,) = org.admin.live("Account")
    assert record["Name"] == 'Quote "and", comma\nnewline'
    assert record["Active__c"] is True
    assert record["Founded__c"] == "1999-12-31"
    assert record["LastSyncedAt__c"].startswith("2024-05-06T07:08:09.123")
    assert Decimal(str(record["Score__c"])) == Decimal("0.3")
    assert record["Phone"] is None
    assert record["Description"] == "kept"


def test_update_delete_and_hard_delete(client: BulkClient, org: EmulatorHandle):
    """Update by Id changes rows; delete and hard_delete remove them by Id."""
    ids = [r.sf_id for r in client.insert("Account", _accounts(4)).success_records]
    updated = client.update("Account", [{"Id": i, "Name": "Updated"} for i in ids])
    assert updated.success_count == 4
    assert {r["Name"] for r in org.admin.live("Account")} == {"Updated"}
    deleted = client.delete("Account", ids[:2])
    assert deleted.success_count == 2
    hard = client.hard_delete("Account", [{"Id": i, "Name": "ignored"} for i in ids[2:]])
    assert hard.success_count == 2
    assert org.admin.live("Account") == []


def test_failed_rows_carry_code_message_and_fields(client: BulkClient):
    """Rows Salesforce refuses come back with their status code, message and fields."""
    result = client.insert("Account", [{"Name": "ok"}, {"Name": None}, {"NumberOfEmployees": 3}])
    assert result.success_count == 1
    assert result.failed_count == 2
    assert not result.job.is_successful()
    codes = {e.status_code for e in result.errors}
    assert codes == {"REQUIRED_FIELD_MISSING"}
    assert all(e.fields == ("Name",) for e in result.errors)


def test_csv_file_and_stream_inputs(client: BulkClient, org: EmulatorHandle, tmp_path):
    """A CSV path, a binary stream and a text stream are accepted as records."""
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeffExternalKey__c,Name\nF-1,From file\n".encode())
    client.upsert("Account", path, "ExternalKey__c")
    client.upsert("Account", io.BytesIO(b"ExternalKey__c,Name\nF-2,Bytes\n"), "ExternalKey__c")
    client.upsert("Account", io.StringIO("ExternalKey__c,Name\nF-3,Text\n"), "ExternalKey__c")
    assert sorted(r["Name"] for r in org.admin.live("Account")) == ["Bytes", "From file", "Text"]


def test_missing_id_raises_before_any_call(client: BulkClient, org: EmulatorHandle):
    """An update without an Id is refused locally, naming the record; nothing is sent."""
    before = org.admin.calls()["calls"]
    with pytest.raises(ValueError, match="record 2 has no Id"):
        client.update("Account", [{"Id": "001000000000001AAA", "Name": "x"}, {"Name": "y"}])
    with pytest.raises(ValueError, match="record 1 has no ExternalKey__c"):
        client.upsert("Account", [{"Name": "y"}], "ExternalKey__c")
    assert org.admin.calls()["calls"] == before
    assert client.http_calls == 0


def test_progress_is_reported_as_the_job_changes(client: BulkClient, org: EmulatorHandle):
    """on_progress sees each change of the job, ending with the terminal state."""
    org.admin.faults(job_delay_seconds=0.3)
    seen: list[JobState] = []
    client.upsert(
        "Account", _accounts(5), "ExternalKey__c", on_progress=lambda j: seen.append(j.state)
    )
    assert seen[0] in {JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS}
    assert seen[-1] is JobState.JOB_COMPLETE
    assert len(seen) >= 2


def test_counts_without_downloading_successes(client: BulkClient):
    """fetch_successes=False skips the successful rows' file; the counts stay exact."""
    result = client.insert(
        "Account", [{"Name": "a"}, {"Name": "b"}, {"Name": None}], fetch_successes=False
    )
    assert result.success_records == ()
    assert (result.success_count, result.failed_count, result.total_records) == (2, 1, 3)
    assert len(result.failed_records) == 1
