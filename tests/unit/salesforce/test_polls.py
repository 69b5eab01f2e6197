"""The learned poll schedule: its arithmetic, on simulated jobs (no I/O, no clock)."""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass

import pytest

from connector.salesforce.polls import FOLLOW_UP_SHARE, PollPolicy, PollSchedule, Seen, remaining

POLICY = PollPolicy(initial=1.0, factor=1.5, maximum=30.0, floor=0.1)


@dataclass
class Org:
    """A simulated org: a job of N rows starts `queue` s after its close, `per_row` s a row."""

    queue: float
    per_row: float = 20e-6

    def finish(self, rows: int) -> float:
        """Seconds from close to done."""
        return self.queue + rows * self.per_row


@dataclass(frozen=True)
class Outcome:
    """How one job was seen."""

    polls: int
    late: float  # seconds from the finish to the poll that saw it


def run_job(schedule: PollSchedule, org: Org, rows: int) -> Outcome:
    """Poll one job as JobApi.wait does, and teach the schedule what it saw."""
    finish = org.finish(rows)
    at, missed_at, polls = 0.0, None, 0
    for delay in schedule.delays(rows):
        at += delay
        polls += 1
        if at >= finish:
            break
        missed_at = at
    processing_ms = round(rows * org.per_row * 1000)
    schedule.observe(Seen(rows, at, missed_at, processing_ms, rows))
    return Outcome(polls, at - finish)


def first_look(schedule: PollSchedule, rows: int) -> float:
    """The wait before the first poll of a job of `rows`."""
    return next(schedule.delays(rows))


def test_until_a_job_is_seen_the_fixed_schedule_applies() -> None:
    """Nothing learned: initial, times factor, up to the maximum, as before."""
    schedule = PollSchedule(PollPolicy(initial=1.0, factor=2.0, maximum=5.0))
    assert schedule.estimate(1_000) is None
    assert list(itertools.islice(schedule.delays(1_000), 5)) == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_learn_false_keeps_the_fixed_schedule() -> None:
    """A policy with learn=False ignores what jobs showed."""
    policy = PollPolicy(initial=1.0, factor=1.5, maximum=30.0, learn=False)
    schedule = PollSchedule(policy)
    for _ in range(5):
        run_job(schedule, Org(queue=0.05), 10_000)
    assert list(itertools.islice(schedule.delays(10_000), 3)) == [1.0, 1.5, 2.25]


def test_the_first_look_follows_rows_times_salesforces_time_per_row() -> None:
    """Per-row time comes from totalProcessingTime: a 10x bigger job waits about 10x longer."""
    schedule = PollSchedule(POLICY)
    org = Org(queue=0.0, per_row=22e-6)
    for _ in range(10):
        run_job(schedule, org, 100_000)
    big = first_look(schedule, 100_000)
    assert org.finish(100_000) <= big <= org.finish(100_000) * 1.25
    assert first_look(schedule, 1_000_000) == pytest.approx(big * 10, rel=0.05)


def test_big_jobs_are_seen_done_at_the_first_poll_once_learned() -> None:
    """After a few 100,000-row jobs, each later one costs one poll and is seen soon after."""
    schedule = PollSchedule(POLICY)
    org = Org(queue=0.01, per_row=22e-6)
    outcomes = [run_job(schedule, org, 100_000) for _ in range(30)]
    assert outcomes[0].polls == 2  # 1 s, then 2.5 s: the fixed schedule
    assert all(o.polls == 1 for o in outcomes[3:])
    assert all(o.late <= 0.3 for o in outcomes[3:])


def test_small_jobs_come_down_from_the_first_second_fast() -> None:
    """Jobs done in 30 ms: within 8 jobs the first look is at the floor, not 1 s later."""
    schedule = PollSchedule(POLICY)
    org = Org(queue=0.01)
    outcomes = [run_job(schedule, org, 1_000) for _ in range(12)]
    assert outcomes[0].late > 0.9
    assert first_look(schedule, 1_000) == POLICY.floor
    assert all(o.polls == 1 for o in outcomes)


