"""The one loop that wires the stages; it alone handles retries, backpressure, rebalances.

Lifecycle (as Kafka Connect's SinkTask documents its own):

1. `run` subscribes. Whenever partitions are assigned (at start, or after another member
   died), no job starts until the ingest jobs running on the routed objects at that moment
   have ended: a job left by a previous owner can never land after a newer one.
2. Each turn: settle finished jobs, poll Kafka, decode and map each record, buffer its
   row, pause or resume partitions around the memory bound, start the batches that are
   due (up to the in-flight limit, on a thread pool), and commit the offsets that are
   final. Dead letters are acknowledged by Kafka before their offsets count as final.
3. A retriable row error goes back to the Batcher with its attempt count and a backoff;
   past the attempt limit it is dead-lettered. A job that fails as a whole for a
   transient reason (an outage, a busy org) goes back without spending attempts, and
   new jobs wait out the backoff: outages delay, they never dead-letter.
4. On revocation, everything buffered is flushed and in-flight work is awaited until
   one deadline, final offsets of the revoked partitions are committed, and the rest is
   released to the next owner. On stop, the same happens for every partition.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Protocol

from connector.batch import Backlog, Batch, Batcher
from connector.budget import Budget
from connector.deadletter import Failure, Stage
from connector.errors import (
    CommitRefusedError,
    DeadLetterUnavailableError,
    DecodeError,
    MappingError,
    RecordError,
    RetriableError,
    SalesforceBusyError,
)
from connector.flush import BatchOutcome, RowFailure
from connector.mapping import Mapper
from connector.metrics import Metrics
from connector.offsets import OffsetTracker
from connector.records import ChangeEvent, Kept, SourceRecord
from connector.spool import RecordSpool

log = logging.getLogger(__name__)
TP = tuple[str, int]


class Source(Protocol):
    """What the loop needs of the Kafka consumer (connector.source.Source)."""

    def subscribe(
        self, on_assign: Callable[[list[TP]], None], on_revoke: Callable[[list[TP]], None]
    ) -> None: ...
    def poll(self, timeout: float, max_records: int) -> list[SourceRecord]: ...
    def pause(self, partitions: Iterable[TP]) -> None: ...
    def resume(self, partitions: Iterable[TP]) -> None: ...
    def commit(self, offsets: dict[TP, int]) -> None: ...
    def assignment(self) -> list[TP]: ...
    def lag(self) -> dict[TP, int]: ...
    def close(self) -> None: ...


class Decoder(Protocol):
    """Bytes to a ChangeEvent, or a RecordError saying why not."""

    def decode(self, record: SourceRecord) -> ChangeEvent: ...


class Runner(Protocol):
    """Runs one batch as Bulk jobs (connector.flush.JobRunner)."""

    def await_leftover_jobs(self, deadline: float) -> None: ...
    def run(self, batch: Batch) -> BatchOutcome: ...


class DeadLetterSink(Protocol):
    """Sends failures and returns once Kafka has them (connector.deadletter.DeadLetter)."""

    def send(self, failures: Sequence[Failure], timeout: float = 30.0) -> None: ...


@dataclass(frozen=True, slots=True)
class LoopSettings:
    """The loop's own bounds."""

    max_buffered_bytes: int
    max_spool_bytes: int
    max_in_flight: int
    retry_attempts: int
    retry_backoff: float
    drain_timeout: float = 60.0
    poll_records: int = 5_000
    max_backoff: float = 300.0
    stall_after: float = 60.0
    lag_interval: float = 0.25


