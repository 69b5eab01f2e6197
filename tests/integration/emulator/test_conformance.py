"""One test per error case of the reference (sections 2, 4, 6, 9, 12): status and body."""

from __future__ import annotations

import csv
import io

import pytest

from emulator.ids import make_id
from tests.integration.emulator.conftest import wait_for_state
from tests.support.emulator import EmulatorHandle

NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
UNKNOWN_JOB = make_id("750", 999_999)
UNKNOWN_ACCOUNT = make_id("001", 999_999)


def _create(http, **body) -> dict:
    body = {"object": "Account", "operation": "insert", **body}
    response = http("POST", "/jobs/ingest", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _put(http, job_id: str, text: str):
    return http(
        "PUT",
        f"/jobs/ingest/{job_id}/batches",
        data=text.encode(),
        headers={"Content-Type": "text/csv"},
    )


def _close(http, job_id: str):
    return http("PATCH", f"/jobs/ingest/{job_id}", json={"state": "UploadComplete"})


def _run(http, text: str, **body) -> dict:
    job = _create(http, **body)
    assert _put(http, job["id"], text).status_code == 201
    assert _close(http, job["id"]).status_code == 200
    return wait_for_state(http, f"/jobs/ingest/{job['id']}", {"JobComplete", "Failed"})


def _failed(http, job_id: str) -> list[str]:
    text = http("GET", f"/jobs/ingest/{job_id}/failedResults").text
    return [r["sf__Error"] for r in csv.DictReader(io.StringIO(text))]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("GET", "/successfulResults"),
        ("GET", "/failedResults"),
        ("GET", "/unprocessedrecords"),
    ],
)
def test_unknown_job_is_404_not_found(http, method, suffix):
    """Any call on an unknown job id is 404 NOT_FOUND."""
    response = http(method, f"/jobs/ingest/{UNKNOWN_JOB}{suffix}", json={"state": "Aborted"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_deleted_job_is_404(http):
    """After DELETE (204, empty body) the job is gone."""
    job = _create(http)
    assert http("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "Aborted"}).ok
    deleted = http("DELETE", f"/jobs/ingest/{job['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert http("GET", f"/jobs/ingest/{job['id']}").json() == NOT_FOUND


def test_abort_completed_job_is_invalid_job_state(http):
    """Aborting a JobComplete job is 400 INVALIDJOBSTATE."""
    info = _run(http, "Name\nAcme\n")
    response = http("PATCH", f"/jobs/ingest/{info['id']}", json={"state": "Aborted"})
    assert response.status_code == 400
    assert response.json() == [
        {"errorCode": "INVALIDJOBSTATE", "message": "Aborting already Completed Job not allowed"}
    ]


def test_delete_open_job_is_refused(http):
    """Deleting an Open ingest job is 400 API_ERROR, as for a query job not terminated."""
    job = _create(http)
    response = http("DELETE", f"/jobs/ingest/{job['id']}")
    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "API_ERROR",
            "message": "Error encountered when deleting the job because the job is not terminated",
        }
    ]


def test_second_put_is_bulk_api_error(http):
    """A second upload to one job is 400 BULK_API_ERROR with Salesforce's (misspelt) message."""
    job = _create(http)
    assert _put(http, job["id"], "Name\nA\n").status_code == 201
    response = _put(http, job["id"], "Name\nB\n")
    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "BULK_API_ERROR",
            "message": f"Found multipe contents for job: <{job['id'][:15]}>, please 'Close' / "
            "'Abort' / 'Delete' the current Job then create a new Job and make sure you only "
            "do 'PUT' once on a given Job.",
        }
    ]


def test_unknown_object_is_invalid_job(http):
    """Creating a job on an unknown object is 400 INVALIDJOB."""
    response = http("POST", "/jobs/ingest", json={"object": "Foo", "operation": "insert"})
    assert response.status_code == 400
    assert response.json() == [
        {"errorCode": "INVALIDJOB", "message": "InvalidJob : Unable to find object: Foo"}
    ]


