"""`sfsink run` as a real process: SIGTERM drains, kill -9 loses nothing, two share a group."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from connector.salesforce import BulkClient, JobState
from connector.service import client_settings
from devstack import free_port
from tests.integration.pipeline.conftest import Sink, wait_until

SFSINK = Path(sys.executable).with_name("sfsink")


def start_process(
    sink: Sink, tmp_path: Path, name: str, metrics_port: int = 0
) -> subprocess.Popen[bytes]:
    """`sfsink run` on the sink's config, logging to tmp_path/<name>.log."""
    path = sink.write_config(tmp_path / f"{name}.yaml", metrics_port)
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [str(SFSINK), "run", "--config", str(path)], stdout=log, stderr=subprocess.STDOUT
    )


def scrape(port: int, sample: str) -> float:
    """One sample's value from the process's /metrics (0 when absent or not up yet)."""
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except requests.ConnectionError:
        return 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample:
                return float(s.value) + 0.0
    return 0.0


def expected_state(events: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    """The Name each key ends with: the last event's."""
    return {key: value["Name"] for key, value in events}


def org_names(emulator) -> dict[str, str]:
    """Live Account names by external id."""
    return {r["ExternalKey__c"]: r["Name"] for r in emulator.admin.live("Account")}


def test_sigterm_drains_and_exits_zero(sink_factory, emulator, tmp_path) -> None:
    """On SIGTERM the process flushes what it buffered, commits, and exits 0."""
    sink = sink_factory(batching={"max_age_seconds": 30})
    events = [(f"t{i}", {"Name": f"v{i}"}) for i in range(50)]
    sink.produce(events)
    port = free_port()
    proc = start_process(sink, tmp_path, "term", port)
    wait_until(lambda: scrape(port, "sfsink_records_pending") == 50, what="all 50 buffered")
    assert sink.committed() < 0
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0
    assert sink.committed() == 50
    assert org_names(emulator) == expected_state(events)


def test_kill_9_mid_flush_then_restart_converges(sink_factory, emulator, tmp_path) -> None:
    """Killed while jobs run, a restarted process converges: every record, right state."""
    emulator.admin.faults(chunk_delay_seconds=0.3)
    sink = sink_factory(batching={"max_records": 50, "max_in_flight": 2})
    events = [(f"k{i % 120}", {"Name": f"v{i}"}) for i in range(600)]
    sink.produce(events)
    first = start_process(sink, tmp_path, "first")
    wait_until(lambda: 0 < sink.committed() < 600, timeout=90, what="a partial commit")
    first.kill()
    first.wait(timeout=30)
    emulator.admin.faults(chunk_delay_seconds=0.0)
    second = start_process(sink, tmp_path, "second")
    wait_until(lambda: sink.committed() == 600, timeout=120, what="all 600 committed")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=90) == 0
    assert org_names(emulator) == expected_state(events)
    assert sink.dead_letters(1, timeout=2) == []


def test_two_processes_share_a_group_and_one_dies(sink_factory, emulator, tmp_path) -> None:
    """Two members split four partitions; one is killed; the other finishes everything."""
    emulator.admin.faults(chunk_delay_seconds=0.2)
    sink = sink_factory(partitions=4, batching={"max_records": 25})
    events = [(f"m{i % 200}", {"Name": f"v{i}"}) for i in range(800)]
    sink.produce(events)
    first = start_process(sink, tmp_path, "a")
    second = start_process(sink, tmp_path, "b")
    wait_until(lambda: sink.committed(partitions=4) > 100, timeout=90, what="progress")
    second.kill()
    second.wait(timeout=30)
    emulator.admin.faults(chunk_delay_seconds=0.0)
    wait_until(lambda: sink.committed(partitions=4) == 800, timeout=180, what="all committed")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=90) == 0
    assert org_names(emulator) == expected_state(events)
    assert sink.dead_letters(1, timeout=2) == []


