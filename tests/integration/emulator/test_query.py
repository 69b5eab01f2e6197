"""SOQL over REST (query, queryAll, nextRecordsUrl) and Bulk API 2.0 query jobs."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.integration.emulator.conftest import wait_for_state
from tests.support.emulator import EmulatorHandle


def _accounts(sf, tmp_path, count: int) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "Name,NumberOfEmployees\n" + "".join(f"Acct {i:05d},{i}\n" for i in range(count))
    )
    [result] = sf.bulk2.Account.insert(str(path), wait=0.05)
    assert result["numberRecordsFailed"] == 0


def test_rest_query_follows_next_records_url(sf, tmp_path):
    """query_all follows nextRecordsUrl across pages of 2,000 and returns every record."""
    _accounts(sf, tmp_path, 4500)
    first = sf.query("SELECT Id, Name FROM Account")
    assert first["totalSize"] == 4500
    assert first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    every = sf.query_all("SELECT Id, Name FROM Account")
    assert len(every["records"]) == 4500
    assert len({r["Id"] for r in every["records"]}) == 4500
    assert every["records"][0]["attributes"]["type"] == "Account"


def test_rest_query_page_size_follows_query_options(http, sf, tmp_path):
    """Sforce-Query-Options: batchSize=200 gives pages of 200."""
    _accounts(sf, tmp_path, 450)
    page = http(
        "GET",
        "/query",
        params={"q": "SELECT Id FROM Account"},
        headers={"Sforce-Query-Options": "batchSize=200"},
    ).json()
    assert len(page["records"]) == 200
    assert page["totalSize"] == 450


def test_query_all_includes_deleted_records(sf, org: EmulatorHandle, tmp_path):
    """A queryAll call sees deleted records; a query does not."""
    _accounts(sf, tmp_path, 3)
    victim = org.admin.live("Account")[0]["Id"]
    sf.Account.delete(victim)
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 2
    assert sf.query_all("SELECT Id FROM Account", include_deleted=True)["totalSize"] == 3


def test_a_uri_over_16384_bytes_is_414_and_uri_plus_headers_over_it_is_431(http, org):
    """Salesforce's documented request-line limit, answered before the API counts a call."""
    before = org.admin.calls()["calls"].get("query", 0)

    def soql(count: int) -> str:  # each key takes 16 bytes of URI: %27k000000%27%2C
        keys = ",".join(f"'k{n:06d}'" for n in range(count))
        return f"SELECT Id FROM Account WHERE ExternalKey__c IN ({keys})"

    assert http("GET", "/query", params={"q": soql(1_100)}).status_code == 414
    fits = soql(800)
    assert http("GET", "/query", params={"q": fits}).status_code == 200
    padding = {"X-Padding": "p" * 8_000}
    assert http("GET", "/query", params={"q": fits}, headers=padding).status_code == 431
    assert org.admin.calls()["calls"].get("query", 0) == before + 1


def test_count_query(sf, tmp_path):
    """SELECT COUNT() answers totalSize with no records."""
    _accounts(sf, tmp_path, 7)
    result = sf.query("SELECT COUNT() FROM Account")
    assert result["totalSize"] == 7
    assert result["records"] == []


def test_malformed_query_is_400(sf):
    """A query naming an unknown field is a 400 with INVALID_FIELD."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Bogus__c FROM Account")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_bulk_query_pages_with_locator(sf, tmp_path):
    """A Bulk query job's results come in pages of maxRecords, each a CSV with its header."""
    _accounts(sf, tmp_path, 2500)
    pages = list(sf.bulk2.Account.query("SELECT Id, Name FROM Account", max_records=1000, wait=0))
    assert len(pages) == 3
    rows = [r for page in pages for r in csv.DictReader(io.StringIO(page))]
    assert len(rows) == 2500
    assert {r["Name"] for r in rows} == {f"Acct {i:05d}" for i in range(2500)}


def test_bulk_query_headers_and_last_page(http, sf, tmp_path):
    """Every page has Sforce-NumberOfRecords; the last has Sforce-Locator null."""
    _accounts(sf, tmp_path, 5)
    job = http(
        "POST", "/jobs/query", json={"operation": "query", "query": "SELECT Name FROM Account"}
    )
    assert job.status_code == 200
    assert job.json()["state"] == "UploadComplete"
    info = wait_for_state(http, f"/jobs/query/{job.json()['id']}", {"JobComplete"})
    assert info["jobType"] == "V2Query"
    assert info["numberRecordsProcessed"] == 5
    first = http("GET", f"/jobs/query/{info['id']}/results?maxRecords=3")
    assert first.headers["Sforce-NumberOfRecords"] == "3"
    assert first.text.splitlines()[0] == '"Name"'
    last = http(
        "GET",
        f"/jobs/query/{info['id']}/results/?maxRecords=3&locator={first.headers['Sforce-Locator']}",
    )
    assert last.headers["Sforce-NumberOfRecords"] == "2"
    assert last.headers["Sforce-Locator"] == "null"
    assert len(last.text.splitlines()) == 3


def test_bulk_query_all_sees_deleted(sf, org: EmulatorHandle, tmp_path):
    """A queryAll job returns deleted records too."""
    _accounts(sf, tmp_path, 4)
    sf.Account.delete(org.admin.live("Account")[0]["Id"])
    rows = [
        r
        for p in sf.bulk2.Account.query_all("SELECT Id FROM Account", wait=0)
        for r in csv.DictReader(io.StringIO(p))
    ]
    assert len(rows) == 4