def test_bad_external_id_field_is_invalid_job(http):
    """An upsert keyed on a field that is not an external id is 400 INVALIDJOB."""
    response = http(
        "POST",
        "/jobs/ingest",
        json={"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"},
    )
    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "INVALIDJOB",
            "message": "InvalidJob : Field name provided, Name does not match an External ID "
            "for Account",
        }
    ]


@pytest.mark.parametrize(
    ("body", "name", "value"),
    [
        ({"object": "Account", "operation": ""}, "operation", ""),
        ({"object": "Account", "operation": "merge"}, "operation", "merge"),
        (
            {"object": "Account", "operation": "insert", "contentType": "JSON"},
            "contentType",
            "JSON",
        ),
        (
            {"object": "Account", "operation": "insert", "columnDelimiter": "COLON"},
            "columnDelimiter",
            "COLON",
        ),
    ],
)
def test_invalid_enum_is_api_error(http, body, name, value):
    """An invalid enum value on create is 400 API_ERROR naming the property."""
    response = http("POST", "/jobs/ingest", json=body)
    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "API_ERROR",
            "message": f"Invalid value: '{value}' supplied for property: '{name}'",
        }
    ]


def test_put_and_close_on_a_closed_job_are_invalid_job_state(http):
    """Uploading to or closing a job that is no longer Open is 400 INVALIDJOBSTATE."""
    job = _create(http)
    assert http("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "Aborted"}).ok
    put = _put(http, job["id"], "Name\nA\n")
    assert put.status_code == 400
    assert put.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    close = _close(http, job["id"])
    assert close.status_code == 400
    assert close.json() == [
        {"errorCode": "INVALIDJOBSTATE", "message": "Closing already Aborted Job not allowed"}
    ]


def test_unknown_state_value_is_refused(http):
    """A PATCH with a state that is not a job state is 400 API_ERROR."""
    job = _create(http)
    response = http("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "Done"})
    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "API_ERROR",
            "message": "Invalid value: 'Done' supplied for property: 'state'",
        }
    ]


def test_results_before_terminal_state_are_refused(http):
    """Results of a job still Open are 400 INVALIDJOBSTATE."""
    job = _create(http)
    response = http("GET", f"/jobs/ingest/{job['id']}/successfulResults")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALIDJOBSTATE"


def test_upload_over_the_limit_is_refused(org: EmulatorHandle, http):
    """An upload over the size limit is 413 and leaves the job Open without data."""
    org.admin.faults(max_upload_bytes=1000)
    job = _create(http)
    response = _put(http, job["id"], "Name\n" + "x\n" * 1000)
    assert response.status_code == 413
    assert response.json()[0]["errorCode"] == "EXCEEDED_MAX_SIZE_REQUEST"
    assert _put(http, job["id"], "Name\nsmall\n").status_code == 201


def test_unknown_column_fails_the_job(http):
    """A header naming an unknown field fails the whole job, naming the first bad column."""
    info = _run(http, "Name,Bogus__c,Other__c\nAcme,1,2\n")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Bogus__c"
    assert info["numberRecordsProcessed"] == 0


def test_bom_breaks_the_first_header(http):
    """A UTF-8 BOM stays in the first column name and fails the job."""
    info = _run(http, "\ufeffName\nAcme\n")
    assert info["errorMessage"] == "InvalidBatch : Field name not found : \ufeffName"


def test_line_ending_must_match_the_job(http):
    """CRLF data in an LF job fails it with ClientInputError."""
    info = _run(http, "Name\r\nAcme\r\n")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == (
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    )


def test_type_prefix_on_a_non_polymorphic_lookup_fails_the_job(http):
    """`Type:Rel.Field` on an ordinary lookup fails the job."""
    info = _run(http, "LastName,Account:Account.ExternalKey__c\nX,A\n", object="Contact")
    assert info["errorMessage"] == (
        "InvalidBatch : type is not needed for non polymorphic foreign key references: Account"
    )


