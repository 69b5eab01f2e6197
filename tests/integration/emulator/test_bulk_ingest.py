"""Bulk API 2.0 ingest through simple-salesforce, unchanged, asserted on the org's records."""

from __future__ import annotations

import csv
import io

from simple_salesforce import Salesforce

from tests.support.emulator import EmulatorHandle


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _upload(sf: Salesforce, tmp_path, operation: str, text: str, **kwargs):
    path = tmp_path / f"{operation}.csv"
    path.write_text(text)
    return getattr(sf.bulk2.Account, operation)(str(path), wait=0.05, **kwargs)[0]


def test_insert_creates_records_with_18_char_ids(sf, org: EmulatorHandle, tmp_path):
    """An insert job creates every row and reports each id as created."""
    result = _upload(sf, tmp_path, "insert", "Name,NumberOfEmployees\nAcme,10\nGlobex,20\n")
    assert result["numberRecordsProcessed"] == 2
    assert result["numberRecordsFailed"] == 0
    records = {r["Name"]: r for r in org.admin.live("Account")}
    assert records["Acme"]["NumberOfEmployees"] == 10
    assert len(records["Globex"]["Id"]) == 18
    assert records["Globex"]["Id"].startswith("001")
    success = _csv(sf.bulk2.Account.get_successful_records(result["job_id"]))
    assert {r["sf__Created"] for r in success} == {"true"}
    assert {r["sf__Id"] for r in success} == {r["Id"] for r in records.values()}


def test_upsert_inserts_then_updates_by_external_id(sf, org: EmulatorHandle, tmp_path):
    """Upsert creates unknown keys and updates known ones, case-insensitively."""
    _upload(
        sf,
        tmp_path,
        "upsert",
        "ExternalKey__c,Name\nA-1,Acme\nA-2,Globex\n",
        external_id_field="ExternalKey__c",
    )
    result = _upload(
        sf,
        tmp_path,
        "upsert",
        "ExternalKey__c,Name\na-1,Acme Two\nA-3,Initech\n",
        external_id_field="ExternalKey__c",
    )
    success = _csv(sf.bulk2.Account.get_successful_records(result["job_id"]))
    assert {r["ExternalKey__c"]: r["sf__Created"] for r in success} == {
        "a-1": "false",
        "A-3": "true",
    }
    names = sorted(r["Name"] for r in org.admin.live("Account"))
    assert names == ["Acme Two", "Globex", "Initech"]


def test_na_clears_a_field_and_an_empty_cell_leaves_it(sf, org: EmulatorHandle, tmp_path):
    """`#N/A` sets a field to null; an empty cell leaves it unchanged."""
    _upload(
        sf,
        tmp_path,
        "upsert",
        "ExternalKey__c,Name,Phone,Website\nA-1,Acme,555,acme.io\n",
        external_id_field="ExternalKey__c",
    )
    _upload(
        sf,
        tmp_path,
        "upsert",
        "ExternalKey__c,Name,Phone,Website\nA-1,,#N/A,\n",
        external_id_field="ExternalKey__c",
    )
    [record] = org.admin.live("Account")
    assert record["Name"] == "Acme"
    assert record["Phone"] is None
    assert record["Website"] == "acme.io"


def test_row_errors_carry_salesforce_codes(sf, org: EmulatorHandle, tmp_path):
    """Type, length, required and duplicate-key errors fail only their rows, with sf__Error."""
    long_name = "x" * 256
    text = (
        "ExternalKey__c,Name,NumberOfEmployees\n"
        "A-1,Acme,abc\n"
        f"A-2,{long_name},1\n"
        "A-3,,1\n"
        "A-4,Dup,1\nA-4,Dup,2\n"
        "A-5,Fine,5\n"
    )
    result = _upload(sf, tmp_path, "upsert", text, external_id_field="ExternalKey__c")
    assert result["numberRecordsProcessed"] == 6
    assert result["numberRecordsFailed"] == 5
    failed = {
        r["ExternalKey__c"] + r["NumberOfEmployees"]: r["sf__Error"]
        for r in _csv(sf.bulk2.Account.get_failed_records(result["job_id"]))
    }
    assert failed["A-1abc"] == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD:NumberOfEmployees: value not of required type: abc:"
        "NumberOfEmployees --"
    )
    assert failed["A-21"] == (
        f"STRING_TOO_LONG:Name: data value too large: {long_name} (max length=255):Name --"
    )
    assert failed["A-31"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    assert failed["A-41"] == (
        "DUPLICATE_VALUE:Duplicate external id specified: A-4:ExternalKey__c --"
    )
    assert [r["Name"] for r in org.admin.live("Account")] == ["Fine"]


def test_update_and_delete_by_id(sf, org: EmulatorHandle, tmp_path):
    """Update changes named fields; delete moves records to the Recycle Bin, twice is an error."""
    _upload(sf, tmp_path, "insert", "Name\nAcme\nGlobex\n")
    ids = {r["Name"]: r["Id"] for r in org.admin.live("Account")}
    _upload(sf, tmp_path, "update", f"Id,Name\n{ids['Acme'][:15]},Acme Corp\n")
    deleted = _upload(sf, tmp_path, "delete", f"Id\n{ids['Globex']}\n")
    assert deleted["numberRecordsFailed"] == 0
    again = _upload(sf, tmp_path, "delete", f"Id\n{ids['Globex']}\nnot-an-id\n")
    failed = _csv(sf.bulk2.Account.get_failed_records(again["job_id"]))
    assert sorted(r["sf__Error"] for r in failed) == [
        "ENTITY_IS_DELETED:entity is deleted:--",
        "MALFORMED_ID:Record ID: id value of incorrect type: not-an-id:Id --",
    ]
    records = {r["Id"]: r for r in org.admin.records("Account")}
    assert records[ids["Acme"]]["Name"] == "Acme Corp"
    assert records[ids["Globex"]]["IsDeleted"] is True


def test_hard_delete_removes_records(sf, org: EmulatorHandle, tmp_path):
    """A hardDelete job skips the Recycle Bin: the record is gone, even for queryAll."""
    _upload(sf, tmp_path, "insert", "Name\nAcme\n")
    [record] = org.admin.live("Account")
    result = _upload(sf, tmp_path, "hard_delete", f"Id\n{record['Id']}\n")
    assert result["numberRecordsFailed"] == 0
    assert org.admin.records("Account") == []


def test_contacts_look_up_accounts_by_external_id(sf, org: EmulatorHandle, tmp_path):
    """`Account.ExternalKey__c` resolves the parent; an unknown parent fails the row."""
    _upload(
        sf,
        tmp_path,
        "upsert",
        "ExternalKey__c,Name\nA-77,Acme\n",
        external_id_field="ExternalKey__c",
    )
    path = tmp_path / "contacts.csv"
    path.write_text(
        "ExternalKey__c,LastName,Account.ExternalKey__c\nC-1,Smith,A-77\nC-2,Jones,A-404\n"
    )
    [result] = sf.bulk2.Contact.upsert(str(path), external_id_field="ExternalKey__c", wait=0.05)
    [account] = org.admin.live("Account")
    [contact] = org.admin.live("Contact")
    assert contact["AccountId"] == account["Id"]
    [failed] = _csv(sf.bulk2.Contact.get_failed_records(result["job_id"]))
    assert failed["sf__Error"] == (
        "INVALID_FIELD:Foreign key external ID: A-404 not found for field ExternalKey__c "
        "in entity Account:--"
    )