def test_never_more_often_than_the_floor_nor_less_often_than_the_maximum() -> None:
    """Every learned wait lies within [floor, maximum]."""
    schedule = PollSchedule(PollPolicy(initial=1.0, factor=1.5, maximum=3.0, floor=0.1))
    for _ in range(10):
        run_job(schedule, Org(queue=0.0), 1_000)
    assert list(itertools.islice(schedule.delays(1_000), 3)) == pytest.approx([0.1, 0.1, 0.15])
    waits = list(itertools.islice(schedule.delays(10_000_000), 20))
    assert waits[0] == 3.0
    assert all(0.1 <= w <= 3.0 for w in waits)


def test_follow_ups_start_at_a_share_of_the_estimate_and_grow_by_the_factor() -> None:
    """A first look that missed is followed soon, then less and less often."""
    schedule = PollSchedule(POLICY)
    for _ in range(10):
        run_job(schedule, Org(queue=0.5), 100_000)
    estimate = schedule.estimate(100_000)
    assert estimate is not None
    first, *follow = itertools.islice(schedule.delays(100_000), 4)
    assert first == pytest.approx(estimate)
    assert follow == pytest.approx(
        [estimate * FOLLOW_UP_SHARE * 1.5**n for n in range(3)], rel=1e-9
    )


def test_a_follow_up_raises_lag_to_at_least_the_middle_of_the_last_interval() -> None:
    """A job seen running at 1 s and done at 3 s says it finished after 1 s: lag >= 2 s."""
    schedule = PollSchedule(POLICY)
    schedule.observe(Seen(rows=0, elapsed=3.0, missed_at=1.0, processing_ms=0, processed=0))
    assert schedule.estimate(0) == pytest.approx(2.0)


def test_one_outlier_never_pushes_the_first_look_past_the_maximum() -> None:
    """A job that took an hour (a stuck org) leaves the first look at the maximum at most."""
    schedule = PollSchedule(POLICY)
    for _ in range(5):
        run_job(schedule, Org(queue=0.2), 10_000)
    schedule.observe(Seen(10_000, 3_600.0, 3_500.0, 3_600_000, 10_000))
    assert first_look(schedule, 10_000) <= POLICY.maximum
    assert first_look(schedule, 0) <= POLICY.maximum


def test_one_slow_job_counts_at_most_four_times_the_learned_time_per_row() -> None:
    """A job 1,000x slower per row than the rest moves the rate by a bounded step."""
    schedule = PollSchedule(POLICY)
    for _ in range(10):
        run_job(schedule, Org(queue=0.0, per_row=20e-6), 100_000)
    before = first_look(schedule, 100_000)
    schedule.observe(Seen(100_000, 2_000.0, None, 2_000_000, 100_000))
    assert first_look(schedule, 100_000) < before * 4


@pytest.mark.parametrize("queue", [0.3, 1.5, 4.0])
def test_about_nine_jobs_in_ten_are_seen_at_the_first_poll(queue: float) -> None:
    """Jobs whose finish is lag-dominated and noisy: few follow-ups, and seen soon."""
    rng = random.Random(7)
    schedule = PollSchedule(POLICY)
    outcomes = []
    for _ in range(400):
        org = Org(queue=queue * rng.uniform(0.9, 1.1))
        outcomes.append(run_job(schedule, org, rng.choice([500, 5_000, 20_000])))
    settled = outcomes[50:]
    polls = sum(o.polls for o in settled) / len(settled)
    assert polls <= 1.25
    mean_late = sum(o.late for o in settled) / len(settled)
    assert mean_late <= 0.25 * queue + 0.1


def test_a_slower_org_is_followed_within_a_few_jobs_and_a_faster_one_too() -> None:
    """Speed changes: the first look tracks a queue going from 0.2 s to 3 s and back."""
    schedule = PollSchedule(POLICY)
    for queue, settle in ((0.2, 50), (3.0, 5), (0.2, 60)):
        org = Org(queue=queue)
        for _ in range(settle):
            run_job(schedule, org, 1_000)
        tail = [run_job(schedule, org, 1_000) for _ in range(20)]
        assert sum(o.polls for o in tail) <= 26, queue
        assert max(o.late for o in tail) <= 0.5 * queue + 0.1, queue


