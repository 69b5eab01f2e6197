"""When to look at a job: a poll schedule that learns how fast the org finishes jobs.

A job closed with N rows is expected done `lag + N * seconds_per_row` after its close:
- seconds per row comes from Salesforce's own clock: each complete job's
  totalProcessingTime and numberRecordsProcessed, summed with decay, so that big jobs
  (where per-job overhead is a small share) weigh most and old jobs fade;
- lag is the rest (queueing before processing starts, per-job overhead, round trips).
  A poll that finds a job done says only that it finished by then, so lag is tracked
  like a quantile: each first-poll hit lowers it a little, each follow-up raises it
  more (at least to the middle of the interval the job was last seen in), so that
  about nine jobs in ten are found done at the first look and the tenth costs one
  follow-up. Until the first follow-up, hits lower it fast, to come down from the
  fixed schedule's first second quickly.

The first look waits for the estimate (its rows part with a margin: a job of many rows
that misses costs a whole follow-up); follow-ups come at a fraction of it, growing by
PollPolicy.factor, unless the look showed how far the job got: a job that has processed
some of its rows is looked at again when the rest should be done at the pace seen since
the close (`remaining`), which is what a large job in a slow org needs to cost one
follow-up rather than several, plus lag: the count grows an internal batch (10,000 rows)
at a time and the job's own end follows its last batch, so a job seen a few rows short
was looked at again at the floor, twice or more, before it was done; one that has
processed none, after its rows' time, and one still queued (UploadComplete) also after
half what it has waited (factor less one), so that a long queue costs a growing interval
per look, not a look per rows' time.
Every wait stays between a floor and PollPolicy.maximum, and lag never exceeds the
maximum, so no outlier pushes the first look past it. Until a job has been seen done,
the policy's fixed schedule applies. Query jobs have no rows up front: for them lag is
the whole estimate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

# Lag steps: a first-poll hit lowers it by LAG_DOWN, a follow-up raises it by LAG_UP;
# at equilibrium 0.9 * ln(1 - 0.05) + 0.1 * ln(1 + 0.5) ≈ 0: nine hits per follow-up.
LAG_DOWN = 0.05
LAG_UP = 0.5
# Before the first follow-up, a hit keeps this share of lag (a fast descent).
LAG_DESCENT = 0.5
# How much of the past row-time sums survives each new job.
RATE_KEEP = 0.8
# One job's time per row counts at most this many times the current estimate.
RATE_OUTLIER = 4.0
# Extra on the rows part of the first look: a late look costs latency, an early one a call.
ROWS_MARGIN = 0.1
# Follow-ups after a first look that found the job running, as a share of the estimate.
FOLLOW_UP_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Waits between status polls.

    Args:
        initial: the first wait while nothing is learned (the fixed schedule).
        factor: each follow-up waits this much longer than the one before.
        maximum: the longest wait between two polls, learned or not.
        floor: the shortest learned wait (never below `initial` when that is shorter).
        learn: False keeps the fixed schedule: initial, times factor, up to maximum.
    """

    initial: float = 1.0
    factor: float = 1.5
    maximum: float = 30.0
    floor: float = 0.1
    learn: bool = True

    def delays(self, first: float | None = None) -> Iterator[float]:
        """The endless schedule of waits, from `first` (default `initial`)."""
        delay = self.initial if first is None else first
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


def remaining(rows: int, processed: int, elapsed: float) -> float | None:
    """Seconds until a job of `rows` that processed `processed` in `elapsed` is done.

    The pace includes the wait before processing began, so the answer leans late: a
    look after it finds the job done. None without progress to go by.
    """
    if processed <= 0 or processed >= rows or elapsed <= 0:
        return None
    return elapsed * (rows - processed) / processed * (1 + ROWS_MARGIN)


@dataclass(frozen=True, slots=True)
class Seen:
    """One job seen done: what we waited and what Salesforce says it took.

    Args:
        rows: rows uploaded (0 for a query).
        elapsed: seconds from the close (or the query's create) to the poll that saw it done.
        missed_at: seconds to the last poll that found it still running, if one did.
        processing_ms: the job's totalProcessingTime.
        processed: the job's numberRecordsProcessed.
    """

    rows: int
    elapsed: float
    missed_at: float | None
    processing_ms: int
    processed: int


