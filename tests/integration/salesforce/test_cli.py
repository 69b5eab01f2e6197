"""`sfsink bulk` against the emulator: loads with a summary, failed rows, jobs, job."""

from __future__ import annotations

import csv

import pytest

from connector.cli import main
from tests.support.emulator import EmulatorHandle


@pytest.fixture
def env(org: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """The SF_* environment pointing at the emptied emulator."""
    for name in ("SF_ACCESS_TOKEN", "SF_REFRESH_TOKEN", "SF_PRIVATE_KEY", "SF_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SF_LOGIN_URL", org.base_url)
    monkeypatch.setenv("SF_CLIENT_ID", org.client_id)
    monkeypatch.setenv("SF_CLIENT_SECRET", org.client_secret)
    monkeypatch.setenv("SF_CA_BUNDLE", str(org.ca_path))
    return org


def _read(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def test_upsert_summarises_and_writes_failed_rows(env: EmulatorHandle, tmp_path, capsys):
    """An upsert prints ok/failed/unprocessed and writes refused rows with their errors."""
    data = tmp_path / "data.csv"
    data.write_text("ExternalKey__c,Name,NumberOfEmployees\nA-1,Acme,3\nA-2,Globex,lots\n")
    status = main(["bulk", "upsert", "Account", str(data), "--external-id", "ExternalKey__c"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "ok 1, failed 1, unprocessed 0" in out
    assert "JobComplete" in err  # plain progress lines: stderr is not a terminal here
    (failed,) = _read(tmp_path / "data.failed.csv")
    assert failed["ExternalKey__c"] == "A-2"
    assert failed["sf__StatusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert "NumberOfEmployees" in failed["sf__Error"]
    assert [r["Name"] for r in env.admin.live("Account")] == ["Acme"]


def test_insert_update_delete_and_hard_delete(env: EmulatorHandle, tmp_path, capsys):
    """Each load action runs from a CSV file and exits 0 when every row is written."""
    data = tmp_path / "insert.csv"
    data.write_text("Name\nOne\nTwo\n")
    assert main(["bulk", "insert", "Account", str(data)]) == 0
    ids = [r["Id"] for r in env.admin.live("Account")]
    update = tmp_path / "update.csv"
    update.write_text("Id,Name\n" + "".join(f"{i},Renamed\n" for i in ids))
    assert main(["bulk", "update", "Account", str(update)]) == 0
    assert {r["Name"] for r in env.admin.live("Account")} == {"Renamed"}
    first, second = tmp_path / "d1.csv", tmp_path / "d2.csv"
    first.write_text(f"Id\n{ids[0]}\n")
    second.write_text(f"Id\n{ids[1]}\n")
    assert main(["bulk", "delete", "Account", str(first)]) == 0
    assert main(["bulk", "hard-delete", "Account", str(second)]) == 0
    assert env.admin.live("Account") == []
    assert "ok 1, failed 0, unprocessed 0" in capsys.readouterr().out


def test_jobs_and_job_status_abort_and_results(env: EmulatorHandle, tmp_path, capsys):
    """`jobs` lists jobs; `job ID` shows one, aborts it, or writes its result files."""
    data = tmp_path / "data.csv"
    data.write_text("Name\nOne\n")
    main(["bulk", "insert", "Account", str(data)])
    capsys.readouterr()
    assert main(["bulk", "jobs"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 2
    job_id = listing[1].split("\t")[0]
    assert main(["bulk", "job", job_id, "--results", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "state: JobComplete" in out
    (success,) = _read(tmp_path / "results" / "success.csv")
    assert success["sf__Created"] == "true"
    env.admin.faults(stall_jobs=True)
    main(["bulk", "insert", "Account", str(data), "--timeout", "0.2"])
    stalled = capsys.readouterr().err.split("job ")[1].split()[0]
    assert main(["bulk", "job", stalled, "--abort"]) == 0
    assert "state: Aborted" in capsys.readouterr().out


def test_errors_exit_2_with_a_message(env: EmulatorHandle, tmp_path, capsys):
    """A missing Id, or an unknown object, is reported in one line and exit status 2."""
    data = tmp_path / "data.csv"
    data.write_text("Name\nno id\n")
    assert main(["bulk", "update", "Account", str(data)]) == 2
    assert "error: INVALID_INPUT: the CSV header has no Id column" in capsys.readouterr().err
    assert main(["bulk", "insert", "NoSuchObject", str(data)]) == 2
    assert "Unable to find object" in capsys.readouterr().err
    assert env.admin.live("Account") == []


def test_missing_configuration_is_reported(monkeypatch: pytest.MonkeyPatch, capsys):
    """Without SF_* settings the command says which ones it needs."""
    for name in ("SF_LOGIN_URL", "SF_CLIENT_ID", "SF_CLIENT_SECRET", "SF_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["bulk", "jobs"]) == 2
    assert "exactly one auth flow" in capsys.readouterr().err