def test_no_secret_in_logs_metrics_or_dead_letters(sink_factory, emulator, tmp_path) -> None:
    """The client secret and the session token appear in no log line, metric or header."""
    sink = sink_factory()
    sink.produce([("ok", {"Name": "fine"}), ("bad", {"Name": "x" * 300}), ("raw", b"{oops")])
    port = free_port()
    proc = start_process(sink, tmp_path, "secrets", port)
    wait_until(lambda: sink.committed() == 3, what="all three final")
    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    emulator.admin.expire_sessions()  # a re-authentication must not log the new token either
    sink.produce([("again", {"Name": "after re-auth"})])
    wait_until(lambda: sink.committed() == 4, what="the record after re-auth")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0
    log = (tmp_path / "secrets.log").read_text()
    headers = b"".join(v or b"" for m in sink.dead_letters(2) for _, v in m.headers())
    secret = emulator.client_secret
    for text in (log, metrics, headers.decode()):
        assert secret not in text
        assert "Bearer " not in text
        assert "access_token" not in text
        # Session ids are "<org id>!<random>", as Salesforce's are: none may be printed.
        assert re.search(r"00D\w{12}!", text) is None
    assert "upsert Account job 750" in log  # the log is not empty: it names the jobs


def test_a_second_signal_exits_at_once_and_loses_nothing(sink_factory, emulator, tmp_path) -> None:
    """SIGTERM twice while a slow job runs: exit 143 at once; a restart writes everything."""
    emulator.admin.faults(job_delay_seconds=30)
    sink = sink_factory()
    events = [(f"s{i}", {"Name": f"v{i}"}) for i in range(20)]
    sink.produce(events)
    port = free_port()
    first = start_process(sink, tmp_path, "twice", port)
    wait_until(lambda: scrape(port, "sfsink_jobs_in_flight") == 1, what="a job in flight")
    first.send_signal(signal.SIGTERM)
    wait_until(lambda: b"draining" in (tmp_path / "twice.log").read_bytes(), what="the drain")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=10) == 128 + signal.SIGTERM
    assert sink.committed() < 0
    emulator.admin.faults(job_delay_seconds=0.0)
    second = start_process(sink, tmp_path, "after")
    wait_until(lambda: sink.committed() == 20, timeout=90, what="all 20 committed")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=90) == 0
    assert org_names(emulator) == expected_state(events)


def test_a_new_owner_waits_for_the_job_a_dead_member_left_running(
    sink_factory, emulator, tmp_path
) -> None:
    """Per-key order across a failover: the dead member's slow job lands before the new one's.

    The dead member's 20,000-row job has written its first 10,000 rows and pauses before
    the rest, which hold key f19999 = "v1". The new owner replays the uncommitted records
    plus f19999 = "v2"; its own job is quick. Without waiting, "v1" would land last.
    """
    session = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    sink = sink_factory(batching={"max_records": 20_000, "max_age_seconds": 5}, consumer=session)
    first_port, second_port = free_port(), free_port()
    first = start_process(sink, tmp_path, "owner", first_port)
    wait_until(lambda: probe(first_port, "/readyz") == 200, what="the first member assigned")
    second = start_process(sink, tmp_path, "standby", second_port)
    wait_until(lambda: probe(second_port, "/healthz") == 200, what="the second member polling")
    emulator.admin.faults(chunk_delay_seconds=20)
    events = [(f"f{i}", {"Name": "v1"}) for i in range(20_000)]
    sink.produce(events)
    with BulkClient(client_settings(sink.config)) as client:
        wait_until(lambda: half_done(client), timeout=60, what="the first 10,000 rows written")
        first.kill()
        first.wait(timeout=30)
        emulator.admin.faults(chunk_delay_seconds=0.0)
        sink.produce([("f19999", {"Name": "v2"})])
        wait_until(lambda: sink.committed() == 20_001, timeout=120, what="every record committed")
        wait_until(lambda: not running(client), timeout=60, what="every job ended")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=90) == 0
    assert org_names(emulator) == expected_state([*events, ("f19999", {"Name": "v2"})])
    assert b"waiting for 1 ingest jobs left running" in (tmp_path / "standby.log").read_bytes()


def probe(port: int, path: str) -> int:
    """The HTTP status of a health endpoint, 0 while nothing answers."""
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code
    except requests.ConnectionError:
        return 0


def half_done(client: BulkClient) -> bool:
    """Whether an Account job is running with at least 10,000 rows written."""
    return any(
        job.state is JobState.IN_PROGRESS and job.number_records_processed >= 10_000
        for job in (client.job(j.id).info() for j in client.jobs("ingest"))
    )


def running(client: BulkClient) -> bool:
    """Whether any ingest job may still write rows."""
    return any(
        job.state in {JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS}
        for job in client.jobs("ingest")
    )