def test_unique_field_duplicate_value(http):
    """A value already held by another record in a unique field is DUPLICATE_VALUE."""
    first = _run(http, "Name,Code__c\nA,C1\n", object="Subscription__c")
    assert first["numberRecordsFailed"] == 0
    info = _run(http, "Name,Code__c\nB,c1\n", object="Subscription__c")
    [error] = _failed(http, info["id"])
    assert error.startswith(
        "DUPLICATE_VALUE:duplicate value found: Code__c duplicates value on record with id: a01"
    )
    assert error.endswith(":--")


def test_several_matches_is_duplicate_external_id(http):
    """Upserting a key that several records carry is DUPLICATE_EXTERNAL_ID."""
    _run(http, "LastName,Company,LegacyId__c\nA,X,L-1\nB,Y,L-1\n", object="Lead")
    info = _run(
        http,
        "LegacyId__c,LastName\nL-1,C\n",
        object="Lead",
        operation="upsert",
        externalIdFieldName="LegacyId__c",
    )
    [error] = _failed(http, info["id"])
    assert error.startswith(
        "DUPLICATE_EXTERNAL_ID:Legacy ID: more than one record found for external id field: [00Q"
    )


def test_reference_errors(http):
    """Lookups by Id: malformed is MALFORMED_ID, wrong object or unknown record fail too."""
    info = _run(
        http,
        f"LastName,AccountId\nA,bad-id\nB,{make_id('003', 1)}\nC,{UNKNOWN_ACCOUNT}\n",
        object="Contact",
    )
    errors = sorted(_failed(http, info["id"]))
    assert errors == [
        "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
        f"MALFORMED_ID:Account ID: id value of incorrect type: {make_id('003', 1)}:AccountId --",
        "MALFORMED_ID:Account ID: id value of incorrect type: bad-id:AccountId --",
    ]


def test_restricted_picklist(http):
    """A value outside a restricted picklist is INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST."""
    info = _run(http, "LastName,Company,Status\nA,X,Nope\n", object="Lead")
    expected = (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Status: bad value for restricted picklist "
        "field: Nope:Status --"
    )
    assert _failed(http, info["id"]) == [expected]


def test_not_updateable_field(http):
    """Updating a field that is createable but not updateable fails the row."""
    _run(http, "Name,Origin__c,ExternalKey__c\nA,web,S-1\n", object="Subscription__c")
    info = _run(
        http,
        "ExternalKey__c,Origin__c\nS-1,api\n",
        object="Subscription__c",
        operation="upsert",
        externalIdFieldName="ExternalKey__c",
    )
    [error] = _failed(http, info["id"])
    assert error.startswith(
        "INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: Origin__c."
    )


def test_rest_upsert_with_several_matches_is_300(http):
    """A REST upsert whose key matches several records answers 300 with their URLs."""
    _run(http, "LastName,Company,LegacyId__c\nA,X,L-2\nB,Y,L-2\n", object="Lead")
    response = http("PATCH", "/sobjects/Lead/LegacyId__c/L-2", json={"LastName": "Z"})
    assert response.status_code == 300
    assert len(response.json()) == 2


def test_rest_unknown_record_is_404(http):
    """Reading an unknown record is 404 NOT_FOUND."""
    response = http("GET", f"/sobjects/Account/{UNKNOWN_ACCOUNT}")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_wrong_method_is_405_in_salesforce_form(http):
    """A method a resource does not take is 405 METHOD_NOT_ALLOWED with an error array."""
    response = http("PUT", "/limits")
    assert response.status_code == 405
    [error] = response.json()
    assert error["errorCode"] == "METHOD_NOT_ALLOWED"
    assert error["message"].startswith("HTTP Method 'PUT' not allowed. Allowed are ")
