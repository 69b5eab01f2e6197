"""Ingest wire details: JobInfo shapes, delimiters, line endings, paths, paging, progress."""

from __future__ import annotations

import csv
import io
import time

import pytest
import requests

from emulator.org import Settings
from emulator.schema import default_path
from emulator.server import EmulatorServer, Listen
from tests.integration.emulator.conftest import wait_for_state
from tests.support.emulator import EmulatorHandle

DELIMITERS = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
CREATE_KEYS = {
    "id",
    "operation",
    "object",
    "createdById",
    "createdDate",
    "systemModstamp",
    "state",
    "concurrencyMode",
    "contentType",
    "apiVersion",
    "contentUrl",
    "lineEnding",
    "columnDelimiter",
}


def _job(http, **body) -> dict:
    return http(
        "POST", "/jobs/ingest", json={"object": "Account", "operation": "insert", **body}
    ).json()


def _load(http, text: str, job: dict) -> dict:
    assert (
        http(
            "PUT",
            f"/jobs/ingest/{job['id']}/batches",
            data=text.encode(),
            headers={"Content-Type": "text/csv"},
        ).status_code
        == 201
    )
    assert http("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).ok
    return wait_for_state(http, f"/jobs/ingest/{job['id']}", {"JobComplete", "Failed"})


def test_jobinfo_shapes_follow_the_docs(http):
    """Create, PATCH and GET return the documented field sets, with exact enum spellings."""
    job = _job(http)
    assert set(job) == CREATE_KEYS
    assert job["state"] == "Open"
    assert job["apiVersion"] == 59.0
    assert job["concurrencyMode"] == "Parallel"
    assert job["contentUrl"] == f"services/data/v59.0/jobs/ingest/{job['id']}/batches"
    assert job["createdDate"].endswith("+0000")
    opened = http("GET", f"/jobs/ingest/{job['id']}").json()
    assert opened["jobType"] == "V2Ingest"
    assert "numberRecordsProcessed" not in opened
    http(
        "PUT",
        f"/jobs/ingest/{job['id']}/batches",
        data=b"Name\nA\n",
        headers={"Content-Type": "text/csv"},
    )
    closed = http("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).json()
    assert closed["state"] == "UploadComplete"
    assert "contentUrl" not in closed
    done = wait_for_state(http, f"/jobs/ingest/{job['id']}", {"JobComplete"})
    assert done["numberRecordsProcessed"] == 1
    assert done["numberRecordsFailed"] == 0
    assert {
        "retries",
        "totalProcessingTime",
        "apiActiveProcessingTime",
        "apexProcessingTime",
    } <= set(done)


@pytest.mark.parametrize("name", sorted(DELIMITERS))
def test_every_column_delimiter(http, org: EmulatorHandle, name):
    """Each delimiter parses uploads and is used in the result files."""
    d = DELIMITERS[name]
    info = _load(http, f'Name{d}Description\n"A{d}1"{d}x\n', _job(http, columnDelimiter=name))
    assert info["numberRecordsProcessed"] == 1
    assert org.admin.live("Account")[0]["Name"] == f"A{d}1"
    text = http("GET", f"/jobs/ingest/{info['id']}/successfulResults").text
    assert text.splitlines()[0] == d.join(['"sf__Id"', '"sf__Created"', "Name", "Description"])


def test_crlf_jobs_take_crlf_data(http, org: EmulatorHandle):
    """A CRLF job parses CRLF uploads, quoted newlines included."""
    info = _load(http, 'Name,Description\r\nA,"two\r\nlines"\r\n', _job(http, lineEnding="CRLF"))
    assert info["state"] == "JobComplete"
    assert org.admin.live("Account")[0]["Description"] == "two\r\nlines"


def test_result_paths_accept_both_spellings_and_trailing_slashes(http):
    """unprocessedRecords/unprocessedrecords and trailing slashes reach the same files."""
    info = _load(http, "Name\nA\n", _job(http))
    base = f"/jobs/ingest/{info['id']}"
    for suffix in (
        "/unprocessedrecords",
        "/unprocessedRecords/",
        "/successfulResults/",
        "/FAILEDRESULTS",
    ):
        response = http("GET", base + suffix)
        assert response.status_code == 200, suffix
        assert response.headers["Content-Type"].startswith("text/csv")
    assert http("GET", base + "/").json()["id"] == info["id"]
    assert http("GET", f"/jobs/ingest/{info['id'][:15]}").json()["id"] == info["id"]
    assert http("GET", base + "/failedResults").text == '"sf__Id","sf__Error",Name\n'


def test_chunked_upload_is_accepted(http, org: EmulatorHandle):
    """A body sent with Transfer-Encoding: chunked (as jsforce streams it) is taken whole."""
    job = _job(http)

    def body():
        yield b"Name\n"
        for i in range(500):
            yield f"Chunk {i}\n".encode()

    response = http(
        "PUT",
        f"/jobs/ingest/{job['id']}/batches",
        data=body(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 201
    http("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert (
        wait_for_state(http, f"/jobs/ingest/{job['id']}", {"JobComplete"})["numberRecordsProcessed"]
        == 500
    )
    assert len(org.admin.live("Account")) == 500


def test_multipart_create_carries_the_data(http, org: EmulatorHandle):
    """A multipart create (job + content) starts in UploadComplete and runs."""
    response = http(
        "POST",
        "/jobs/ingest",
        files={
            "job": (None, '{"object":"Account","operation":"insert"}', "application/json"),
            "content": ("content", "Name\nMulti\n", "text/csv"),
        },
    )
    assert response.status_code == 200
    assert response.json()["state"] == "UploadComplete"
    wait_for_state(http, f"/jobs/ingest/{response.json()['id']}", {"JobComplete"})
    assert org.admin.live("Account")[0]["Name"] == "Multi"


def test_counters_grow_while_in_progress_and_abort_leaves_rows_unprocessed(
    org: EmulatorHandle, http
):
    """Counters move per 10,000-row batch; an abort stops the job and returns the rest."""
    org.admin.faults(chunk_delay_seconds=0.3)
    rows = "".join(f"N{i}\n" for i in range(30_000))
    job = _job(http)
    http(
        "PUT",
        f"/jobs/ingest/{job['id']}/batches",
        data=f"Name\n{rows}".encode(),
        headers={"Content-Type": "text/csv"},
    )
    http("PATCH", f"/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    path = f"/jobs/ingest/{job['id']}"
    while (info := http("GET", path).json())["numberRecordsProcessed"] < 10_000:
        assert info["state"] in {"UploadComplete", "InProgress"}
    assert info["state"] == "InProgress"
    assert http("PATCH", path, json={"state": "Aborted"}).json()["state"] == "Aborted"
    org.admin.faults(chunk_delay_seconds=0)
    done = wait_for_state(http, path, {"Aborted"})
    unprocessed = http("GET", path + "/unprocessedrecords").text.splitlines()
    assert done["numberRecordsProcessed"] + len(unprocessed) - 1 == 30_000
    assert len(org.admin.live("Account")) == done["numberRecordsProcessed"]
    assert org.admin.calls()["bulk_batches"] >= 1


def test_list_jobs_pages_by_query_locator(http):
    """GET /jobs/ingest pages 1,000 jobs at a time through nextRecordsUrl."""
    for _ in range(1001):
        _job(http)
    first = http("GET", "/jobs/ingest").json()
    assert first["done"] is False
    assert len(first["records"]) == 1000
    second = http("GET", first["nextRecordsUrl"].replace("/services/data/v59.0", "")).json()
    assert second["done"] is True
    assert second["nextRecordsUrl"] is None
    assert len(second["records"]) == 1
    assert http("GET", "/jobs/ingest?jobType=Classic").json()["records"] == []


def test_upsert_on_id_inserts_rows_without_one(http, org: EmulatorHandle):
    """An upsert keyed on Id updates rows with an Id and inserts those without."""
    _load(http, "Name\nA\n", _job(http))
    [record] = org.admin.live("Account")
    info = _load(
        http,
        f"Id,Name\n{record['Id']},A2\n,B\n",
        _job(http, operation="upsert", externalIdFieldName="Id"),
    )
    rows = list(
        csv.DictReader(
            io.StringIO(http("GET", f"/jobs/ingest/{info['id']}/successfulResults").text)
        )
    )
    assert sorted(r["sf__Created"] for r in rows) == ["false", "true"]
    assert sorted(r["Name"] for r in org.admin.live("Account")) == ["A2", "B"]


def test_rate_limit_paces_processing(tmp_path):
    """With --rate, a job takes rows/rate seconds and its counters move while InProgress."""
    settings = Settings(db=tmp_path / "org.db", objects=default_path(), rate=4000)
    server = EmulatorServer(settings, Listen(port=0, plain_http=True))
    server.start()
    try:
        with requests.Session() as session:
            session.trust_env = False
            token = session.post(
                f"{server.base_url}/services/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(settings.client_id, settings.client_secret),
            ).json()["access_token"]
            session.headers["Authorization"] = f"Bearer {token}"
            jobs = f"{server.base_url}/services/data/v62.0/jobs/ingest"
            job = session.post(jobs, json={"object": "Account", "operation": "insert"}).json()
            body = "Name\n" + "".join(f"R{i}\n" for i in range(4000))
            session.put(
                f"{jobs}/{job['id']}/batches", data=body, headers={"Content-Type": "text/csv"}
            )
            began = time.monotonic()
            session.patch(f"{jobs}/{job['id']}", json={"state": "UploadComplete"})
            seen = set()
            while (info := session.get(f"{jobs}/{job['id']}").json())["state"] != "JobComplete":
                if info["state"] == "InProgress":
                    seen.add(info["numberRecordsProcessed"])
                time.sleep(0.02)
            elapsed = time.monotonic() - began
    finally:
        server.stop()
    assert 0.8 <= elapsed < 5
    assert any(0 < n < 4000 for n in seen)


def test_assignment_rule_id_is_echoed_from_v49(http):
    """An assignment rule id is kept on the job from v49.0; before that it is refused."""
    rule = "01Q5g000000AbCdEAF"
    job = _job(http, object="Lead", assignmentRuleId=rule)
    assert http("GET", f"/jobs/ingest/{job['id']}").json()["assignmentRuleId"] == rule
    old = http(
        "POST",
        f"{http.base_url}/services/data/v48.0/jobs/ingest",
        json={"object": "Lead", "operation": "insert", "assignmentRuleId": rule},
    )
    assert old.status_code == 400
    assert old.json()[0]["errorCode"] == "API_ERROR"
