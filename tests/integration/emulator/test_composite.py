"""Composite calls of query subrequests: one API request, each subrequest answered on its own."""

from __future__ import annotations

from urllib.parse import quote_plus

from tests.integration.emulator.conftest import API
from tests.support.emulator import EmulatorHandle


def query(soql: str, ref: str, kind: str = "query") -> dict[str, str]:
    """A GET query subrequest."""
    return {
        "method": "GET",
        "url": f"/services/data/{API}/{kind}?q={quote_plus(soql)}",
        "referenceId": ref,
    }


def accounts(sf, names: list[str]) -> None:
    """Insert one Account per name, through simple-salesforce's sObject Collections."""
    for name in names:
        sf.Account.create({"Name": name})


def test_queries_are_answered_in_order_for_one_api_request(sf, org: EmulatorHandle) -> None:
    """simple-salesforce's restful: five queries, five results by referenceId, one call counted."""
    accounts(sf, ["a", "b", "c"])
    before = org.admin.calls()["calls"].get("composite", 0)
    body = {
        "allOrNone": False,
        "compositeRequest": [
            query(f"SELECT Id, Name FROM Account WHERE Name = '{name}'", f"r{name}")
            for name in ["c", "a", "zz", "b", "a"]
        ],
    }
    answer = sf.restful("composite", method="POST", json=body)
    results = answer["compositeResponse"]
    assert [r["referenceId"] for r in results] == ["rc", "ra", "rzz", "rb", "ra"]
    assert [r["httpStatusCode"] for r in results] == [200] * 5
    assert [[rec["Name"] for rec in r["body"]["records"]] for r in results] == [
        ["c"],
        ["a"],
        [],
        ["b"],
        ["a"],
    ]
    assert results[0]["body"]["records"][0]["attributes"]["type"] == "Account"
    assert org.admin.calls()["calls"]["composite"] == before + 1


def test_a_failed_subrequest_answers_alone_unless_all_or_none(http) -> None:
    """A bad query fails its own subrequest; with allOrNone the others report PROCESSING_HALTED."""
    good = query("SELECT Id FROM Account", "good")
    bad = query("SELECT Nope__c FROM Account", "bad")
    alone = http("POST", "/composite", json={"compositeRequest": [good, bad]})
    assert alone.status_code == 200
    first, second = alone.json()["compositeResponse"]
    assert first["httpStatusCode"] == 200
    assert second["httpStatusCode"] == 400
    assert second["body"][0]["errorCode"] == "INVALID_FIELD"
    halted = http("POST", "/composite", json={"allOrNone": True, "compositeRequest": [good, bad]})
    first, second = halted.json()["compositeResponse"]
    assert first["httpStatusCode"] == 400
    assert first["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert second["body"][0]["errorCode"] == "INVALID_FIELD"


def test_at_most_five_queries_and_25_subrequests(http) -> None:
    """Six queries, or 26 subrequests, refuse the whole call."""
    six = [query("SELECT Id FROM Account", f"q{n}") for n in range(6)]
    refused = http("POST", "/composite", json={"compositeRequest": six})
    assert refused.status_code == 400
    assert "at most 5 query subrequests" in refused.json()[0]["message"]
    many = [
        {"method": "GET", "url": f"/services/data/{API}/limits", "referenceId": f"l{n}"}
        for n in range(26)
    ]
    refused = http("POST", "/composite", json={"compositeRequest": many})
    assert refused.status_code == 400
    assert "at most 25 subrequests" in refused.json()[0]["message"]


def test_a_subrequest_the_emulator_does_not_run_says_so(http) -> None:
    """Only query and queryAll subrequests run here; anything else is refused by name."""
    create = {
        "method": "POST",
        "url": f"/services/data/{API}/sobjects/Account",
        "referenceId": "new",
        "body": {"Name": "x"},
    }
    [answer] = http("POST", "/composite", json={"compositeRequest": [create]}).json()[
        "compositeResponse"
    ]
    assert answer["httpStatusCode"] == 400
    assert answer["body"][0]["errorCode"] == "EMULATOR_UNSUPPORTED"


def test_a_long_result_pages_on_by_next_records_url(sf, http, tmp_path) -> None:
    """A query subrequest answers its first 2,000 records; nextRecordsUrl reads the rest."""
    path = tmp_path / "accounts.csv"
    path.write_text("Name\n" + "same\n" * 2_500)
    sf.bulk2.Account.insert(str(path), wait=0.05)
    sub = query("SELECT Id FROM Account WHERE Name = 'same'", "all", kind="queryAll")
    [answer] = http("POST", "/composite", json={"compositeRequest": [sub]}).json()[
        "compositeResponse"
    ]
    page = answer["body"]
    assert (page["totalSize"], page["done"], len(page["records"])) == (2_500, False, 2_000)
    rest = http("GET", page["nextRecordsUrl"].removeprefix(f"/services/data/{API}")).json()
    assert len(rest["records"]) == 500


def test_an_org_can_be_made_to_refuse_long_where_clauses(http, org: EmulatorHandle) -> None:
    """Fault max_where_chars: a longer WHERE clause is MALFORMED_QUERY, a shorter one runs."""
    org.admin.faults(max_where_chars=40)
    try:
        long = query("SELECT Id FROM Account WHERE Name IN ('a','b','c','d','e','f','g','h')", "l")
        short = query("SELECT Id FROM Account WHERE Name IN ('a')", "s")
        answers = http("POST", "/composite", json={"compositeRequest": [long, short]}).json()
    finally:
        org.admin.faults(max_where_chars=None)
    refused, ran = answers["compositeResponse"]
    assert refused["httpStatusCode"] == 400
    assert refused["body"][0]["errorCode"] == "MALFORMED_QUERY"
    assert ran["httpStatusCode"] == 200