def test_query_job_errors(http, sf, tmp_path):
    """Bad SOQL fails the create; a completed job cannot be aborted; results need its version."""
    bad = http(
        "POST", "/jobs/query", json={"operation": "query", "query": "SELECT Nope FROM Account"}
    )
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "INVALIDJOB"
    _accounts(sf, tmp_path, 1)
    job = http(
        "POST", "/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    ).json()
    wait_for_state(http, f"/jobs/query/{job['id']}", {"JobComplete"})
    abort = http("PATCH", f"/jobs/query/{job['id']}", json={"state": "Aborted"})
    assert abort.status_code == 400
    assert abort.json() == [
        {"errorCode": "INVALIDJOBSTATE", "message": "Aborting already Completed Job not allowed"}
    ]
    mismatch = http("GET", f"{sf.base_url.replace('v59.0', 'v62.0')}jobs/query/{job['id']}/results")
    assert mismatch.status_code == 409
    assert http("DELETE", f"/jobs/query/{job['id']}").status_code == 204


def test_delete_query_job_not_terminated_is_refused(org: EmulatorHandle, http):
    """Deleting a query job that has not finished is 400 API_ERROR."""
    org.admin.faults(stall_jobs=True)
    job = http(
        "POST", "/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    ).json()
    response = http("DELETE", f"/jobs/query/{job['id']}")
    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "API_ERROR",
            "message": "Error encountered when deleting the job because the job is not terminated",
        }
    ]
    assert (
        http("PATCH", f"/jobs/query/{job['id']}", json={"state": "Aborted"}).json()["state"]
        == "Aborted"
    )


def test_where_order_by_and_typed_values(sf, tmp_path):
    """Filters on booleans, dates and datetimes, ORDER BY and LIMIT see the stored values."""
    path = tmp_path / "typed.csv"
    path.write_text(
        "Name,Active__c,Founded__c,LastSyncedAt__c,AnnualRevenue\n"
        "A,true,2019-05-01,2024-01-02T03:04:05.000Z,100\n"
        "B,false,2021-05-01,2024-01-03T03:04:05.000+02:00,200\n"
        "C,true,2022-05-01,2024-01-04T00:00:00Z,300\n"
        "D,true,2023-05-01,,#N/A\n"
    )
    sf.bulk2.Account.insert(str(path), wait=0.05)
    result = sf.query(
        "SELECT Name, Founded__c, LastSyncedAt__c, AnnualRevenue FROM Account "
        "WHERE Active__c = true AND Founded__c > 2020-01-01 ORDER BY Name DESC LIMIT 5"
    )
    rows = [(r["Name"], r["Founded__c"], r["LastSyncedAt__c"]) for r in result["records"]]
    assert rows == [("D", "2023-05-01", None), ("C", "2022-05-01", "2024-01-04T00:00:00.000+0000")]
    since = sf.query("SELECT Name FROM Account WHERE LastSyncedAt__c >= 2024-01-03T00:00:00Z")
    assert sorted(r["Name"] for r in since["records"]) == ["B", "C"]
    nulls = sf.query("SELECT Name FROM Account WHERE AnnualRevenue = null")
    assert [r["Name"] for r in nulls["records"]] == ["D"]


def test_query_results_wait_for_job_complete_and_jobs_are_listed(org: EmulatorHandle, http):
    """Results of an unfinished query job are 400; GET /jobs/query lists V2Query jobs."""
    org.admin.faults(stall_jobs=True)
    job = http(
        "POST", "/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    )
    early = http("GET", f"/jobs/query/{job.json()['id']}/results")
    assert early.status_code == 400
    assert early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    listed = http("GET", "/jobs/query").json()
    assert [j["id"] for j in listed["records"]] == [job.json()["id"]]
    assert listed["records"][0]["jobType"] == "V2Query"
    assert listed["done"] is True
    org.admin.faults(stall_jobs=False)
    wait_for_state(http, f"/jobs/query/{job.json()['id']}", {"JobComplete"})
    done = http("GET", f"/jobs/query/{job.json()['id']}/results")
    assert done.status_code == 200
    assert done.headers["Sforce-Locator"] == "null"
    assert done.headers["Sforce-NumberOfRecords"] == "0"
    assert done.text == '"Id"\n'


def test_lookups_by_external_id_match_as_soql_does(sf, tmp_path):
    """An IN on an external id, read through its index, matches as SOQL does.

    Without case, alone or ANDed, deleted records only for queryAll; non-ASCII keys are
    found too (by a full read then).
    """
    path = tmp_path / "keyed.csv"
    path.write_text("Name,ExternalKey__c\nA,abc\nB,ABD\nC,Ünï\nD,other\n")
    [result] = sf.bulk2.Account.upsert(str(path), external_id_field="ExternalKey__c", wait=0.05)
    assert result["numberRecordsFailed"] == 0
    found = sf.query("SELECT Name FROM Account WHERE ExternalKey__c IN ('ABC','abd','zzz')")
    assert sorted(r["Name"] for r in found["records"]) == ["A", "B"]
    both = "SELECT Name FROM Account WHERE Name != 'A' AND ExternalKey__c IN ('abc','abd')"
    assert [r["Name"] for r in sf.query(both)["records"]] == ["B"]
    accented = sf.query("SELECT Name FROM Account WHERE ExternalKey__c = 'ünï'")
    assert [r["Name"] for r in accented["records"]] == ["C"]
    victim = sf.query("SELECT Id FROM Account WHERE ExternalKey__c = 'abc'")["records"][0]["Id"]
    sf.Account.delete(victim)
    gone = "SELECT Name FROM Account WHERE ExternalKey__c IN ('abc')"
    assert sf.query(gone)["totalSize"] == 0
    assert sf.query_all(gone, include_deleted=True)["totalSize"] == 1
