"""The record spool: bytes back exactly as consumed, segments gone once committed."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from connector.batch import Batcher, BatchLimits
from connector.errors import FatalError
from connector.records import Action, Lane, Position, Row, SourceRecord
from connector.spool import RecordSpool

LANE = Lane("Account", Action.UPSERT, "Ext__c")


def record(partition: int, offset: int, value: bytes | None = b"v" * 100) -> SourceRecord:
    """A record of topic t, keyed by its offset."""
    return SourceRecord(Position("t", partition, offset), f"k{offset}".encode(), value)


def test_records_read_back_exactly_as_consumed(tmp_path: Path) -> None:
    """Null keys and values, empty bytes, headers with null values, non-ASCII names."""
    records = [
        SourceRecord(Position("t", 0, 0), None, None),
        SourceRecord(Position("t", 0, 1), b"", b"", (), 0),
        SourceRecord(
            Position("t", 3, 2),
            b"\x00key",
            bytes(range(256)),
            (("trace", b"abc"), ("empty", None), ("zählung", b"\xff")),
            1_700_000_000_123,
        ),
    ]
    spool = RecordSpool(tmp_path)
    kept = [spool.keep(r) for r in records]
    assert [k.position for k in kept] == [r.position for r in records]
    assert [spool.read(k) for k in reversed(kept)] == records[::-1]
    spool.close()


def test_segments_go_once_every_record_in_them_is_committed(tmp_path: Path) -> None:
    """A segment holding two partitions waits for both; the one being written stays."""
    spool = RecordSpool(tmp_path, segment_bytes=1_000)
    kept = [spool.keep(record(offset % 2, offset)) for offset in range(40)]
    segments = spool.segment_count
    assert segments > 3
    spool.committed({("t", 0): 40})  # partition 1 holds every segment back
    assert spool.segment_count == segments
    assert spool.read(kept[1]) == record(1, 1)
    spool.committed({("t", 1): 20})  # every segment up to offset 19
    assert 1 < spool.segment_count < segments
    assert spool.read(kept[39]) == record(1, 39)
    with pytest.raises(LookupError):
        spool.read(kept[0])
    spool.committed({("t", 1): 40})
    assert spool.segment_count == 1  # the one being written, emptied
    assert spool.disk_bytes() == 0
    kept = [spool.keep(record(0, offset)) for offset in range(40, 43)]
    assert spool.read(kept[2]) == record(0, 42)
    assert spool.disk_bytes() == sum(len(f"k{o}") + 100 + 20 for o in range(40, 43))
    spool.close()


def test_revoked_partitions_release_their_segments(tmp_path: Path) -> None:
    """A revoked partition's rows were dropped: its records hold no segment."""
    spool = RecordSpool(tmp_path, segment_bytes=500)
    for offset in range(20):
        spool.keep(record(5, offset))
    assert spool.segment_count > 2
    spool.forget([("t", 5)])
    assert spool.segment_count == 1
    spool.close()


def test_an_unwritable_directory_stops_with_a_clear_error(tmp_path: Path) -> None:
    """The process must stop (nothing committed), naming where it tried to write."""
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FatalError, match="no-such-dir"):
        RecordSpool(missing).keep(record(0, 0))


def test_segments_leave_no_file_behind(tmp_path: Path) -> None:
    """Segments are unlinked at creation: a killed process leaves nothing to clean up."""
    spool = RecordSpool(tmp_path)
    spool.keep(record(0, 0))
    assert list(tmp_path.iterdir()) == []
    spool.close()


def test_buffered_rows_hold_their_records_places_not_their_bytes(tmp_path: Path) -> None:
    """4 KB records cost their rows a few hundred bytes each, and the bound counts no less."""
    spool = RecordSpool(tmp_path)
    batcher = Batcher(BatchLimits(max_age=60))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for offset in range(2_000):
        value = os.urandom(4_096)
        kept = spool.keep(SourceRecord(Position("t", 0, offset), f"k{offset}".encode(), value))
        batcher.add(Row.of(LANE, f"k{offset}", {"Name": f"n{offset}"}, (kept,)), now=0)
    # reading one back writes out the spool's buffer (a megabyte at most, not per row)
    assert spool.read(kept).value == value
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    spool.close()
    assert held < 2_000 * 1_000, f"{held / 2_000:.0f} bytes a row"
    assert batcher.buffered_bytes >= held, "the memory bound must not count less than is held"


def test_records_reach_the_disk_a_megabyte_at_a_time(tmp_path: Path) -> None:
    """Each write releases the GIL to a waiting job thread: 3 MB of records, a few writes."""
    spool = RecordSpool(tmp_path)
    before = _write_calls()
    kept = [spool.keep(record(0, offset, value=b"v" * 300)) for offset in range(10_000)]
    writes = _write_calls() - before
    assert writes <= 5, f"{writes} write calls (an 8 KiB buffer makes about 380)"
    assert spool.read(kept[-1]) == record(0, 9_999, value=b"v" * 300)
    spool.close()


def _write_calls() -> int:
    """This process's write system calls so far, as Linux counts them."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["syscw"])
