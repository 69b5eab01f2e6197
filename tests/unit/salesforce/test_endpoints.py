"""Every call the client makes falls in a short, bounded endpoint class."""

from __future__ import annotations

import pytest

from connector.salesforce.endpoints import endpoint_class

BASE = "https://org.example.com/services/data/v62.0"
JOB = "750R0000000zlh9IAA"


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("POST", "https://login.example.com/services/oauth2/token", "oauth"),
        ("GET", "https://org.example.com/services/data", "versions"),
        ("GET", "https://org.example.com/services/data/v62.0", "versions"),
        ("POST", f"{BASE}/jobs/ingest", "ingest_create"),
        ("GET", f"{BASE}/jobs/ingest?jobType=V2Ingest", "ingest_list"),
        ("PUT", f"{BASE}/jobs/ingest/{JOB}/batches", "ingest_upload"),
        ("PATCH", f"{BASE}/jobs/ingest/{JOB}", "ingest_state"),
        ("GET", f"{BASE}/jobs/ingest/{JOB}", "ingest_poll"),
        ("GET", f"{BASE}/jobs/ingest/{JOB}/failedResults", "ingest_results"),
        ("GET", f"{BASE}/jobs/ingest/{JOB}/unprocessedrecords/", "ingest_results"),
        ("DELETE", f"{BASE}/jobs/ingest/{JOB}", "ingest_delete"),
        ("POST", f"{BASE}/jobs/query", "bulk_query_create"),
        ("GET", f"{BASE}/jobs/query/{JOB}/results?maxRecords=5&locator=abc", "bulk_query_results"),
        ("GET", f"{BASE}/query?q=SELECT+Id+FROM+Account", "query"),
        ("GET", f"{BASE}/queryAll/01gR0000000abc-2000", "query"),
        ("GET", f"{BASE}/sobjects/Account/describe", "describe"),
        ("PATCH", f"{BASE}/sobjects/Account/ExternalKey__c/k-1", "sobjects"),
        ("GET", f"{BASE}/limits", "limits"),
        ("POST", f"{BASE}/composite/sobjects", "composite"),
        ("GET", f"{BASE}/tooling/query", "other"),
    ],
)
def test_endpoint_class(method: str, url: str, expected: str) -> None:
    """Ids, query strings and record keys never reach the class name."""
    assert endpoint_class(method, url) == expected
