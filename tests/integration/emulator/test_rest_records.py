"""REST records, upsert by external id, describe, limits and Collections, via simple-salesforce."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from tests.support.emulator import EmulatorHandle


def test_create_read_update_delete_by_id(sf, org: EmulatorHandle):
    """A record created by REST can be read, updated and deleted by its Id."""
    created = sf.Account.create({"Name": "Acme", "NumberOfEmployees": 5, "Active__c": True})
    assert created["success"] is True
    record_id = created["id"]
    assert len(record_id) == 18
    read = sf.Account.get(record_id)
    assert read["Name"] == "Acme"
    assert read["Active__c"] is True
    assert read["attributes"]["type"] == "Account"
    assert sf.Account.update(record_id, {"Name": "Acme Corp"}) == 204
    assert sf.Account.get(record_id[:15])["Name"] == "Acme Corp"
    assert sf.Account.delete(record_id) == 204
    [stored] = org.admin.records("Account")
    assert stored["IsDeleted"] is True
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.delete(record_id)
    assert caught.value.content == [
        {"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
    ]


def test_create_refuses_missing_required_field(sf):
    """A create without a required field is a 400 with REQUIRED_FIELD_MISSING."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Contact.create({"FirstName": "Ann"})
    assert caught.value.content == [
        {
            "errorCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]",
            "fields": ["LastName"],
        }
    ]


def test_upsert_by_external_id_creates_then_updates(sf, org: EmulatorHandle):
    """PATCH by external id answers 201 when it creates and 200 when it updates."""
    assert sf.Account.upsert("ExternalKey__c/A-1", {"Name": "Acme"}) == 201
    assert sf.Account.upsert("ExternalKey__c/A-1", {"Name": "Acme 2"}) == 200
    [record] = org.admin.live("Account")
    assert record["Name"] == "Acme 2"
    assert sf.Account.get_by_custom_id("ExternalKey__c", "A-1")["Id"] == record["Id"]


def test_upsert_sets_a_parent_by_its_external_id(sf, org: EmulatorHandle):
    """A relationship object in the body sets the lookup by the parent's external id."""
    sf.Account.upsert("ExternalKey__c/A-9", {"Name": "Parent"})
    sf.Contact.upsert(
        "ExternalKey__c/C-9", {"LastName": "Kid", "Account": {"ExternalKey__c": "A-9"}}
    )
    [account] = org.admin.live("Account")
    [contact] = org.admin.live("Contact")
    assert contact["AccountId"] == account["Id"]


def test_describe_lists_fields_and_external_ids(sf):
    """Describe reports types, lengths, requiredness and external id flags from the YAML."""
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Lead", "Subscription__c"} <= names
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert fields["ExternalKey__c"]["externalId"] is True
    assert fields["ExternalKey__c"]["idLookup"] is True
    assert fields["LastName"]["nillable"] is False
    assert fields["LastName"]["length"] == 80
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["Id"]["createable"] is False


def test_limits_report_daily_allocations(sf):
    """/limits has Max and Remaining for the allocations a sink watches."""
    limits = sf.limits()
    for key in ("DailyApiRequests", "DailyBulkApiBatches", "DailyBulkV2QueryJobs"):
        assert limits[key]["Remaining"] <= limits[key]["Max"]
    assert limits["DailyApiRequests"]["Max"] == 100_000


def test_collections_create_update_upsert_delete(http, org: EmulatorHandle):
    """Collections calls answer 200 with one result per record, in request order."""
    created = http(
        "POST",
        "/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "A"},
                {"attributes": {"type": "Account"}},
            ],
        },
    )
    assert created.status_code == 200
    first, second = created.json()
    assert first["success"] is True
    assert second["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    updated = http(
        "PATCH",
        "/composite/sobjects",
        json={"records": [{"attributes": {"type": "Account"}, "Id": first["id"], "Name": "B"}]},
    )
    assert updated.json()[0]["success"] is True
    upserted = http(
        "PATCH",
        "/composite/sobjects/Account/ExternalKey__c",
        json={"records": [{"attributes": {"type": "Account"}, "ExternalKey__c": "K", "Name": "C"}]},
    )
    assert upserted.json()[0]["created"] is True
    deleted = http("DELETE", f"/composite/sobjects?ids={first['id']}&allOrNone=false")
    assert deleted.json() == [{"id": first["id"], "success": True, "errors": []}]
    assert sorted(r["Name"] for r in org.admin.live("Account")) == ["C"]


def test_collections_all_or_none_rolls_back(http, org: EmulatorHandle):
    """With allOrNone one bad record fails the whole request and nothing is written."""
    response = http(
        "POST",
        "/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Good"},
                {"attributes": {"type": "Account"}, "NumberOfEmployees": 1},
            ],
        },
    )
    good, bad = response.json()
    assert good["success"] is False
    assert good["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert bad["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert org.admin.records("Account") == []


def test_collections_refuse_more_than_200_records(http):
    """More than 200 records in one call is a 400 EXCEEDED_ID_LIMIT."""
    records = [{"attributes": {"type": "Account"}, "Name": str(i)} for i in range(201)]
    response = http("POST", "/composite/sobjects", json={"records": records})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
