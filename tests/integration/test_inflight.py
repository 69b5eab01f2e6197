"""Rows in flight: held slim, their lines in an unlinked file, every row back whole."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from connector.batch import Batcher, BatchLimits, row_bytes
from connector.errors import FatalError
from connector.inflight import InFlightRows
from connector.records import Action, Kept, Lane, Position, Row

UPSERT = Lane("Account", Action.UPSERT, "Ext__c")
DELETE = Lane("Account", Action.DELETE, "Ext__c")


def kept(topic: str, partition: int, offset: int) -> Kept:
    """A record's place, its spool offset made up from its Kafka one."""
    return Kept.of(Position(topic, partition, offset), offset * 10)


def mixed_rows() -> list[Row]:
    """Rows of several shapes, cells that need quoting, merged records, retries, groups."""
    return [
        Row.of(UPSERT, "a", {"Name": "plain", "Phone": "1"}, (kept("t", 0, 1),)),
        Row.of(
            UPSERT,
            "b-ü",
            {"Name": 'comma, "quote"\nand a line', "Description": "zählung ✓"},
            (kept("t", 0, 2), kept("u", 3, 7), kept("t", 0, 9)),
            attempt=2,
            group="parent-1",
        ),
        Row.of(UPSERT, "c", {"Name": "#N/A"}, (kept("u", 1, 4),), group="parent-2"),
        Row.of(UPSERT, "", {"Phone": ""}, (kept("t", 2, 0),)),
    ]


def test_every_row_comes_back_whole(tmp_path: Path) -> None:
    """By index, from either end, and in order; lines as they were, records oldest first."""
    rows = mixed_rows()
    held = InFlightRows(UPSERT, rows, tmp_path)
    assert len(held) == 4
    assert list(held) == rows
    assert [held[i] for i in range(4)] == rows
    assert held[-1] == rows[-1]
    assert held[1:3] == rows[1:3]
    with pytest.raises(IndexError):
        held[4]
    with pytest.raises(IndexError):
        held[-5]
    assert list(held.lines()) == [row.line for row in rows]
    assert held.keys == ("a", "b-ü", "c", "")
    assert held.record_count == 6
    assert held.record_count_of([1, 3]) == 4
    assert list(held.kept([3, 1])) == [*rows[3].sources, *rows[1].sources]
    assert held.sources(1) == rows[1].sources
    held.close()


def test_lines_of_many_megabytes_are_read_whole(tmp_path: Path) -> None:
    """Lines are read a megabyte at a time: none is cut where a block ends."""
    rows = [
        Row.of(UPSERT, f"k{i}", {"Name": "ü" * (i % 700), "Phone": str(i)}, (kept("t", 0, i),))
        for i in range(6_000)
    ]
    held = InFlightRows(UPSERT, rows, tmp_path)
    assert sum(len(row.line.encode()) for row in rows) > 3 * 2**20
    assert list(held.lines()) == [row.line for row in rows]
    assert held[5_999] == rows[5_999]
    held.close()


def test_deletes_need_no_file(tmp_path: Path) -> None:
    """A delete has no line: its rows come back from their keys and records alone."""
    rows = [Row(DELETE, f"k{i}", (), "", (kept("t", 0, i),)) for i in range(3)]
    held = InFlightRows(DELETE, rows, tmp_path)
    assert list(held) == rows
    assert held[2] == rows[2]
    assert list(held.lines()) == []
    held.close()


def test_the_lines_file_leaves_nothing_behind(tmp_path: Path) -> None:
    """The file is unlinked at once; closing it gives its space back."""
    held = InFlightRows(UPSERT, mixed_rows(), tmp_path)
    assert list(tmp_path.iterdir()) == []
    held.close()
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_a_clear_fatal_error(tmp_path: Path) -> None:
    """Where the lines would go does not exist: the error names it."""
    missing = tmp_path / "gone"
    with pytest.raises(FatalError, match=f"cannot hold a job's rows in {missing}"):
        InFlightRows(UPSERT, mixed_rows(), missing)


@pytest.mark.parametrize(
    ("text", "fraction"),
    [("", 0.5), ("名", 0.5), ("😀", 0.6)],  # keys and groups stay; the wider lines go to disk
    ids=["ascii", "cjk", "emoji"],
)
def test_a_row_in_flight_costs_a_fraction_of_a_buffered_one(
    tmp_path: Path, text: str, fraction: float
) -> None:
    """The bound counts no less than tracemalloc sees, and far less than the rows held.

    Measured from before the rows were made to after they are gone, with the Batcher's
    set of keys in flight: what a batch in flight really keeps alive, retries and
    group values included. A key or group with a character beyond Latin-1 takes 2 or 4
    bytes a character.
    """
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    names = [f"Field{f}__c" for f in range(12)]  # a route's field names, one string each
    rows = [
        Row.of(
            UPSERT,
            f"{text}{i:012d}",
            {name: f"value {i} {f}" for f, name in enumerate(names)},
            (kept("t", 0, i), kept("t", 0, i + 1_000_000)) if i % 3 == 0 else (kept("t", 0, i),),
            attempt=i % 2,
            group=f"{text}001{i // 10:015d}",  # a parent's id, each row's own string
        )
        for i in range(20_000)
    ]
    buffered = sum(row_bytes(row) for row in rows)
    held = InFlightRows(UPSERT, rows, tmp_path)
    in_flight = set(held.keys)
    del rows
    gc.collect()
    kept_alive = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(in_flight) == len(held) == 20_000
    assert kept_alive <= held.byte_size, f"{kept_alive / len(held):.0f} bytes a row held"
    assert held.byte_size < buffered * fraction, f"{held.byte_size / buffered:.2f} of the buffered"
    held.close()


def test_done_closes_each_batchs_file() -> None:
    """A drain cuts hundreds of batches: each one's file goes when the Batcher is done with it."""
    batcher = Batcher(BatchLimits(max_records=1))
    for i in range(50):
        batcher.add(Row.of(UPSERT, f"k{i}", {"Name": "n"}, (kept("t", 0, i),)), now=0)
    before = _descriptors()
    batches = []
    while cut := batcher.due(0, limit=1, drain=True):  # one batch a lane a call
        batches += cut
    assert len(batches) == 50
    assert _descriptors() == before + 50
    for batch in batches:
        batcher.done(batch)
    assert _descriptors() == before  # the batches are still referenced: done closed them


def _descriptors() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))
