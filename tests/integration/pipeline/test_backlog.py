"""Catching up on a backlog: fuller jobs while records wait in Kafka, and no wait at its end."""

from __future__ import annotations

from collections import Counter

from connector.salesforce import BulkClient
from connector.service import client_settings
from tests.integration.pipeline.conftest import Sink, wait_until


def jobs_by_operation(sink: Sink) -> Counter[str]:
    """How many ingest jobs the org ran, per operation."""
    with BulkClient(client_settings(sink.config)) as client:
        return Counter(job.operation.value for job in client.jobs("ingest"))


def drained_again(sink: Sink, committed: int, timeout: float) -> Sink:
    """A new run of the same group from its committed offsets, until `committed`; stopped."""
    again = Sink(sink.bootstrap, sink.topic, sink.dlq, sink.group, sink.config)
    again.start()
    wait_until(
        lambda: again.committed() == committed, timeout=timeout, what="the backlog committed"
    )
    again.stop_and_join()
    return again


def test_behind_a_backlog_a_small_lane_waits_for_fuller_jobs(sink_factory, emulator) -> None:
    """Deletes among 24,000 upserts go in one or two jobs, not one per max age or pause.

    The memory bound (4 MiB) makes the drain take many upsert jobs and many times max age
    (0.3 s); without the backlog bound each pause or max age would also cut a delete job.
    """
    sink = sink_factory(
        batching={
            "max_age_seconds": 0.3,
            "backlog_max_age_seconds": 600,
            "max_buffered_bytes": 4 * 2**20,
            "max_in_flight": 2,
        }
    )
    seeded = 300
    sink.produce([(f"d{i}", {"Name": f"d{i}"}) for i in range(seeded)])
    sink.start()
    wait_until(lambda: sink.committed() == seeded, what="the seed committed")
    sink.stop_and_join()
    assert jobs_by_operation(sink)["delete"] == 0

    upserts = 24_000
    events: list[tuple[object, object]] = []
    for i in range(upserts):
        events.append((f"u{i}", {"Name": f"u{i}", "Description": "x" * 200}))
        if i % 40 == 0 and i // 40 < seeded:  # every delete in the backlog's first half
            events.append((f"d{i // 40}", None))
    sink.produce(events)
    again = drained_again(sink, seeded + len(events), timeout=180)
    jobs = jobs_by_operation(again)
    assert jobs["upsert"] >= 5, "the bound made the drain take many jobs"
    assert 1 <= jobs["delete"] <= 2, jobs
    live = {r["ExternalKey__c"] for r in emulator.admin.live("Account")}
    assert live == {f"u{i}" for i in range(upserts)}
    assert again.registry.get_sample_value("sfsink_catching_up") == 0


def test_the_tail_of_a_backlog_goes_when_caught_up_not_at_max_age(sink_factory, emulator) -> None:
    """Once the backlog is read, what is buffered is written at once, not max age later."""
    sink = sink_factory(batching={"max_age_seconds": 600})
    keys = 3_000
    sink.produce([(f"t{i % keys}", {"Name": f"t{i}"}) for i in range(30_000)])
    sink.start()
    wait_until(lambda: sink.committed() == 30_000, timeout=60, what="the backlog committed")
    sink.stop_and_join()
    names = {r["ExternalKey__c"]: r["Name"] for r in emulator.admin.live("Account")}
    assert names == {f"t{k}": f"t{27_000 + k}" for k in range(keys)}


def test_after_a_backlog_live_records_go_at_max_age_again(sink_factory) -> None:
    """Caught up, the backlog bound no longer applies: a live record waits max age, no more."""
    sink = sink_factory(batching={"max_age_seconds": 0.3, "backlog_max_age_seconds": 600})
    backlog = 30_000
    sink.produce([(f"b{i % 500}", {"Name": f"b{i}"}) for i in range(backlog)])
    sink.start()
    wait_until(
        lambda: sink.registry.get_sample_value("sfsink_catching_up") == 1, what="catching up"
    )
    wait_until(lambda: sink.committed() == backlog, timeout=60, what="the backlog committed")
    for live in range(1, 4):
        sink.produce([(f"live{live}", {"Name": "live"})])
        wait_until(lambda n=live: sink.committed() == backlog + n, timeout=20, what="live record")
    assert sink.registry.get_sample_value("sfsink_catching_up") == 0
    sink.stop_and_join()


SEEDED = 300  # keys written before the backlog, for its deletes


def drained_behind_a_held_job(
    sink_factory, emulator, *, max_in_flight: int, again_changed: int
) -> Sink:
    """A backlog whose first 5,000 upserts make a job the emulator holds 4 s, drained.

    After them: 500 new keys, deletes of the SEEDED keys written before, and a second
    change to the first `again_changed` keys of the held job. Returns the run that drained it.
    """
    batching = {"max_age_seconds": 2, "max_records": 5_000, "max_in_flight": max_in_flight}
    sink = sink_factory(batching=batching)
    sink.produce([(f"d{i}", {"Name": f"d{i}"}) for i in range(SEEDED)])
    sink.start()
    wait_until(lambda: sink.committed() == SEEDED, what="the seed committed")
    sink.stop_and_join()
    assert jobs_by_operation(sink) == {"upsert": 1}

    backlog: list[tuple[object, object]] = [
        *[(f"a{i}", {"Name": f"a{i}"}) for i in range(5_000)],
        *[(f"b{i}", {"Name": f"b{i}"}) for i in range(500)],
        *[(f"d{i}", None) for i in range(SEEDED)],
        *[(f"a{i}", {"Name": f"a{i} again"}) for i in range(again_changed)],
    ]
    sink.produce(backlog)
    emulator.admin.faults(job_delay_seconds=4.0)
    return drained_again(sink, SEEDED + len(backlog), timeout=60)


def test_the_tail_of_a_backlog_waits_for_the_jobs_holding_its_keys(sink_factory, emulator) -> None:
    """Rows held back behind a running job join the tail's last jobs, not jobs of their own.

    The rest of the backlog is read while the first job is held: new keys, deletes, and a
    second change to 1,000 keys of the running job, which cannot go before it. One upsert
    job and one delete job take the whole tail; flushed at once when read, it took two
    upsert jobs (the second change going on its own once the held job was done) and a
    delete job that waited for room.
    """
    again = drained_behind_a_held_job(sink_factory, emulator, max_in_flight=2, again_changed=1_000)
    assert jobs_by_operation(again) == {"upsert": 1 + 2, "delete": 1}
    names = {r["ExternalKey__c"]: r["Name"] for r in emulator.admin.live("Account")}
    assert names == {
        **{f"a{i}": f"a{i} again" if i < 1_000 else f"a{i}" for i in range(5_000)},
        **{f"b{i}": f"b{i}" for i in range(500)},
    }


def test_the_tail_of_a_backlog_goes_at_once_when_no_running_job_holds_its_keys(
    sink_factory, emulator
) -> None:
    """Waiting for a running job pays only for rows of its keys: with none, the tail goes.

    With no second change to its keys, the new keys' and the deletes' jobs are made while
    the emulator still holds the first job, not after it.
    """
    again = drained_behind_a_held_job(sink_factory, emulator, max_in_flight=4, again_changed=0)
    with BulkClient(client_settings(again.config)) as client:
        jobs = {
            (job.operation.value, job.number_records_processed): job
            for job in client.jobs("ingest")
        }
    held = jobs[("upsert", 5_000)]
    assert held.system_modstamp is not None
    for tail in (jobs[("upsert", 500)], jobs[("delete", SEEDED)]):
        assert tail.created_date is not None
        assert tail.created_date < held.system_modstamp, (tail, held)
