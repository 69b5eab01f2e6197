"""Bulk queries: paging by Sforce-Locator, to_csv, queryAll, a million rows in bounded memory."""

from __future__ import annotations

import csv
import gc
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
from requests.adapters import HTTPAdapter

from connector import bulk_cli
from connector.cli import build_parser
from connector.errors import InvalidRequestError
from connector.salesforce import BulkClient, JobState
from emulator.org import Settings
from emulator.schema import default_path
from emulator.server import EmulatorServer, Listen
from emulator.store import insert_many, now_stamp
from tests.integration.salesforce.conftest import settings_for
from tests.support.emulator import EmulatorAdmin, EmulatorHandle

MILLION = 1_000_000
MiB = 1024 * 1024


def _seed(client: BulkClient, count: int) -> None:
    records = [{"ExternalKey__c": f"Q-{i:03d}", "Name": f"Row, {i}"} for i in range(count)]
    client.upsert("Account", records, "ExternalKey__c")


def test_records_stream_across_pages(make_client, org: EmulatorHandle):
    """With 7 rows a page, 25 rows take 4 pages and arrive once each, in full."""
    client = make_client(query_page_size=7)
    _seed(client, 25)
    before = org.admin.calls()["calls"].get("bulk_query", 0)
    result = client.query("SELECT Id, ExternalKey__c, Name FROM Account")
    assert result.job.state is JobState.JOB_COMPLETE
    assert result.record_count == 25
    rows = list(result.records)
    assert sorted(r["ExternalKey__c"] for r in rows) == [f"Q-{i:03d}" for i in range(25)]
    assert {r["Name"] for r in rows} >= {"Row, 0", "Row, 24"}
    assert all(len(r["Id"]) == 18 for r in rows)
    calls = org.admin.calls()["calls"]["bulk_query"] - before
    assert calls >= 1 + 1 + 4  # create, at least one poll, four pages


def test_to_csv_writes_one_header(make_client, tmp_path):
    """to_csv joins the pages into one file with a single header row."""
    client = make_client(query_page_size=10)
    _seed(client, 25)
    target = tmp_path / "out.csv"
    assert client.query("SELECT Id, Name FROM Account").to_csv(target) == 25
    with target.open(encoding="utf-8", newline="") as source:
        rows = list(csv.reader(source))
    assert rows[0] == ["Id", "Name"]
    assert len(rows) == 26


def test_query_all_includes_deleted_records(client: BulkClient):
    """The queryAll operation sees deleted records that query does not."""
    _seed(client, 4)
    ids = [r["Id"] for r in client.query("SELECT Id FROM Account").records]
    client.delete("Account", ids[:2])
    assert len(list(client.query("SELECT Id FROM Account").records)) == 2
    assert len(list(client.query_all("SELECT Id FROM Account").records)) == 4


def test_bad_soql_is_a_value_error(client: BulkClient):
    """A query Salesforce refuses raises InvalidRequestError (a ValueError) with its code."""
    with pytest.raises(InvalidRequestError) as caught:
        client.query("SELECT NoSuchField__c FROM Account")
    assert caught.value.status == 400
    assert isinstance(caught.value, ValueError)


class _LoseFirstQueryCreate(HTTPAdapter):
    """The network loses the answer to the first query create: sent, run, never heard."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    def send(self, request, *args, **kwargs):
        response = super().send(request, *args, **kwargs)
        creating = request.method == "POST" and request.url.rstrip("/").endswith("/jobs/query")
        if creating and not self.lost:
            self.lost += 1
            response.close()
            raise requests.ConnectionError("connection reset by peer")
        return response


def test_a_lost_query_create_leaves_one_job(client: BulkClient):
    """The query job whose answer was lost is swept before the create is sent again."""
    _seed(client, 3)
    adapter = _LoseFirstQueryCreate()
    client._transport.session.mount("https://", adapter)  # noqa: SLF001 - a network fault
    result = client.query("SELECT Id FROM Account")
    assert adapter.lost == 1
    assert len(list(result.records)) == 3
    assert [j.id for j in client.jobs("query")] == [result.job.id]


@pytest.fixture(scope="module")
def million_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """An emulator of this module's own whose store holds 1,000,000 Accounts."""
    home = tmp_path_factory.mktemp("million")
    server = EmulatorServer(
        Settings(db=home / "org.db", objects=default_path()), Listen(host="127.0.0.1", port=0)
    )
    server.start()
    store = server.org.store
    account = server.org.schema.objects["Account"]
    stamp = now_stamp()
    columns = ["Id", "Name", "ExternalKey__c", "IsDeleted", "CreatedDate", "LastModifiedDate"]
    columns.append("SystemModstamp")
    for start in range(0, MILLION, 100_000):
        ids = store.new_ids(account, 100_000)
        rows = [
            (record_id, f"Account {start + n}", f"M-{start + n}", 0, stamp, stamp, stamp)
            for n, record_id in enumerate(ids)
        ]
        with store.transaction() as db:
            insert_many(db, account, columns, rows)
    assert server.tls is not None
    try:
        yield EmulatorHandle(
            base_url=server.base_url,
            client_id=server.org.settings.client_id,
            client_secret=server.org.settings.client_secret,
            ca_path=server.tls.ca,
            jwt_private_key=Path(),
            admin=EmulatorAdmin(server.base_url, server.tls.ca),
        )
    finally:
        server.stop()


def _rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def test_a_million_rows_stream_in_bounded_memory(million_org: EmulatorHandle, tmp_path):
    """A 1,000,000-row export is read and written to CSV with RSS growing by a few MiB only."""
    with BulkClient(settings_for(million_org)) as client:
        result = client.query("SELECT Id, Name, ExternalKey__c FROM Account", timeout=120)
        assert result.record_count == MILLION
        baseline = peak = _rss()
        count = 0
        for count, row in enumerate(result.records, start=1):  # noqa: B007 - counted
            if count % 50_000 == 0:
                peak = max(peak, psutil.Process().memory_info().rss)
        assert count == MILLION
        assert row["ExternalKey__c"].startswith("M-")
        written = result.to_csv(tmp_path / "million.csv")
        peak = max(peak, psutil.Process().memory_info().rss)
    assert written == MILLION
    assert (tmp_path / "million.csv").stat().st_size > 40 * MiB
    growth = peak - baseline
    # A million dicts held at once would take hundreds of MiB; streaming stays near zero.
    print(f"RSS growth over a 1,000,000-row export: {growth / MiB:.1f} MiB")  # noqa: T201 - shown with -s
    assert growth < 64 * MiB, f"RSS grew by {growth / MiB:.0f} MiB"


def test_cli_query_writes_the_csv(client: BulkClient, org: EmulatorHandle, tmp_path, capsys):
    """`sfsink bulk query SOQL -o FILE` exports the rows and says how many."""
    _seed(client, 5)
    env = {
        "SF_LOGIN_URL": org.base_url,
        "SF_CLIENT_ID": org.client_id,
        "SF_CLIENT_SECRET": org.client_secret,
        "SF_CA_BUNDLE": str(org.ca_path),
    }
    target = tmp_path / "out.csv"
    args = build_parser().parse_args(
        ["bulk", "query", "SELECT Id, Name FROM Account", "-o", str(target)]
    )
    assert bulk_cli.run(args, lambda: BulkClient.from_env(env)) == 0
    assert "5 rows written" in capsys.readouterr().out
    assert len(target.read_text(encoding="utf-8").splitlines()) == 6
