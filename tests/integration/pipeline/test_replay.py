"""`sfsink replay-dlq`: dead letters go back through the running pipeline, or to a file."""

from __future__ import annotations

import base64
import json
import re

from connector.cli import main
from tests.integration.pipeline.conftest import wait_until

CONTACT_ROUTE = {
    "sobject": "Contact",
    "external_id": "ExternalKey__c",
    "pass_unmapped": True,
    "relationships": {"account": "Account.ExternalKey__c"},
}


def test_replayed_dead_letters_land_once_their_cause_is_fixed(
    sink_factory, emulator, tmp_path, capsys
) -> None:
    """Contacts dead-lettered for a missing parent land when replayed after it arrives."""
    sink = sink_factory(extra_routes=(CONTACT_ROUTE,), batching={"retry_attempts": 1})
    contacts = sink.config.routes[1].topic
    sink.produce(
        [(f"c{i}", {"LastName": f"Orphan {i}", "account": "late"}) for i in range(3)],
        topic=contacts,
    )
    sink.start()
    wait_until(lambda: sink.committed(contacts) == 3, timeout=90, what="3 contacts final")
    assert emulator.admin.live("Contact") == []
    letters = sink.dead_letters(3)
    assert {dict(m.headers())["sfsink.errors.reason"] for m in letters} == {b"retries_exhausted"}

    sink.produce([("late", {"Name": "The parent, at last"})])
    wait_until(lambda: sink.committed() == 1, what="the parent committed")
    config = sink.write_config(tmp_path / "sfsink.yaml")
    assert main(["replay-dlq", "--config", str(config)]) == 0
    report = capsys.readouterr().out
    assert re.search(rf"replayed 3 dead letters\n\s+3\s+retries_exhausted\s+→ {contacts}", report)

    wait_until(lambda: sink.committed(contacts) == 6, timeout=90, what="the replays final")
    sink.stop_and_join()
    [account] = emulator.admin.live("Account")
    landed = {c["ExternalKey__c"]: c["AccountId"] for c in emulator.admin.live("Contact")}
    assert landed == {"c0": account["Id"], "c1": account["Id"], "c2": account["Id"]}
    assert len(sink.dead_letters(4, timeout=3)) == 3  # nothing failed a second time


def test_a_selection_of_dead_letters_is_written_to_a_file(sink_factory, tmp_path, capsys) -> None:
    """Reason and offset filters pick records; the file keeps bytes, headers and the why."""
    sink = sink_factory()
    sink.produce(
        [
            ("u1", b"{not json"),
            (None, {"Name": "no key"}),
            ("u2", b"\xff\xfe"),
            ("long", {"Name": "x" * 300}),
            ("u3", b"[1,"),
        ]
    )
    sink.start()
    wait_until(lambda: sink.committed() == 5, what="every record final")
    sink.stop_and_join()
    config = str(sink.write_config(tmp_path / "sfsink.yaml"))
    out = tmp_path / "letters.jsonl"

    args = ["replay-dlq", "--config", config, "--reason", "undecodable", "--to-file", str(out)]
    assert main(args) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    values = [base64.b64decode(line["value"]) for line in lines]
    assert values == [b"{not json", b"\xff\xfe", b"[1,"]
    assert [json.loads(base64.b64decode(line["key"])) for line in lines] == ["u1", "u2", "u3"]
    assert {line["errors"]["__connect.errors.topic"] for line in lines} == {sink.topic}
    assert [line["errors"]["__connect.errors.offset"] for line in lines] == ["0", "2", "4"]
    assert "wrote 3 dead letters" in capsys.readouterr().out

    ranged = ["replay-dlq", "--config", config, "--from-offset", "1", "--to-offset", "3"]
    assert main([*ranged, "--partition", "0", "--dry-run"]) == 0
    report = capsys.readouterr().out
    # Salesforce's rejection comes after its job, so it was dead-lettered last (offset 4).
    assert "would replay 3 dead letters" in report
    assert re.search(r"\n\s+1\s+missing_key ", report)
    assert re.search(r"\n\s+2\s+undecodable ", report)
    assert "salesforce_rejected" not in report


def test_bad_replay_requests_are_refused_with_the_reason(sink_factory, tmp_path, capsys) -> None:
    """A missing topic or partition, or a backwards range, exits non-zero and says why."""
    sink = sink_factory()
    config = str(sink.write_config(tmp_path / "sfsink.yaml"))
    base = ["replay-dlq", "--config", config]

    assert main([*base, "--topic", "no-such-dlq-topic"]) == 1
    assert "dead-letter topic no-such-dlq-topic does not exist" in capsys.readouterr().err
    assert main([*base, "--partition", "7"]) == 1
    assert f"dead-letter topic {sink.dlq} has no partition 7" in capsys.readouterr().err
    assert main([*base, "--from-offset", "9", "--to-offset", "2"]) == 2
    assert "--from-offset 9 is after --to-offset 2" in capsys.readouterr().err
    assert main([*base, "--dry-run"]) == 0
    assert "would replay 0 dead letters" in capsys.readouterr().out