class PollSchedule:
    """Learned waits for one kind of job; shared by every thread of a client."""

    def __init__(self, policy: PollPolicy) -> None:
        self.policy = policy
        self._lock = threading.Lock()
        self._lag: float | None = None
        self._missed_once = False
        self._row_seconds = 0.0  # decayed sum of processing seconds
        self._row_count = 0.0  # decayed sum of the rows they processed

    def _per_row(self) -> float:
        return self._row_seconds / self._row_count if self._row_count else 0.0

    def estimate(self, rows: int) -> float | None:
        """Seconds from close to done expected for a job of `rows`; None until learned."""
        with self._lock:
            if self._lag is None:
                return None
            return self._lag + rows * self._per_row() * (1 + ROWS_MARGIN)

    def delays(self, rows: int) -> Iterator[float]:
        """Waits from the close: first the expected finish, then follow-ups."""
        estimate = self.estimate(rows) if self.policy.learn else None
        if estimate is None:
            yield from self.policy.delays()
            return
        yield self._bounded(estimate)
        yield from self.policy.delays(self._bounded(estimate * FOLLOW_UP_SHARE))

    def follow_up(
        self, rows: int, processed: int, elapsed: float, *, queued: bool = False
    ) -> float | None:
        """The wait before looking again at a job of `rows` seen running; None: the schedule's.

        Bounded like every learned wait. With part of its rows processed, when the rest
        should be done at the pace seen (`remaining`), plus lag. With none processed, the job has
        not started, or only just: not before its rows' learned time has passed, where a
        share of the estimate would look again several times. A job still `queued`
        (UploadComplete: waiting behind others, in a busy org) also waits the policy's
        factor less one times what it has waited since its close: the looks at it then
        grow like the fixed schedule's instead of coming every rows' time for as long
        as the queue lasts.
        """
        rest = remaining(rows, processed, elapsed)
        if rest is not None and self.policy.learn:
            with self._lock:
                rest += self._lag or 0.0
        elif rest is None and processed <= 0 and self.policy.learn:
            with self._lock:
                per_row = self._per_row()
            rest = rows * per_row * (1 + ROWS_MARGIN) if rows and per_row else None
            if rest is not None and queued:
                rest = max(rest, elapsed * (self.policy.factor - 1))
        return None if rest is None else self._bounded(rest)

    def _bounded(self, delay: float) -> float:
        floor = min(self.policy.floor, self.policy.initial, self.policy.maximum)
        return min(max(delay, floor), self.policy.maximum)

    def observe(self, seen: Seen) -> None:
        """Learn from a job seen complete (only jobs whose close this client timed)."""
        with self._lock:
            self._learn_rate(seen)
            rows_part = seen.rows * self._per_row()
            if seen.missed_at is None:
                bound = max(seen.elapsed - rows_part, 0.0)
                lag = bound if self._lag is None else min(self._lag, bound)
                lag *= (1 - LAG_DOWN) if self._missed_once else LAG_DESCENT
            else:
                middle = (seen.missed_at + seen.elapsed) / 2 - rows_part
                lag = max((self._lag or 0.0) * (1 + LAG_UP), middle, 0.0)
                self._missed_once = True
            self._lag = min(lag, self.policy.maximum)

    def _learn_rate(self, seen: Seen) -> None:
        if seen.processed <= 0 or seen.processing_ms <= 0:
            return
        seconds = seen.processing_ms / 1000
        if self._row_count:
            seconds = min(seconds, seen.processed * self._per_row() * RATE_OUTLIER)
        self._row_seconds = self._row_seconds * RATE_KEEP + seconds
        self._row_count = self._row_count * RATE_KEEP + seen.processed


@dataclass(frozen=True, slots=True)
class Closed:
    """A job this client just closed (or a query it just created): when, and its rows."""

    at: float
    rows: int = 0