def test_threads_sharing_a_schedule_all_get_learned_waits() -> None:
    """Four threads observing at once leave a consistent estimate (no lost update breaks it)."""
    schedule = PollSchedule(POLICY)
    org = Org(queue=0.05)

    def work() -> None:
        for _ in range(200):
            run_job(schedule, org, 10_000)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert org.finish(10_000) * 0.5 <= first_look(schedule, 10_000) <= org.finish(10_000) * 1.6


def test_a_job_seen_part_done_is_due_when_the_rest_is_at_that_pace() -> None:
    """A quarter done 2 s after the close: the rest in 6 s, plus the margin."""
    assert remaining(40_000, 10_000, 2.0) == pytest.approx(6.0 * 1.1)
    assert remaining(40_000, 39_999, 8.0) == pytest.approx(8.0 / 39_999 * 1.1)


def test_without_progress_there_is_nothing_to_go_by() -> None:
    """Nothing processed yet, all processed (finishing), or a query's unknown rows."""
    assert remaining(40_000, 0, 2.0) is None
    assert remaining(40_000, 40_000, 2.0) is None
    assert remaining(0, 500, 2.0) is None


def test_a_job_seen_with_nothing_processed_is_due_after_its_rows_time() -> None:
    """Not started at the first look (queued behind others): all its rows' time from then.

    A share of the estimate would look again several times while the job waits its turn.
    """
    schedule = PollSchedule(POLICY)
    org = Org(queue=0.0, per_row=20e-6)
    for _ in range(10):
        run_job(schedule, org, 100_000)
    assert schedule.follow_up(100_000, 0, 3.0) == pytest.approx(100_000 * 20e-6 * 1.1, rel=0.01)
    assert schedule.follow_up(100_000, 0, 3.0) > first_look(schedule, 100_000) * FOLLOW_UP_SHARE
    assert schedule.follow_up(40_000, 10_000, 2.0) == remaining(40_000, 10_000, 2.0)


def test_before_anything_is_learned_a_job_without_progress_keeps_the_schedule() -> None:
    """No time per row learned, a query's unknown rows, or learning off: the policy decides."""
    assert PollSchedule(POLICY).follow_up(100_000, 0, 3.0) is None
    learned = PollSchedule(POLICY)
    run_job(learned, Org(queue=0.0), 10_000)
    assert learned.follow_up(0, 0, 3.0) is None
    fixed = PollSchedule(PollPolicy(learn=False))
    assert fixed.follow_up(100_000, 0, 3.0) is None
    assert fixed.follow_up(40_000, 10_000, 2.0) == remaining(40_000, 10_000, 2.0)


def test_a_queued_job_is_looked_at_less_often_the_longer_it_waits() -> None:
    """Still UploadComplete: each look also waits half of what the job has waited.

    2,000 rows take 44 ms here, under the 0.1 s floor: held 20 s behind other jobs, a
    look every floor would be 200 looks. Growing, they are about a dozen, the last at
    most half as late again as the hold. A started job keeps its rows' time.
    """
    schedule = PollSchedule(POLICY)
    for _ in range(10):
        run_job(schedule, Org(queue=0.0), 2_000)
    assert schedule.follow_up(2_000, 0, 10.0, queued=True) == pytest.approx(5.0)
    assert schedule.follow_up(2_000, 0, 10.0) == pytest.approx(0.1)
    at, looks = first_look(schedule, 2_000), 1
    while at < 20.0:
        delay = schedule.follow_up(2_000, 0, at, queued=True)
        assert delay is not None
        at, looks = at + delay, looks + 1
    assert looks <= 15
    assert at <= 20.0 * 1.5


def test_a_job_seen_a_few_rows_short_is_looked_at_again_after_lag_too() -> None:
    """50,000 of 51,398 done: the rest's pace says 0.1 s, but the count moves a batch at a time.

    The last batch must end, and the job after it: the follow-up adds the learned lag,
    where the floor alone looked two or three times.
    """
    schedule = PollSchedule(POLICY)
    for _ in range(10):
        run_job(schedule, Org(queue=0.5), 50_000)
    lag = schedule.estimate(0)
    assert lag is not None
    assert lag >= 0.25
    pace = remaining(51_398, 50_000, 3.25)
    assert pace is not None
    assert schedule.follow_up(51_398, 50_000, 3.25) == pytest.approx(pace + lag)
