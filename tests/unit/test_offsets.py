"""The offset watermark commits only a contiguous prefix of final records."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from connector.offsets import OffsetTracker
from connector.records import Position, SourceRecord


def positions(topic: str, partition: int, offsets: range) -> list[Position]:
    """Positions of consecutive offsets on one partition."""
    return [Position(topic, partition, o) for o in offsets]


def records(topic: str, partition: int, offsets: range) -> list[SourceRecord]:
    """Records at consecutive offsets, each stamped 1000 + offset ms."""
    return [
        SourceRecord(p, None, None, (), 1000 + p.offset)
        for p in positions(topic, partition, offsets)
    ]


def test_nothing_is_committable_until_the_first_record_is_final() -> None:
    """Later records being final does not move the watermark past an unfinished one."""
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(10, 15)))
    tracker.mark_final(positions("t", 0, range(11, 15)))
    assert tracker.committable() == {}
    tracker.mark_final([Position("t", 0, 10)])
    assert tracker.committable() == {("t", 0): 15}


def test_watermark_stops_at_the_first_pending_record() -> None:
    """The committable offset is the first offset that is not yet final."""
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(5)))
    tracker.mark_final([Position("t", 0, o) for o in (0, 1, 3)])
    assert tracker.committable() == {("t", 0): 2}
    assert tracker.pending_count() == 3


def test_partitions_are_independent() -> None:
    """One partition's pending record does not hold back another's commit."""
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(3)) + records("t", 1, range(3)))
    tracker.mark_final(positions("t", 1, range(3)))
    assert tracker.committable() == {("t", 1): 3}


def test_a_commit_is_offered_once() -> None:
    """After a commit is recorded, the same offset is not offered again."""
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(3)))
    tracker.mark_final(positions("t", 0, range(3)))
    offsets = tracker.committable()
    assert tracker.committed(offsets) == [1000, 1001, 1002]
    assert tracker.committable() == {}
    tracker.track(records("t", 0, range(3, 4)))
    tracker.mark_final([Position("t", 0, 3)])
    assert tracker.committable() == {("t", 0): 4}


def test_forgotten_partitions_ignore_late_outcomes() -> None:
    """A revoked partition is dropped; outcomes arriving later do not resurrect it."""
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(3)))
    tracker.forget([("t", 0)])
    tracker.mark_final(positions("t", 0, range(3)))
    assert tracker.committable() == {}
    assert tracker.pending_count() == 0


def test_out_of_order_tracking_is_refused() -> None:
    """Tracking an offset at or below the last tracked one is a bug, reported loudly."""
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(5, 6)))
    with pytest.raises(ValueError, match="not after"):
        tracker.track(records("t", 0, range(5, 6)))


def test_random_completion_order_commits_exactly_the_final_prefix() -> None:
    """Whatever order outcomes arrive in, the watermark equals the final prefix."""
    rng = random.Random(7)
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(1000)))
    order = list(range(1000))
    rng.shuffle(order)
    done: set[int] = set()
    for offset in order:
        tracker.mark_final([Position("t", 0, offset)])
        done.add(offset)
        prefix = 0
        while prefix in done:
            prefix += 1
        assert tracker.committable().get(("t", 0)) == (prefix or None)
    assert tracker.pending_count() == 0


def test_unfinished_counts_only_records_not_yet_final() -> None:
    """A final record behind an unfinished one is held back, but no longer unfinished."""
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(5)) + records("t", 1, range(2)))
    tracker.mark_final([Position("t", 0, o) for o in (0, 1, 3)])
    assert tracker.pending_count() == 5
    assert tracker.unfinished_count() == 4


def test_forget_releases_only_unfinished_records() -> None:
    """Records already counted final are not counted again as released."""
    tracker = OffsetTracker()
    tracker.track(records("t", 0, range(5)))
    tracker.mark_final([Position("t", 0, o) for o in (0, 2, 3)])
    assert tracker.forget([("t", 0)]) == 2
    assert tracker.unfinished_count() == 0


def test_gapped_offsets_and_repeated_marks_match_a_simple_model() -> None:
    """The tracker agrees with a plain list of pending records, whatever comes.

    Gapped offsets (transaction markers, compaction) tracked poll by poll, outcomes in any
    order, some twice, some for offsets never tracked: the watermark, the counts and the
    timestamps handed over at commit all match.
    """
    rng = random.Random(11)
    tracker = OffsetTracker()
    offsets = sorted(rng.sample(range(60_000), 20_000))
    model: list[int] = []  # pending offsets, in order
    final: set[int] = set()
    stamps: list[int | None] = []
    for start in range(0, len(offsets), 1_000):
        polled = offsets[start : start + 1_000]
        tracker.track([SourceRecord(Position("t", 0, o), None, None, (), o) for o in polled])
        model += polled
        outcomes = [*rng.sample(model, min(len(model), 900)), rng.randrange(60_000)]
        tracker.mark_final(Position("t", 0, o) for o in outcomes)
        final |= set(outcomes) & set(model)
        while model and model[0] in final:
            final.discard(model[0])
            stamps.append(model.pop(0))
        if stamps:
            assert tracker.committable() == {("t", 0): stamps[-1] + 1}
            assert tracker.committed(tracker.committable()) == stamps
            stamps = []
        assert tracker.pending_count() == len(model)
        assert tracker.unfinished_count() == len(model) - len(final)


def test_a_record_held_back_costs_a_few_bytes() -> None:
    """100,000 records behind one unfinished record cost well under 40 bytes each."""
    tracker = OffsetTracker()
    polled = records("t", 0, range(100_000))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracker.track(polled)
    tracker.mark_final(positions("t", 0, range(1, 100_000)))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert tracker.committable() == {}
    assert held < 100_000 * 40, f"{held / 100_000:.0f} bytes a record"
