"""The connector end to end: real Kafka in, the emulator's org out, offsets and dead letters."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from connector.salesforce import BulkClient, JobState
from connector.service import client_settings
from devstack import free_port
from tests.integration.pipeline.conftest import wait_until


def by_key(records: list[dict]) -> dict[str, dict]:
    """Live records keyed by their external id."""
    return {r["ExternalKey__c"]: r for r in records if not r["IsDeleted"]}


def test_upserts_sparse_updates_nulls_and_tombstones_land(sink_factory, emulator) -> None:
    """Creates, a sparse update with a null, and a tombstone end in the expected org state."""
    sink = sink_factory()
    sink.produce(
        [
            ("a1", {"Name": "Acme", "Phone": "555-1", "Industry": "Banking"}),
            ("a2", {"Name": "Beta"}),
            ("a1", {"Phone": None}),
            ("a3", {"Name": "Gamma"}),
        ]
    )
    sink.start()
    wait_until(lambda: sink.committed() == 4, what="offset 4 committed")
    sink.produce([("a3", None)])
    wait_until(lambda: sink.committed() == 5, what="the tombstone committed")
    sink.stop_and_join()
    org = by_key(emulator.admin.records("Account"))
    assert set(org) == {"a1", "a2"}
    assert (org["a1"]["Name"], org["a1"]["Phone"], org["a1"]["Industry"]) == (
        "Acme",
        None,
        "Banking",
    )
    assert org["a2"]["Name"] == "Beta"


def test_bad_records_are_dead_lettered_and_the_stream_goes_on(sink_factory, emulator) -> None:
    """Undecodable, keyless and Salesforce-rejected records go to the DLQ; the rest land."""
    sink = sink_factory()
    sink.produce(
        [
            ("ok1", {"Name": "Fine"}),
            ("bad1", b"{not json"),
            (None, {"Name": "No key"}),
            ("long", {"Name": "x" * 300}),
            ("ok2", {"Name": "Also fine"}),
        ]
    )
    sink.start()
    wait_until(lambda: sink.committed() == 5, what="every record final and committed")
    sink.stop_and_join()
    assert set(by_key(emulator.admin.records("Account"))) == {"ok1", "ok2"}
    messages = sink.dead_letters(3)
    letters = {m.offset(): dict(m.headers()) for m in messages}
    reasons = sorted(h["sfsink.errors.reason"] for h in letters.values())
    assert reasons == [b"missing_key", b"salesforce_rejected", b"undecodable"]
    rejected = next(
        h for h in letters.values() if h["sfsink.errors.reason"] == b"salesforce_rejected"
    )
    # a rejected row's record comes back from the spool with its own bytes
    [original] = [m for m in messages if m.key() == b'"long"']
    assert json.loads(original.value()) == {"Name": "x" * 300}
    assert rejected["__connect.errors.offset"] == b"3"
    assert rejected["__connect.errors.stage"] == b"TASK_PUT"
    assert rejected["sfsink.errors.salesforce.status_code"] == b"STRING_TOO_LONG"
    assert rejected["sfsink.errors.salesforce.fields"] == b"Name"
    undecodable = next(h for h in letters.values() if h["sfsink.errors.reason"] == b"undecodable")
    assert undecodable["__connect.errors.offset"] == b"1"
    assert undecodable["__connect.errors.topic"] == sink.topic.encode()


def test_lock_errors_are_retried_until_every_row_lands(sink_factory, emulator) -> None:
    """UNABLE_TO_LOCK_ROW on a third of the rows: retries land them all, none dead-lettered."""
    emulator.admin.faults(lock_rate=0.3, seed=3)
    sink = sink_factory(batching={"retry_attempts": 20})
    sink.produce([(f"k{i}", {"Name": f"n{i}"}) for i in range(40)])
    sink.start()
    wait_until(lambda: sink.committed() == 40, what="all 40 committed")
    sink.stop_and_join()
    emulator.admin.faults(lock_rate=0.0)
    assert len(by_key(emulator.admin.records("Account"))) == 40
    retries = sink.registry.get_sample_value(
        "sfsink_retries_total", {"reason": "UNABLE_TO_LOCK_ROW"}
    )
    assert retries is not None
    assert retries > 0


def test_an_outage_delays_and_loses_nothing(sink_factory, emulator) -> None:
    """Ingest calls fail for a while mid-stream; after recovery every record lands."""
    sink = sink_factory()
    sink.produce([("before", {"Name": "first"})])
    sink.start()
    wait_until(lambda: sink.committed() == 1, what="the first record committed")
    emulator.admin.faults(errors={"ingest": {"rate": 1.0, "status": 503}}, seed=1)
    sink.produce([(f"o{i}", {"Name": f"n{i}"}) for i in range(10)])
    wait_until(
        lambda: (
            (sink.registry.get_sample_value("sfsink_retries_total", {"reason": "outage"}) or 0) > 0
        ),
        what="an outage retry",
    )
    assert sink.committed() == 1
    emulator.admin.faults(errors={})
    wait_until(lambda: sink.committed() == 11, timeout=120, what="all 11 committed")
    sink.stop_and_join()
    assert len(by_key(emulator.admin.records("Account"))) == 11
    assert sink.dead_letters(1, timeout=2) == []


def test_a_start_during_an_outage_waits_for_salesforce(sink_factory, emulator) -> None:
    """Started while Salesforce answers 503, sfsink stays unready, then catches up."""
    emulator.admin.faults(errors={"ingest": {"rate": 1.0, "status": 503}}, seed=2)
    sink = sink_factory()
    sink.produce([("s1", {"Name": "one"})])
    sink.start()
    wait_until(
        lambda: (
            (sink.registry.get_sample_value("sfsink_retries_total", {"reason": "outage"}) or 0) > 0
        ),
        what="a start-up retry",
    )
    emulator.admin.faults(errors={})
    wait_until(lambda: sink.committed() == 1, timeout=120, what="the record committed")
    sink.stop_and_join()
    assert set(by_key(emulator.admin.records("Account"))) == {"s1"}


def test_per_key_order_holds_under_concurrent_jobs(sink_factory, emulator) -> None:
    """Twenty versions of each key, small batches, four jobs at once: the last one wins."""
    sink = sink_factory(batching={"max_records": 7, "max_in_flight": 4, "max_age_seconds": 0.05})
    events = [(f"p{k}", {"Name": f"v{v}"}) for v in range(20) for k in range(15)]
    sink.produce(events)
    sink.start()
    wait_until(lambda: sink.committed() == len(events), timeout=120, what="all committed")
    sink.stop_and_join()
    names = {r["ExternalKey__c"]: r["Name"] for r in emulator.admin.live("Account")}
    assert names == {f"p{k}": "v19" for k in range(15)}


def test_compaction_merges_fields_and_counts_superseded(sink_factory, emulator) -> None:
    """Three events of one key in one batch become one row with every field, later wins."""
    sink = sink_factory(batching={"max_age_seconds": 2})
    sink.produce(
        [
            ("c1", {"Name": "first", "Phone": "1"}),
            ("c1", {"Name": "second", "Industry": "Retail"}),
            ("c1", {"Phone": "3"}),
        ]
    )
    sink.start()
    wait_until(lambda: sink.committed() == 3, what="all three committed")
    sink.stop_and_join()
    [record] = emulator.admin.live("Account")
    assert (record["Name"], record["Phone"], record["Industry"]) == ("second", "3", "Retail")
    superseded = sink.registry.get_sample_value(
        "sfsink_records_superseded_total", {"object": "Account"}
    )
    assert superseded == 2


def test_contacts_link_to_accounts_by_the_parents_external_id(sink_factory, emulator) -> None:
    """A relationship column resolves the parent by its external id, as Salesforce does."""
    contact_route = {
        "sobject": "Contact",
        "external_id": "ExternalKey__c",
        "pass_unmapped": True,
        "relationships": {"account": "Account.ExternalKey__c"},
        "group_by": "Account.ExternalKey__c",
    }
    sink = sink_factory(extra_routes=[contact_route])
    contacts = sink.config.routes[1].topic
    sink.produce([("acc-1", {"Name": "Parent"})])
    sink.start()
    wait_until(lambda: sink.committed() == 1, what="the account committed")
    sink.produce([("con-1", {"LastName": "Child", "account": "acc-1"})], topic=contacts)
    wait_until(lambda: sink.committed(contacts) == 1, what="the contact committed")
    sink.stop_and_join()
    [account] = emulator.admin.live("Account")
    [contact] = emulator.admin.live("Contact")
    assert contact["AccountId"] == account["Id"]


def test_a_job_that_fails_whole_is_retried_not_counted_applied(sink_factory, emulator) -> None:
    """A job Salesforce fails as a whole has its rows written again; all land, none dead."""
    emulator.admin.faults(fail_jobs=1)
    sink = sink_factory()
    sink.produce([(f"f{i}", {"Name": f"n{i}"}) for i in range(5)])
    sink.start()
    wait_until(lambda: sink.committed() == 5, what="all 5 committed")
    sink.stop_and_join()
    assert len(emulator.admin.live("Account")) == 5
    failed = sink.registry.get_sample_value(
        "sfsink_bulk_jobs_total", {"object": "Account", "operation": "upsert", "state": "Failed"}
    )
    assert failed == 1
    assert sink.dead_letters(1, timeout=2) == []


def test_memory_stays_under_the_bound_with_a_backlog_ten_times_it(sink_factory, emulator) -> None:
    """A 10 MiB backlog with a 1 MiB bound: partitions pause, buffered bytes stay bounded."""
    emulator.admin.faults(chunk_delay_seconds=0.5)
    bound = 2**20
    sink = sink_factory(
        batching={"max_buffered_bytes": bound, "max_records": 200, "max_in_flight": 2}
    )
    padding = "x" * 2500
    count = 4000
    sink.produce([(f"b{i}", {"Name": f"n{i}", "Description": padding}) for i in range(count)])
    peak = 0.0
    paused = 0.0
    sink.start()

    def sample() -> bool:
        nonlocal peak, paused
        peak = max(peak, sink.registry.get_sample_value("sfsink_buffered_bytes") or 0)
        paused = max(paused, sink.registry.get_sample_value("sfsink_paused_partitions") or 0)
        if paused:
            emulator.admin.faults(chunk_delay_seconds=0.0)
        return sink.committed() == count

    wait_until(sample, timeout=180, what=f"all {count} committed")
    sink.stop_and_join()
    assert paused == 1
    assert 0 < peak <= bound * 1.2
    assert len(emulator.admin.live("Account")) == count


def test_jobs_in_flight_leave_the_bound_to_the_consumer(sink_factory, emulator) -> None:
    """Four slow jobs in flight hold their keys and records, not their rows' bytes.

    Held as rows, 400 rows of 3 KB in flight took 1.3 MB of the 2 MiB bound and the
    consumer paused at about 650 records until a job ended; held slim, it reads on.
    """
    emulator.admin.faults(chunk_delay_seconds=4.0)
    sink = sink_factory(
        batching={"max_buffered_bytes": 2 * 2**20, "max_records": 100, "max_in_flight": 4}
    )
    padding = "x" * 2500
    count = 1_200
    sink.produce([(f"f{i}", {"Name": f"n{i}", "Description": padding}) for i in range(count)])
    sink.start()

    def sample(name: str, labels: dict[str, str]) -> float:
        return sink.registry.get_sample_value(name, labels) or 0.0

    consumed = {"topic": sink.topic}
    applied = {"object": "Account", "operation": "upsert"}
    wait_until(
        lambda: (
            sample("sfsink_jobs_in_flight", {}) == 4
            and sample("sfsink_records_consumed_total", consumed) >= 950
        ),
        timeout=20,
        what="950 records consumed while four jobs run",
    )
    assert sample("sfsink_records_applied_total", applied) == 0, "a job ended first"
    emulator.admin.faults(chunk_delay_seconds=0.0)
    wait_until(lambda: sink.committed() == count, timeout=120, what=f"all {count} committed")
    sink.stop_and_join()
    assert len(emulator.admin.live("Account")) == count


def test_the_spool_pauses_the_consumer_at_its_disk_bound(sink_factory, emulator) -> None:
    """Records far bigger than their rows fill the disk bound first: pause there, lose none."""
    emulator.admin.faults(chunk_delay_seconds=0.5)
    disk, memory = 8 * 2**20, 64 * 2**20
    sink = sink_factory(
        route={"pass_unmapped": False, "fields": {"name": "Name"}},
        batching={
            "max_spool_bytes": disk,
            "max_buffered_bytes": memory,
            "max_records": 200,
            "max_in_flight": 2,
        },
    )
    blob = "x" * 20_000  # in each record, not in its row
    count = 1_500  # 30 MB of records
    sink.produce([(f"s{i}", {"name": f"n{i}", "blob": blob}) for i in range(count)])
    peaks = {
        "sfsink_spool_bytes": 0.0,
        "sfsink_buffered_bytes": 0.0,
        "sfsink_paused_partitions": 0.0,
    }
    sink.start()

    def sample() -> bool:
        for name, peak in peaks.items():
            peaks[name] = max(peak, sink.registry.get_sample_value(name) or 0)
        if peaks["sfsink_paused_partitions"]:
            emulator.admin.faults(chunk_delay_seconds=0.0)
        return sink.committed() == count

    wait_until(sample, timeout=180, what=f"all {count} committed")
    wait_until(
        lambda: sink.registry.get_sample_value("sfsink_spool_bytes") == 0,
        what="every segment freed once all is committed",
    )
    sink.stop_and_join()
    assert peaks["sfsink_paused_partitions"] == 1
    assert disk * 0.75 <= peaks["sfsink_spool_bytes"] <= disk + 2**20 + 20_100 * 10
    assert peaks["sfsink_buffered_bytes"] < memory / 4, "the memory bound was never near"
    assert len(emulator.admin.live("Account")) == count


def test_a_backlog_at_the_bound_flushes_without_waiting_for_max_age(sink_factory, emulator) -> None:
    """Paused at the memory bound, buffered lanes go at once: no lane fills while paused."""
    bound = 2**20
    sink = sink_factory(
        batching={"max_buffered_bytes": bound, "max_records": 10_000, "max_age_seconds": 600}
    )
    padding = "x" * 2500
    count = 2000  # about 5 MiB of rows: five times the bound, far from 10,000 records
    sink.produce([(f"p{i}", {"Name": f"n{i}", "Description": padding}) for i in range(count)])
    sink.start()
    # The tail under the bound rightly waits for max age; the backlog before it must not.
    wait_until(lambda: sink.committed() >= count // 2, timeout=120, what="half committed")
    sink.stop_and_join()
    landed = {r["ExternalKey__c"] for r in emulator.admin.live("Account")}
    assert {f"p{i}" for i in range(sink.committed())} <= landed


def test_an_unreachable_schema_registry_holds_records_instead_of_failing(
    sink_factory, emulator
) -> None:
    """Avro records whose registry is down are held, not dead-lettered, and not committed."""
    sink = sink_factory(route={"format": "avro"})
    sink.config = sink.config.model_copy(
        update={
            "avro": sink.config.avro.model_copy(
                update={"registry_url": f"http://127.0.0.1:{free_port()}"}
            )
        }
    )
    sink.produce([("r1", b"\x00\x00\x00\x00\x01\x02ab")])
    sink.start()
    wait_until(
        lambda: (
            (sink.registry.get_sample_value("sfsink_retries_total", {"reason": "decode"}) or 0) >= 2
        ),
        what="decode retries",
    )
    assert sink.committed() < 0
    assert sink.thread is not None
    assert sink.thread.is_alive()
    sink.stop_and_join()
    assert sink.dead_letters(1, timeout=2) == []
    assert emulator.admin.live("Account") == []


def test_debezium_json_streams_and_all_three_delete_shapes(sink_factory, emulator) -> None:
    """Envelopes c/u/r upsert; op=d, __deleted="true" and a tombstone each delete their key."""
    sink = sink_factory(
        route={
            "key_path": "id",
            "pass_unmapped": False,
            "fields": {"name": "Name", "phone": "Phone"},
        }
    )

    def envelope(op: str, before: object, after: object) -> dict[str, object]:
        return {
            "before": before,
            "after": after,
            "op": op,
            "source": {"table": "accounts"},
            "ts_ms": 1,
        }

    sink.produce(
        [
            ({"id": 1}, envelope("r", None, {"id": 1, "name": "One", "phone": "1"})),
            ({"id": 2}, envelope("c", None, {"id": 2, "name": "Two", "phone": "2"})),
            ({"id": 3}, envelope("c", None, {"id": 3, "name": "Three", "phone": None})),
            ({"id": 4}, envelope("c", None, {"id": 4, "name": "Four", "phone": "4"})),
            ({"id": 1}, envelope("u", {"id": 1}, {"id": 1, "name": "One!", "phone": None})),
        ]
    )
    sink.start()
    wait_until(lambda: sink.committed() == 5, what="the creates and updates committed")
    sink.produce(
        [
            ({"id": 2}, envelope("d", {"id": 2, "name": "Two", "phone": "2"}, None)),
            ({"id": 2}, None),
            ({"id": 3}, {"id": 3, "name": "Three", "__deleted": "true"}),
            ({"id": 4}, None),
        ]
    )
    wait_until(lambda: sink.committed() == 9, what="the deletes committed")
    sink.stop_and_join()
    live = {r["ExternalKey__c"]: (r["Name"], r["Phone"]) for r in emulator.admin.live("Account")}
    assert live == {"1": ("One!", None)}
    deleted = {r["ExternalKey__c"] for r in emulator.admin.records("Account") if r["IsDeleted"]}
    assert deleted == {"2", "3", "4"}


def test_a_child_flushed_before_its_parent_is_retried_until_the_parent_lands(
    sink_factory, emulator
) -> None:
    """A contact whose account has not landed yet is retried, then linked once it has."""
    contact_route = {
        "sobject": "Contact",
        "external_id": "ExternalKey__c",
        "pass_unmapped": True,
        "relationships": {"account": "Account.ExternalKey__c"},
    }
    sink = sink_factory(extra_routes=(contact_route,), batching={"retry_attempts": 30})
    contacts = sink.config.routes[1].topic
    sink.produce([("con-2", {"LastName": "Early", "account": "acc-2"})], topic=contacts)
    sink.start()
    wait_until(
        lambda: (
            (
                sink.registry.get_sample_value("sfsink_retries_total", {"reason": "INVALID_FIELD"})
                or 0
            )
            > 0
        ),
        what="a lookup retry",
    )
    sink.produce([("acc-2", {"Name": "Late parent"})])
    wait_until(lambda: sink.committed(contacts) == 1, timeout=90, what="the contact committed")
    sink.stop_and_join()
    [account] = emulator.admin.live("Account")
    [contact] = emulator.admin.live("Contact")
    assert contact["AccountId"] == account["Id"]
    assert sink.dead_letters(1, timeout=2) == []


def test_a_large_delete_batch_resolves_its_ids_in_one_call(sink_factory, emulator) -> None:
    """3,000 deletes: their Ids come from a Composite call of query subrequests.

    One call a delete batch (two if the deletes were cut into two batches), no REST
    query alone and no Bulk query; one delete job.
    """
    sink = sink_factory(batching={"max_age_seconds": 2})
    sink.produce([(f"d{i}", {"Name": f"n{i}"}) for i in range(3_000)])
    sink.start()
    wait_until(lambda: sink.committed() == 3_000, what="the creates final")
    before = emulator.admin.calls()
    sink.produce([(f"d{i}", None) for i in range(3_000)])
    wait_until(lambda: sink.committed() == 6_000, what="the deletes final")
    sink.stop_and_join()
    after = emulator.admin.calls()
    assert after["query_jobs"] == before["query_jobs"]
    assert after["calls"].get("query", 0) == before["calls"].get("query", 0)
    assert 1 <= after["calls"]["composite"] - before["calls"].get("composite", 0) <= 2
    assert emulator.admin.live("Account") == []


def test_a_job_slower_than_its_timeout_is_aborted_and_its_rows_written_again(
    sink_factory, emulator
) -> None:
    """A Salesforce that sits on a job: sfsink aborts it at the timeout and retries later."""
    emulator.admin.faults(job_delay_seconds=30)
    sink = sink_factory(salesforce={"job_timeout_seconds": 1})
    sink.produce([(f"slow{i}", {"Name": f"n{i}"}) for i in range(5)])
    sink.start()
    wait_until(
        lambda: (
            (sink.registry.get_sample_value("sfsink_retries_total", {"reason": "outage"}) or 0) > 0
        ),
        what="the timed-out job given back",
    )
    assert sink.committed() < 0
    emulator.admin.faults(job_delay_seconds=0)
    wait_until(lambda: sink.committed() == 5, timeout=120, what="all 5 committed")
    sink.stop_and_join()
    assert len(by_key(emulator.admin.records("Account"))) == 5
    with BulkClient(client_settings(sink.config)) as client:
        states = [job.state for job in client.jobs("ingest")]
    assert JobState.ABORTED in states
    assert states.count(JobState.JOB_COMPLETE) >= 1
    assert sink.dead_letters(1, timeout=2) == []


def test_the_quota_governor_holds_jobs_within_the_reserve_then_resumes(
    sink_factory, emulator
) -> None:
    """At 95% of the daily API cap (10% reserve) no job starts; when room returns, all land."""
    emulator.admin.limits(daily_api_cap=100_000, api_requests=95_000)
    sink = sink_factory(salesforce={"limits_interval_seconds": 0.5})
    sink.produce([(f"q{i}", {"Name": f"n{i}"}) for i in range(5)])
    sink.start()
    held = lambda: sink.registry.get_sample_value("sfsink_budget_held")  # noqa: E731
    wait_until(lambda: held() == 1, what="jobs held by the governor")
    with BulkClient(client_settings(sink.config)) as client:
        assert client.jobs("ingest") == []
    assert sink.committed() < 0
    emulator.admin.limits(api_requests=1_000)
    wait_until(lambda: sink.committed() == 5, timeout=60, what="all 5 committed")
    sink.stop_and_join()
    assert held() == 0
    assert len(by_key(emulator.admin.records("Account"))) == 5


def thread_cpu_seconds(thread: threading.Thread) -> float:
    """CPU time a thread of this process has used, from /proc (user + system)."""
    stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
    user, system = stat.rpartition(")")[2].split()[11:13]
    return (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")


def test_a_loop_held_with_rows_past_their_age_waits_instead_of_spinning(
    sink_factory, emulator
) -> None:
    """Held by the governor, rows past max age cannot go: the loop must not poll in a spin."""
    emulator.admin.limits(daily_api_cap=100_000, api_requests=95_000)
    sink = sink_factory(
        batching={"max_age_seconds": 0.3}, salesforce={"limits_interval_seconds": 0.5}
    )
    sink.produce([(f"s{i}", {"Name": f"n{i}"}) for i in range(5)])
    sink.start()
    wait_until(lambda: sink.registry.get_sample_value("sfsink_budget_held") == 1, what="held")
    wait_until(
        lambda: sink.registry.get_sample_value("sfsink_buffered_records") == 5,
        what="the rows buffered",
    )
    assert sink.thread is not None
    before, started = thread_cpu_seconds(sink.thread), time.monotonic()
    time.sleep(2.0)  # the span measured: a loop that waits uses almost none of it
    used = thread_cpu_seconds(sink.thread) - before
    assert used < 0.25 * (time.monotonic() - started), f"{used:.2f} CPU s in 2 s"
    emulator.admin.limits(api_requests=1_000)
    wait_until(lambda: sink.committed() == 5, timeout=60, what="all 5 committed")
    sink.stop_and_join()


def test_a_stop_while_held_by_the_governor_does_not_wait_out_the_drain(
    sink_factory, emulator
) -> None:
    """Nothing can be written while held, so a stop leaves at once; nothing is committed."""
    emulator.admin.limits(daily_api_cap=100_000, api_requests=99_000)
    sink = sink_factory(salesforce={"limits_interval_seconds": 0.5})
    sink.produce([("w1", {"Name": "waits"})])
    sink.start()
    wait_until(lambda: sink.registry.get_sample_value("sfsink_budget_held") == 1, what="jobs held")
    sink.stop_and_join(timeout=15)  # the drain deadline is 60 s
    assert sink.committed() < 0
    emulator.admin.limits(api_requests=0)