class Pipeline:
    """Source → decode → map → batch → flush → dead letters → offsets, in one thread."""

    def __init__(  # noqa: PLR0913 - the stages are the pipeline's parts, each injected
        self,
        *,
        source: Source,
        decoder: Decoder,
        mapper: Mapper,
        batcher: Batcher,
        runner: Runner,
        dead_letter: DeadLetterSink,
        spool: RecordSpool,
        metrics: Metrics,
        budget: Budget,
        settings: LoopSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._decoder = decoder
        self._mapper = mapper
        self._batcher = batcher
        self._runner = runner
        self._dead_letter = dead_letter
        self._spool = spool
        self._metrics = metrics
        self._budget = budget
        self._budget_hold: str | None = None
        self._settings = settings
        self._clock = clock
        self._tracker = OffsetTracker()
        self._pool = ThreadPoolExecutor(settings.max_in_flight, thread_name_prefix="bulk-job")
        self._in_flight: dict[Future[BatchOutcome], Batch] = {}
        self._undelivered: list[Failure] = []
        self._paused: set[TP] = set()
        self._hold_until = 0.0
        self._outage_backoff = 0.0
        self._assigned: set[TP] = set()
        self._last_poll: float | None = None
        self._salesforce_ok = False
        self._failed = False
        self._record_size = 0.0
        self._held: list[SourceRecord] = []
        self._decoder_ok = True
        self._gate: Future[None] | None = None
        self._lag_due = 0.0
        self._lag = 0
        self._catching_up = False
        # A backlog's last flush: None when none is due; else the jobs it still waits for
        # (running when the backlog was read, and holding back rows of their keys, which
        # cannot go before them and would each make a small job of their own); empty, it
        # goes.
        self._tail: set[Future[BatchOutcome]] | None = None
        metrics.records_pending.set_function(self._tracker.unfinished_count)
        metrics.spool_bytes.set_function(spool.disk_bytes)
        metrics.spool_bytes_limit.set(settings.max_spool_bytes)

    def run(self, stopping: Callable[[], bool]) -> None:
        """Consume and write until `stopping()` says so, then drain and commit."""
        self._source.subscribe(self._on_assign, self._on_revoke)
        try:
            while not stopping():
                self.step()
            self._drain(self._clock() + self._settings.drain_timeout)
            self._commit()
        except BaseException:
            self._failed = True  # leaving the group must not start new work or commit
            raise
        finally:
            self._source.close()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._spool.close()

    def _check_leftovers(self, delay: float = 0.0) -> None:
        """Close the gate until jobs a previous owner left running have ended.

        The check runs on a daemon thread (it may wait minutes, and must not hold up an
        exit); the loop keeps consuming meanwhile, within the memory bound.
        """
        gate: Future[None] = Future()

        def check() -> None:
            time.sleep(delay)
            try:
                self._runner.await_leftover_jobs(self._clock() + self._settings.drain_timeout)
            except BaseException as exc:  # noqa: BLE001 - handed to the loop's thread
                gate.set_exception(exc)
            else:
                gate.set_result(None)

        threading.Thread(target=check, name="leftover-jobs", daemon=True).start()
        self._gate = gate

    def _gate_open(self) -> bool:
        """Whether jobs may start: the latest leftover check has passed."""
        gate = self._gate
        if gate is None:
            return True
        if not gate.done():
            return False
        try:
            gate.result()
        except RetriableError as exc:
            self._salesforce_ok = False
            self._lengthen_outage_backoff()
            log.warning(
                "cannot list running jobs (%s); retrying in %.0fs", exc, self._outage_backoff
            )
            self._metrics.retries.labels("outage").inc()
            self._check_leftovers(self._outage_backoff)
            return False
        self._gate = None
        self._salesforce_ok = True
        self._outage_backoff = 0.0
        return True

    def _lengthen_outage_backoff(self) -> None:
        """Salesforce failed again: wait twice as long as last time, within the bounds."""
        self._outage_backoff = min(
            max(self._outage_backoff * 2, self._settings.retry_backoff),
            self._settings.max_backoff,
        )

    def step(self) -> None:
        """One turn of the loop."""
        self._settle_finished()
        self._send_dead_letters([])
        if self._held:
            self._process(self._held)
        timeout = 0.1 if self._in_flight else self._poll_timeout()
        asked = self._poll_size()
        records = self._source.poll(timeout, asked)
        self._last_poll = self._clock()
        self._metrics.last_poll.set_to_current_time()
        self._ingest(records)
        self._watch_backlog(read_all=len(records) < asked and not self._paused)
        self._apply_backpressure()
        self._launch(drain=False)
        self._commit()
        self._update_gauges()

    def liveness(self) -> str | None:
        """None while the loop turns; else why /healthz should fail."""
        if self._last_poll is None:
            return "the loop has not polled Kafka yet"
        idle = self._clock() - self._last_poll
        if idle > self._settings.stall_after:
            return f"the loop has not polled Kafka for {idle:.0f}s"
        return None

    def readiness(self) -> str | None:
        """None when connected to both sides and owning partitions; else why not."""
        if not self._salesforce_ok:
            return "Salesforce is not reachable (or not yet checked)"
        if not self._decoder_ok:
            return "the schema registry is not reachable"
        if not self._assigned:
            return "no Kafka partitions assigned"
        return None

    def _poll_size(self) -> int:
        """As many records as fit under both bounds, by their average size so far.

        Backpressure acts between polls; sizing each poll keeps one poll from
        overshooting a bound by thousands of records.
        """
        if not self._record_size:
            return min(100, self._settings.poll_records)  # a first look, to learn the size
        room = min(
            self._settings.max_buffered_bytes - self._batcher.buffered_bytes,
            self._settings.max_spool_bytes - self._spool.disk_bytes(),
        )
        fitting = room // self._record_size
        return int(min(max(fitting, 1), self._settings.poll_records))

    def _poll_timeout(self) -> float:
        """Until the next lane is due and may go; a second at most.

        A lane that is due but held back (a backlog's longer age, a backoff, the leftover
        check, the governor) must not make the poll return at once: the loop would spin.
        """
        gate_shut = self._gate is not None and not self._gate.done()
        deadline = self._batcher.next_deadline(self._backlog())
        if deadline is None or gate_shut or self._budget_hold is not None:
            return 1.0
        return min(max(max(deadline, self._hold_until) - self._clock(), 0.0), 1.0)

    def _ingest(self, records: list[SourceRecord]) -> None:
        if not records:
            return
        with self._metrics.accounting:
            self._tracker.track(records)
            # Counted per topic, not per record: a labelled inc costs more than a field's decoding.
            for topic, count in Counter(record.position.topic for record in records).items():
                self._metrics.records_consumed.labels(topic).inc(count)
        if self._held:
            self._held += records  # fetched before the pause took hold: they queue behind
            return
        self._process(records)

    def _process(self, records: list[SourceRecord]) -> None:
        """Decode, map and buffer; a decoder that cannot reach its registry holds the rest.

        Held records are tried again before anything new is polled, in order, and the
        partitions stay paused meanwhile: nothing is skipped, nothing overtakes them.
        """
        held_before = self._batcher.buffered_bytes
        now = self._clock()
        failures: list[Failure] = []
        ignored: list[SourceRecord] = []
        superseded: list[Kept] = []
        for index, record in enumerate(records):
            try:
                event = self._decoder.decode(record)
                row = self._mapper.to_row(event, self._spool.keep(record))
            except RecordError as exc:
                failures.append(_record_failure(record, exc))
                continue
            except RetriableError as exc:
                log.warning("cannot decode yet (%s); holding %d records", exc, len(records) - index)
                self._metrics.retries.labels("decode").inc()
                self._held = records[index:]
                self._decoder_ok = False
                break
            if row is None:
                ignored.append(record)
            else:
                superseded += self._batcher.add(row, now)
        else:
            self._held = []
            self._decoder_ok = True
        self._learn_record_size(records, self._batcher.buffered_bytes - held_before)
        with self._metrics.accounting:
            for record in ignored:
                sobject = self._mapper.sobject_for(record.position.topic)
                self._metrics.records_applied.labels(sobject, "ignore").inc()
            self._tracker.mark_final(record.position for record in ignored)
        self._supersede(superseded)
        self._send_dead_letters(failures)

    def _supersede(self, records: Sequence[Kept]) -> None:
        """Records a later one of their key replaces whole are final: count and mark them."""
        if not records:
            return
        with self._metrics.accounting:
            counts = Counter(record.topic for record in records)
            for topic, count in counts.items():
                sobject = self._mapper.sobject_for(topic)
                self._metrics.records_superseded.labels(sobject).inc(count)
            self._tracker.mark_final(records)

    def _learn_record_size(self, records: list[SourceRecord], added: int) -> None:
        """Bytes a buffered record costs, averaged: its row or its spooled bytes, the more.

        One size for both bounds (memory and the spool's disk), so a poll fits under both.
        """
        raw = sum(len(r.value or b"") + len(r.key or b"") for r in records)
        size = max(raw, added) / len(records)
        self._record_size = 0.8 * self._record_size + 0.2 * size if self._record_size else size

    def _apply_backpressure(self) -> None:
        """Pause above the memory bound or the spool's disk bound; resume below 3/4 of both.

        The spool holds every record not yet committed, so one row retried for minutes
        holds its partition's later records there: the disk bound keeps that finite.
        """
        held, limit = self._batcher.buffered_bytes, self._settings.max_buffered_bytes
        spooled, disk = self._spool.disk_bytes(), self._settings.max_spool_bytes
        if held >= limit or spooled >= disk or self._held:
            to_pause = set(self._source.assignment()) - self._paused
            if to_pause:
                self._source.pause(to_pause)
                self._paused |= to_pause
                log.info(
                    "paused %d partitions: %d bytes buffered, %d spooled",
                    len(to_pause),
                    held,
                    spooled,
                )
        # Resumed at three quarters, not half: at half the loop sat idle while two jobs
        # ran (a 1M drain spent 58 s of 135 paused; 38 s of 115 at three quarters).
        elif (
            self._paused
            and held < limit - limit // 4
            and spooled < disk - disk // 4
            and not self._held
        ):
            self._source.resume(self._paused)
            log.info("resumed %d partitions: %d bytes buffered", len(self._paused), held)
            self._paused.clear()

    def _watch_backlog(self, *, read_all: bool) -> None:
        """Consumer lag, asked 4 times a second: its gauges, and whether a backlog waits.

        A backlog is more than a poll's worth. While catching up, batches may wait up to
        backlog max age to fill: the records are late already, and fewer, fuller jobs spend
        fewer API calls. It ends when little is left and a poll has emptied what librdkafka
        fetched (`read_all`). Then what is buffered goes rather than waiting out max age:
        lanes worth half a job at once, the rest at once too unless running jobs hold back
        rows of their keys, and then when those jobs are done, taking those rows along.
        """
        now = self._clock()
        if now >= self._lag_due:  # asking librdkafka per poll would cost more than it tells
            self._lag_due = now + self._settings.lag_interval
            lags = self._source.lag()
            for (topic, partition), lag in lags.items():
                self._metrics.consumer_lag.labels(topic, str(partition)).set(lag)
            self._lag = sum(lags.values())
            if self._lag >= self._settings.poll_records:
                self._catching_up = True
        if self._catching_up and read_all and self._lag < self._settings.poll_records:
            self._catching_up = False
            # Waiting only pays when running jobs hold back some of the rows.
            self._tail = set(self._in_flight) if self._batcher.held_back() else set()
            log.info("backlog read; its last rows wait for the %d jobs running", len(self._tail))
        self._metrics.catching_up.set(1 if self._catching_up else 0)

    def _backlog(self) -> Backlog:
        if self._catching_up:
            return Backlog.READING
        if self._tail:
            return Backlog.TAIL
        return Backlog.NONE

    def _launch(self, *, drain: bool) -> None:
        now = self._clock()
        room = self._settings.max_in_flight - len(self._in_flight)
        if room <= 0 or now < self._hold_until or not self._gate_open() or self._over_budget():
            return
        backlog = self._backlog()
        tail_goes = self._tail is not None and backlog is Backlog.NONE
        # Paused at the memory bound, nothing new arrives to fill a lane: lanes worth a job
        # go now rather than at max age, or a backlog drains one max age per bound.
        batches = self._batcher.due(
            now, limit=room, drain=drain or tail_goes, backlog=backlog, pressed=bool(self._paused)
        )
        if tail_goes and len(batches) < room:  # every lane went; else the rest go next turn
            self._tail = None
        for batch in batches:
            self._metrics.batch_records.observe(len(batch.rows))
            self._metrics.batch_bytes.observe(batch.byte_size)
            self._in_flight[self._pool.submit(self._runner.run, batch)] = batch

    def _over_budget(self) -> bool:
        """Whether the quota governor holds new jobs; says so once when it starts and ends."""
        reason = self._budget.hold_reason()
        if reason != self._budget_hold:
            if reason is None:
                log.info("daily budgets have room again: jobs resume")
            else:
                log.warning("holding new jobs: %s", reason)
            self._metrics.budget_held.set(0 if reason is None else 1)
            self._budget_hold = reason
        return reason is not None

    def _settle_finished(self) -> None:
        for future in [f for f in self._in_flight if f.done()]:
            self._settle(future, self._in_flight.pop(future))
            if self._tail:
                self._tail.discard(future)

    def _settle(self, future: Future[BatchOutcome], batch: Batch) -> None:
        now = self._clock()
        try:
            outcome = future.result()
        except SalesforceBusyError as exc:
            self._back_off(batch, now + exc.retry_after, "busy")
            return
        except RetriableError as exc:
            self._salesforce_ok = False
            self._lengthen_outage_backoff()
            log.warning(
                "job for %s failed (%s); retrying in %.0fs", batch.lane, exc, self._outage_backoff
            )
            self._back_off(batch, now + self._outage_backoff, "outage")
            return
        self._outage_backoff = 0.0
        self._salesforce_ok = True
        self._apply_outcome(outcome, now)
        self._batcher.done(batch)

    def _back_off(self, batch: Batch, until: float, reason: str) -> None:
        """Give a whole batch back without spending its rows' attempts."""
        self._metrics.retries.labels(reason).inc(len(batch.rows))
        self._hold_until = max(self._hold_until, until)
        self._supersede(self._batcher.requeue(batch.rows, not_before=until))
        self._batcher.done(batch)

    def _apply_outcome(self, outcome: BatchOutcome, now: float) -> None:
        lane = outcome.batch.lane
        log.info(
            "%s %s job %s: %d applied, %d to retry, %d rejected",
            lane.action.value,
            lane.sobject,
            ",".join(outcome.job_ids) or "(none needed)",
            len(outcome.applied),
            len(outcome.retry),
            len(outcome.dead),
        )
        rows = outcome.batch.rows
        with self._metrics.accounting:
            if outcome.applied:  # every row of a batch is of its lane
                sources = rows.record_count_of(outcome.applied)
                applied = len(outcome.applied)
                self._metrics.records_applied.labels(lane.sobject, lane.action.value).inc(applied)
                self._metrics.records_superseded.labels(lane.sobject).inc(sources - applied)
            self._tracker.mark_final(rows.kept(outcome.applied))
        retry: list[RowFailure] = []
        exhausted: list[RowFailure] = []
        for failure in outcome.retry:
            (retry if failure.row.attempt < self._settings.retry_attempts else exhausted).append(
                failure
            )
        for failure in retry:
            self._metrics.retries.labels(failure.code).inc()
            delay = self._settings.retry_backoff * 2**failure.row.attempt
            row = replace(failure.row, attempt=failure.row.attempt + 1)
            not_before = now + min(delay, self._settings.max_backoff)
            self._supersede(self._batcher.requeue([row], not_before=not_before))
        dead = [*outcome.dead, *(replace(f, reason="retries_exhausted") for f in exhausted)]
        self._send_dead_letters([f for failure in dead for f in self._row_failures(failure)])

    def _send_dead_letters(self, failures: list[Failure]) -> None:
        """Send these and any earlier ones Kafka did not take; only acked ones are final."""
        pending = self._undelivered + failures
        if not pending:
            return
        try:
            self._dead_letter.send(pending)
        except DeadLetterUnavailableError as exc:
            log.warning("%s; will try again", exc)
            self._undelivered = pending
            return
        self._undelivered = []
        with self._metrics.accounting:
            for failure in pending:
                self._metrics.records_dead_lettered.labels(failure.reason).inc()
            self._tracker.mark_final(f.record.position for f in pending)

    def _commit(self) -> None:
        offsets = self._tracker.committable()
        if not offsets:
            return
        try:
            self._source.commit(offsets)
        except CommitRefusedError as exc:
            # The offsets stay committable: the next turn's poll rejoins and commits them
            # (or a revocation hands their partitions, and what was not committed, on).
            log.warning("%s; committing again after the rebalance", exc)
            self._metrics.retries.labels("commit").inc()
            return
        self._spool.committed(offsets)
        now_ms = time.time() * 1000
        for timestamp in self._tracker.committed(offsets):
            if timestamp is not None:
                self._metrics.freshness.observe(max(now_ms - timestamp, 0) / 1000)

    def _drain(self, deadline: float) -> None:
        """Flush everything buffered and wait for every job, until the deadline."""
        while self._clock() < deadline:
            self._settle_finished()
            self._send_dead_letters([])
            self._launch(drain=True)
            if not self._in_flight and not self._batcher.buffered_rows:
                return
            if not self._in_flight and self._budget_hold is not None:
                log.warning(
                    "leaving %d rows unwritten (%s); they are replayed later",
                    self._batcher.buffered_rows,
                    self._budget_hold,
                )
                return
            if self._in_flight:
                wait(self._in_flight, timeout=0.1, return_when=FIRST_COMPLETED)
            else:
                time.sleep(min(0.1, max(self._hold_until - self._clock(), 0.01)))
        log.warning("drain deadline passed with %d jobs in flight", len(self._in_flight))

    def _on_assign(self, partitions: list[TP]) -> None:
        log.info("assigned %s", partitions)
        if partitions:
            self._check_leftovers()
        self._assigned |= set(partitions)
        if self._paused:
            self._source.pause(partitions)
            self._paused |= set(partitions)

    def _on_revoke(self, partitions: list[TP]) -> None:
        revoked = set(partitions)
        if not self._failed:
            log.info("revoked %s: finishing their work", partitions)
            self._drain(self._clock() + self._settings.drain_timeout)
            offsets = {tp: o for tp, o in self._tracker.committable().items() if tp in revoked}
            try:
                self._source.commit(offsets)
            except CommitRefusedError as exc:
                log.warning("%s; the next owner replays from the last commit", exc)
                self._metrics.retries.labels("commit").inc()
            else:
                self._tracker.committed(offsets)
                self._spool.committed(offsets)
        with self._metrics.accounting:
            self._metrics.records_released.inc(self._tracker.forget(revoked))
        for topic, partition in revoked:
            self._metrics.consumer_lag.remove(topic, str(partition))
        self._batcher.forget(revoked)
        self._spool.forget(revoked)
        self._held = [r for r in self._held if r.position.topic_partition not in revoked]
        self._paused -= revoked
        self._assigned -= revoked

    def _update_gauges(self) -> None:
        self._metrics.buffered_records.set(self._batcher.buffered_rows)
        self._metrics.buffered_bytes.set(self._batcher.buffered_bytes)
        self._metrics.jobs_in_flight.set(len(self._in_flight))
        self._metrics.paused_partitions.set(len(self._paused))

    def _row_failures(self, failure: RowFailure) -> list[Failure]:
        return [
            Failure(
                record=self._spool.read(kept),
                stage=Stage.TASK_PUT,
                executing_class="connector.flush.JobRunner",
                reason=failure.reason,
                error_class="connector.errors.RowRejectedError",
                message=f"{failure.code}: {failure.message}",
                attempts=failure.row.attempt + 1,
                salesforce=failure.salesforce(),
            )
            for kept in failure.row.sources
        ]


def _record_failure(record: SourceRecord, exc: RecordError) -> Failure:
    if isinstance(exc, DecodeError):
        stage, where, reason = Stage(exc.stage), "connector.decode", exc.reason
    elif isinstance(exc, MappingError):
        stage, where, reason = Stage.TRANSFORMATION, "connector.mapping.Mapper", exc.reason
    else:
        stage, where, reason = Stage.VALUE_CONVERTER, type(exc).__module__, "undecodable"
    return Failure(
        record=record,
        stage=stage,
        executing_class=where,
        reason=reason,
        error_class=f"{type(exc).__module__}.{type(exc).__qualname__}",
        message=str(exc),
    )
