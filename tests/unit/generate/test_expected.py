"""The expected org against an org's records: what matches, and each kind of difference."""

from __future__ import annotations

from pathlib import Path

from connector.config import load_config
from connector.generate.expected import ExpectedState, compare
from connector.generate.tables import ACCOUNTS, CONTACTS, TABLES, route
from connector.generate.world import World

ROOT = Path(__file__).resolve().parents[3]


def org_of(expected: ExpectedState) -> dict[str, list[dict[str, object]]]:
    """The records an org holding exactly `expected` answers with (ids made up)."""
    ids = {key: f"001{int(key):015d}" for key in expected.objects["Account"]}
    records: dict[str, list[dict[str, object]]] = {"Account": [], "Contact": []}
    for key, fields in expected.objects["Account"].items():
        if fields is not None:
            records["Account"].append(
                {"Id": ids[key], "IsDeleted": False, "ExternalKey__c": key, **fields}
            )
    for key, fields in expected.objects["Contact"].items():
        if fields is None:
            continue
        plain = {k: v for k, v in fields.items() if k != "Account.ExternalKey__c"}
        account = ids[str(fields["Account.ExternalKey__c"])]
        records["Contact"].append(
            {"IsDeleted": False, "ExternalKey__c": key, "AccountId": account, **plain}
        )
    return records


def expected_after(count: int = 3000) -> ExpectedState:
    """The expected org after `count` changes of seed 13."""
    world = World(13)
    list(world.changes(count))
    return world.expected()


def test_an_org_holding_the_expected_state_matches():
    """Every listed record checked, no difference."""
    expected = expected_after()
    outcome = compare(expected, org_of(expected))
    assert outcome.matches
    assert outcome.checked == sum(len(rows) for rows in expected.objects.values())


def test_each_kind_of_difference_is_reported():
    """A missing record, a wrong field, a wrong parent, a survivor and a stranger."""
    expected = expected_after()
    records = org_of(expected)
    accounts, contacts = records["Account"], records["Contact"]
    missing = accounts.pop()["ExternalKey__c"]
    accounts[0]["Name"] = "Renamed"
    contacts[0]["AccountId"] = accounts[1]["Id"]
    gone = next(k for k, v in expected.objects["Account"].items() if v is None)
    accounts.append({"Id": "001x", "IsDeleted": False, "ExternalKey__c": gone})
    accounts.append({"Id": "001y", "IsDeleted": False, "ExternalKey__c": "no-such-key"})
    accounts.append({"Id": "001z", "IsDeleted": True, "ExternalKey__c": "deleted-is-fine"})
    outcome = compare(expected, records)
    assert not outcome.matches
    text = "\n".join(outcome.shown)
    assert f"Account {missing}: missing" in text
    assert "Name is 'Renamed'" in text
    assert "Account.ExternalKey__c is" in text
    assert f"Account {gone}: expected absent" in text
    assert "Account no-such-key: in the org, not expected" in text
    assert "deleted-is-fine" not in text
    assert outcome.differences == 5


def test_numbers_compare_as_numbers():
    """The org's 12.0 is the expected 12; a boolean is not a number."""
    expected = expected_after(200)
    records = org_of(expected)
    account = next(r for r in records["Account"] if r.get("NumberOfEmployees") is not None)
    account["NumberOfEmployees"] = float(account["NumberOfEmployees"])
    assert compare(expected, records).matches
    account["NumberOfEmployees"] = True
    assert not compare(expected, records).matches


def test_expected_state_survives_its_file(tmp_path):
    """Writing then reading gives the same state, non-ASCII included."""
    expected = expected_after(500)
    expected.write(tmp_path / "expected.json")
    assert ExpectedState.read(tmp_path / "expected.json") == expected


def test_the_shipped_local_config_replicates_what_the_generator_writes():
    """deploy/local/sfsink.yaml's routes are the generator's, in Avro."""
    config = load_config(ROOT / "deploy/local/sfsink.yaml", {})
    for table, topic in ((ACCOUNTS, "cdc.accounts"), (CONTACTS, "cdc.contacts")):
        shipped = config.route_for(topic)
        assert shipped is not None
        want = route(table, topic, "avro")
        assert shipped.sobject == want["sobject"]
        assert shipped.format == "avro"
        assert shipped.key_path == want["key_path"]
        assert shipped.fields == want["fields"]
        assert {k: v.value for k, v in shipped.coerce.items()} == want["coerce"]
        assert shipped.relationships == want.get("relationships", {})
    assert config.avro.registry_url
    assert len(TABLES) == len(config.routes)
