"""The Batcher's compaction, per-key order and flush bounds."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import pytest

from connector.batch import Backlog, Batch, Batcher, BatchLimits, row_bytes
from connector.records import Action, Kept, Lane, Position, Row
from connector.salesforce.csvio import NULL

UPSERT = Lane("Account", Action.UPSERT, "Ext__c")
DELETE = Lane("Account", Action.DELETE, "Ext__c")
_offsets = iter(range(1_000_000))


def row(key: str, lane: Lane = UPSERT, group: str = "", **fields: str) -> Row:
    """A row for `key` backed by one fresh Kafka record."""
    offset = next(_offsets)
    return Row.of(lane, key, fields, (Kept.of(Position("t", 0, offset), offset),), group=group)


def drain(batcher: Batcher, now: float = 0.0) -> list[Batch]:
    """Every eligible row, as batches."""
    return batcher.due(now, limit=100, drain=True)


def test_consecutive_upserts_merge_field_by_field() -> None:
    """Later values win per field; fields only the earlier event had are kept."""
    batcher = Batcher(BatchLimits())
    batcher.add(row("a", Name="old", Phone="1"), now=0)
    batcher.add(row("a", Name="new", Industry=NULL), now=1)
    [batch] = drain(batcher)
    [merged] = batch.rows
    assert dict(merged.fields) == {"Name": "new", "Phone": "1", "Industry": NULL}
    assert len(merged.sources) == 2
    assert batch.record_count == 2


def test_a_delete_replaces_earlier_upserts() -> None:
    """Upserts followed by a delete become one delete; their records are superseded at once."""
    batcher = Batcher(BatchLimits())
    first, second, delete = row("a", Name="x"), row("a", Phone="1"), row("a", lane=DELETE)
    assert batcher.add(first, now=0) == ()
    assert batcher.add(second, now=0) == (), "a sparse update needs the fields before it"
    assert batcher.add(delete, now=0) == first.sources + second.sources
    [batch] = drain(batcher)
    assert batch.lane == DELETE
    assert batch.rows[0].sources == delete.sources


def test_a_full_row_supersedes_the_rows_it_overwrites_at_once() -> None:
    """A row setting every field the buffered one sets replaces it; its bytes are let go."""
    batcher = Batcher(BatchLimits())
    old, new = row("a", Name="old", Phone="1"), row("a", Phone="2", Name="new")
    batcher.add(old, now=0)
    held = batcher.buffered_bytes
    assert batcher.add(new, now=3) == old.sources
    assert batcher.buffered_bytes == held, "one row's worth, not two"
    [batch] = drain(batcher)
    [kept] = batch.rows
    assert (kept.fields, kept.sources) == ({"Phone": "2", "Name": "new"}, new.sources)
    assert batcher.next_deadline() is None
    batcher.add(row("b", Name="x"), now=10)
    assert batcher.add(row("b", Name="y"), now=20) != ()
    assert batcher.next_deadline() == 15, "the key's age is its first change's"


def test_an_upsert_after_a_delete_starts_fresh_and_waits_for_it() -> None:
    """The delete flushes first; the upsert, without the old fields, only after it is done."""
    batcher = Batcher(BatchLimits())
    batcher.add(row("a", Name="x", Phone="1"), now=0)
    batcher.add(row("a", lane=DELETE), now=0)
    batcher.add(row("a", Name="z"), now=0)
    [first] = drain(batcher)
    assert first.lane == DELETE
    assert drain(batcher) == [], "the upsert must wait while the delete is in flight"
    batcher.done(first)
    [second] = drain(batcher)
    assert second.lane == UPSERT
    assert dict(second.rows[0].fields) == {"Name": "z"}


def test_a_key_in_flight_is_never_in_a_second_batch() -> None:
    """Events for a key in flight wait; other keys flush meanwhile."""
    batcher = Batcher(BatchLimits())
    batcher.add(row("a", Name="1"), now=0)
    [first] = drain(batcher)
    batcher.add(row("a", Name="2"), now=0)
    batcher.add(row("b", Name="3"), now=0)
    [second] = drain(batcher)
    assert [r.external_id for r in second.rows] == ["b"]
    batcher.done(first)
    [third] = drain(batcher)
    assert [(r.external_id, r.fields["Name"]) for r in third.rows] == [("a", "2")]


def test_requeued_rows_go_before_newer_events_of_their_key() -> None:
    """A retried upsert merges under the newer event that arrived while it was in flight."""
    batcher = Batcher(BatchLimits())
    batcher.add(row("a", Name="old", Phone="1"), now=0)
    [first] = drain(batcher)
    batcher.add(row("a", Name="new"), now=0)
    retry = [replace(r, attempt=r.attempt + 1) for r in first.rows]
    batcher.requeue(retry, not_before=10)
    batcher.done(first)
    assert drain(batcher, now=5) == [], "a retry is not due before its backoff ends"
    [again] = drain(batcher, now=10)
    [merged] = again.rows
    assert dict(merged.fields) == {"Name": "new", "Phone": "1"}
    assert merged.attempt == 1
    assert len(merged.sources) == 2


def test_a_lane_is_due_at_max_records() -> None:
    """A lane holding max_records rows flushes them, and no more, in one batch."""
    batcher = Batcher(BatchLimits(max_records=3, max_age=60))
    for key in "abcd":
        batcher.add(row(key, Name=key), now=0)
    [batch] = batcher.due(0, limit=10)
    assert [r.external_id for r in batch.rows] == ["a", "b", "c"]
    assert batcher.due(0, limit=10) == []


def test_a_lane_is_due_at_max_bytes() -> None:
    """A lane whose rows reach max_bytes flushes, cut before the row that would pass it."""
    size = row_bytes(row("z", Name="x" * 80))
    batcher = Batcher(BatchLimits(max_bytes=int(size * 2.5), max_age=60))
    for key in "abc":
        batcher.add(row(key, Name="x" * 80), now=0)
    [batch] = batcher.due(0, limit=10)
    assert len(batch.rows) == 2
    assert batch.byte_size <= size * 2.5


def test_a_lane_is_due_at_max_age() -> None:
    """A quiet lane flushes once its oldest row is max_age old, not before."""
    batcher = Batcher(BatchLimits(max_age=5))
    batcher.add(row("a", Name="x"), now=100)
    batcher.add(row("b", Name="y"), now=103)
    assert batcher.due(104.9, limit=10) == []
    assert batcher.next_deadline() == 105
    [batch] = batcher.due(105, limit=10)
    assert len(batch.rows) == 2


def test_behind_a_backlog_the_deadline_is_backlog_max_age() -> None:
    """The poll waits for the age `due` applies: with a backlog, not before backlog max age."""
    batcher = Batcher(BatchLimits(max_age=5, backlog_max_age=30))
    batcher.add(row("a", Name="x"), now=100)
    assert batcher.due(106, limit=10, backlog=Backlog.READING) == []
    assert batcher.next_deadline(backlog=Backlog.READING) == 130
    assert batcher.next_deadline() == 105


def test_behind_a_backlog_a_lane_waits_backlog_max_age() -> None:
    """While the consumer is behind, age cuts wait backlog_max_age; caught up, max_age again."""
    batcher = Batcher(BatchLimits(max_age=5, backlog_max_age=30))
    batcher.add(row("a", lane=DELETE), now=100)
    assert batcher.due(106, limit=10, backlog=Backlog.READING) == []
    assert batcher.due(129.9, limit=10, backlog=Backlog.READING) == []
    [batch] = batcher.due(130, limit=10, backlog=Backlog.READING)
    assert batch.lane == DELETE
    batcher.add(row("b", lane=DELETE), now=200)
    [caught_up] = batcher.due(205, limit=10)
    assert [r.external_id for r in caught_up.rows] == ["b"]


def test_at_a_backlogs_tail_lanes_of_half_a_job_go_and_small_ones_wait() -> None:
    """Waiting for running jobs, a lane of half a job goes; a small lane waits backlog max age.

    Half a job by records as well as by bytes: either bounds a job.
    """
    batcher = Batcher(BatchLimits(max_records=4, max_age=5, backlog_max_age=30))
    for key in "ab":
        batcher.add(row(key, Name="x"), now=100)
    batcher.add(row("d", lane=DELETE), now=100)
    [upserts] = batcher.due(106, limit=10, backlog=Backlog.TAIL)
    assert (upserts.lane, len(upserts.rows)) == (UPSERT, 2)
    assert batcher.next_deadline(backlog=Backlog.TAIL) == 130
    assert batcher.due(129.9, limit=10, backlog=Backlog.TAIL) == []
    [batch] = batcher.due(130, limit=10, backlog=Backlog.TAIL)
    assert batch.lane == DELETE


def test_a_row_is_held_back_while_a_running_job_has_its_key() -> None:
    """Only a later row of a key in flight waits for that job; other keys do not."""
    batcher = Batcher(BatchLimits())
    batcher.add(row("a", Name="x"), now=0)
    [batch] = batcher.due(0, limit=10, drain=True)
    batcher.add(row("b", Name="y"), now=1)
    assert not batcher.held_back()
    batcher.add(row("a", lane=DELETE), now=1)
    assert batcher.held_back()
    batcher.done(batch)
    assert not batcher.held_back()


def test_pressed_lanes_of_half_a_job_go_and_small_ones_wait() -> None:
    """At the memory bound a lane of half max_bytes goes now; a small lane keeps filling."""
    size = row_bytes(row("z", Name="x" * 80))
    batcher = Batcher(BatchLimits(max_bytes=size * 4, max_age=60))
    for key in "abc":
        batcher.add(row(key, Name="x" * 80), now=0)
    batcher.add(row("d", lane=DELETE), now=0)
    assert batcher.due(1, limit=10) == [], "under max_bytes and max_age: not due unpressed"
    [batch] = batcher.due(1, limit=10, pressed=True)
    assert batch.lane == UPSERT
    assert len(batch.rows) == 3
    assert batcher.due(1, limit=10, pressed=True) == [], "a job in flight will free memory"


def test_pressed_only_the_largest_lane_of_half_a_job_goes() -> None:
    """Two lanes over half a job at the bound: the larger goes, the other keeps filling.

    Cutting both freed no more than the pause needed and made the smaller one a short job:
    four calls or more for a fraction of the rows.
    """
    upsert = row_bytes(row("z", Name="x" * 80))
    delete = row_bytes(row("z", lane=DELETE))
    batcher = Batcher(BatchLimits(max_bytes=upsert * 4, max_age=60))
    for key in "abc":
        batcher.add(row(key, Name="x" * 80), now=0)
    deletes = upsert * 2 // delete + 1  # over half a job, and smaller than the upserts
    for n in range(deletes):
        batcher.add(row(f"d{n}", lane=DELETE), now=0)
    [batch] = batcher.due(1, limit=10, pressed=True)
    assert batch.lane == UPSERT
    batcher.done(batch)
    assert batcher.due(1, limit=10) == [], "the delete lane waits for a whole job or max age"


def test_pressed_with_nothing_in_flight_the_largest_lane_goes() -> None:
    """At the bound with no job to wait for, the largest lane goes however small."""
    size = row_bytes(row("z", Name="x" * 80))
    batcher = Batcher(BatchLimits(max_bytes=size * 100, max_age=60))
    batcher.add(row("a", lane=DELETE), now=0)
    for key in "bc":
        batcher.add(row(key, Name="x" * 80), now=0)
    [batch] = batcher.due(1, limit=10, pressed=True)
    assert batch.lane == UPSERT
    assert batcher.due(1, limit=10, pressed=True) == []
    batcher.done(batch)
    [rest] = batcher.due(1, limit=10, pressed=True)
    assert rest.lane == DELETE


def test_limit_caps_the_batches_handed_over() -> None:
    """No more batches than the in-flight room allows; the oldest lane goes first."""
    batcher = Batcher(BatchLimits())
    batcher.add(row("a", lane=DELETE), now=1)
    batcher.add(row("b", Name="x"), now=0)
    [batch] = batcher.due(0, limit=1, drain=True)
    assert batch.lane == UPSERT


def test_rows_are_sorted_by_group_inside_a_batch() -> None:
    """Rows of one parent sit together in a job, against lock contention."""
    batcher = Batcher(BatchLimits())
    for key, parent in [("a", "p2"), ("b", "p1"), ("c", "p2"), ("d", "p1")]:
        batcher.add(row(key, group=parent, Name=key), now=0)
    [batch] = drain(batcher)
    assert [r.external_id for r in batch.rows] == ["b", "d", "a", "c"]


def test_buffered_bytes_count_until_done() -> None:
    """Memory is held from add until the batch is done, then released exactly.

    In flight a row's line waits in a file: the bound counts its key and records only.
    """
    batcher = Batcher(BatchLimits())
    batcher.add(row("a", Name="x" * 1_000), now=0)
    held = batcher.buffered_bytes
    assert held > 1_000
    [batch] = drain(batcher)
    assert 0 < batcher.buffered_bytes == batch.rows.byte_size < held - 1_000
    assert batch.rows[0].fields == {"Name": "x" * 1_000}
    batcher.done(batch)
    assert batcher.buffered_bytes == 0
    assert batcher.buffered_rows == 0


def test_forget_drops_only_revoked_partitions_records() -> None:
    """Rows of revoked partitions go; a merged row keeps the records of kept partitions."""
    batcher = Batcher(BatchLimits())
    kept = Kept.of(Position("t", 1, 0), 0)
    gone = Kept.of(Position("t", 0, 0), 1)
    batcher.add(Row.of(UPSERT, "a", {"Name": "1"}, (gone,)), now=0)
    batcher.add(Row.of(UPSERT, "a", {"Phone": "2"}, (kept,)), now=0)
    batcher.add(Row.of(UPSERT, "b", {"Name": "3"}, (gone,)), now=0)
    batcher.forget([("t", 0)])
    [batch] = drain(batcher)
    assert [(r.external_id, r.sources) for r in batch.rows] == [("a", (kept,))]
    batcher.done(batch)
    assert batcher.buffered_bytes == 0


def test_buffered_rows_counts_every_operation_waiting() -> None:
    """Merges, supersedes, queued operations, cuts, retries and revocations keep the count."""
    batcher = Batcher(BatchLimits(max_age=60))
    batcher.add(row("a", Name="x"), now=0)
    batcher.add(row("a", Phone="1"), now=0)  # merges into a's row
    batcher.add(row("b", Name="y"), now=0)
    assert batcher.buffered_rows == 2
    batcher.add(row("b", lane=DELETE), now=0)  # supersedes b's upsert
    batcher.add(row("b", Name="again"), now=0)  # waits behind the delete
    assert batcher.buffered_rows == 3
    first = batcher.due(0, limit=10, drain=True)
    assert sum(len(batch.rows) for batch in first) == 2
    assert batcher.buffered_rows == 1
    upsert = next(batch for batch in first if batch.lane == UPSERT)
    batcher.requeue(upsert.rows, not_before=0)
    for batch in first:
        batcher.done(batch)
    assert batcher.buffered_rows == 2
    batcher.forget([("t", 0)])
    assert batcher.buffered_rows == 0


def test_one_external_id_in_two_objects_is_two_keys() -> None:
    """The same value under Account and Contact: neither merges with nor waits for the other."""
    contact = Lane("Contact", Action.UPSERT, "Ext__c")
    batcher = Batcher(BatchLimits())
    batcher.add(row("k1", Name="account"), now=0)
    batcher.add(row("k1", lane=contact, LastName="contact"), now=0)
    batches = drain(batcher)
    assert sorted((b.lane.sobject, dict(b.rows[0].fields)) for b in batches) == [
        ("Account", {"Name": "account"}),
        ("Contact", {"LastName": "contact"}),
    ]
    batcher.add(row("k1", lane=contact, LastName="later"), now=1)
    assert drain(batcher) == []  # Contact k1 is in flight; Account k1 is not its key
    batcher.done(next(b for b in batches if b.lane == contact))
    [later] = drain(batcher)
    assert dict(later.rows[0].fields) == {"LastName": "later"}


@pytest.mark.parametrize(
    ("text", "most"),
    [("v", 700), ("é", 750), ("名", 1_100), ("😀", 1_600)],
    ids=["ascii", "latin-1", "cjk", "emoji"],
)
def test_a_buffered_row_costs_what_the_bound_counts(text: str, most: int) -> None:
    """A 20-field row with one record, counted no less than it holds and not a third more.

    Python keeps a str at 1, 2 or 4 bytes a character, as its widest character needs: one
    CJK character in a line doubles its memory, one emoji makes it fourfold. Counting
    characters instead let a CJK stream hold 1.2 times the bound, an emoji one 1.8 times.
    """
    batcher = Batcher(BatchLimits(max_age=60))
    count = 20_000
    fields = [
        {f"Field{n}__c": f"{text}{i % 97}x{n}" for n in range(20)} for i in range(count)
    ]  # rendered before measuring: a row's cells come from the decoder
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(count):
        batcher.add(row(f"acct-{i:07d}", **fields[i]), now=0)
    held = (tracemalloc.get_traced_memory()[0] - before) / count
    tracemalloc.stop()
    counted = batcher.buffered_bytes / count
    assert held < most, f"{held:.0f} bytes a row"
    assert held <= counted <= 1.3 * held, f"counted {counted:.0f} for {held:.0f} held"
