"""The benchmark's table and its targets, as Markdown (it reads as well in a terminal)."""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from contestants import Freshness, Result

MB = 1_000_000
PER = 1_000_000  # figures are per million records


@dataclass(frozen=True)
class Figures:
    """Everything one `make bench` run measured."""

    floor: Result
    sfsink: Result
    alternative: Result
    freshness: Freshness
    max_age: float
    pace: str
    backlog: Result
    backlog_bound: int
    backlog_bytes: int
    emulator_rate: float
    emulator_rss: int | None
    emulator_rows: int
    cores: int


def _row(result: Result) -> str:
    spend = result.spend
    calls = f"{spend.calls * PER / result.records:,.0f}" if spend else "-"
    jobs = f"{len(spend.jobs):,}" if spend else "-"
    batches = f"{spend.bulk_batches:,}" if spend else "-"
    stack = result.stack_cpu_seconds
    stack_cpu = "-" if stack is None else f"{stack * PER / result.records:,.1f}"
    return (
        f"| {result.name} | {result.records:,} | {result.seconds:,.1f} | {result.rate:,.0f} "
        f"| {result.usage.cpu_seconds * PER / result.records:,.1f} | {stack_cpu} "
        f"| {result.usage.peak_rss / MB:,.0f} | {calls} | {jobs} | {batches} |"
    )


def ceiling(f: Figures) -> str | None:
    """What the cores allow sfsink's drain: its CPU and its stack's, spread perfectly.

    The stack's processes run on the same cores, so their CPU during the run bounds it
    as much as sfsink's own; None when the benchmark started none of them.
    """
    s = f.sfsink
    if s.stack_cpu_seconds is None:
        return None
    work = s.usage.cpu_seconds + s.stack_cpu_seconds
    fastest = s.records / (work / f.cores)
    return (
        f"The cores' share: sfsink's drain cost {s.usage.cpu_seconds * PER / s.records:,.1f} "
        f"CPU s per 1M of its own and {s.stack_cpu_seconds * PER / s.records:,.1f} of its "
        f"stack's; spread perfectly over this machine's {f.cores} cores, that work allows at "
        f"most {fastest:,.0f} records/s: {fastest / f.floor.rate:.2f} of the floor and "
        f"{fastest / f.alternative.rate:.2f} times the alternative."
    )


def _verdict(ok: bool) -> str:  # noqa: FBT001 - a yes/no printed as words
    return "met" if ok else "**not met**"


def targets(f: Figures) -> list[str]:
    """One line per target of issue 7: the figure, the target, met or not."""
    s, spend = f.sfsink, f.sfsink.spend
    if spend is None:
        raise ValueError("sfsink's run has no Salesforce figures")
    to_floor, to_alt = s.rate / f.floor.rate, s.rate / f.alternative.rate
    calls = spend.calls * PER / s.records
    allowed_batches = math.ceil(s.records / 10_000) + len(spend.jobs)
    fresh_limit = f.max_age + f.freshness.max_job_seconds + 1
    rss = max(s.usage.peak_rss, f.backlog.usage.peak_rss)
    return [
        "| target | figure | verdict |",
        "| --- | --- | --- |",
        f"| sfsink ÷ floor ≥ 0.5 (throughput) | {to_floor:.2f} | {_verdict(to_floor >= 0.5)} |",  # noqa: PLR2004
        f"| sfsink ÷ alternative ≥ 3 (throughput) | {to_alt:.2f} | {_verdict(to_alt >= 3)} |",  # noqa: PLR2004
        f"| API calls per 1M records ≤ 100 | {calls:,.0f} | {_verdict(calls <= 100)} |",  # noqa: PLR2004
        (
            f"| Bulk batches ≤ ⌈records ÷ 10,000⌉ + jobs = {allowed_batches:,} "
            f"| {spend.bulk_batches:,} | {_verdict(spend.bulk_batches <= allowed_batches)} |"
        ),
        (
            f"| peak RSS ≤ 200 MB (drain and 10x backlog) | {rss / MB:,.0f} MB "
            f"| {_verdict(rss <= 200 * MB)} |"
        ),
        (
            f"| freshness p99 ≤ max age + longest job + 1 s = {fresh_limit:.1f} s "
            f"| {f.freshness.p99:.1f} s | {_verdict(f.freshness.p99 <= fresh_limit)} |"
        ),
    ]


def render(f: Figures) -> str:
    """The whole report."""
    s = f.sfsink
    lines = [
        (
            "| contestant | records | wall s | records/s | CPU s per 1M | stack CPU s per 1M "
            "| peak RSS MB | API calls per 1M | Bulk jobs | Bulk batches |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        _row(f.floor),
        _row(s),
        _row(f.alternative),
        _row(f.backlog),
        "",
        (
            f"sfsink ÷ floor: {s.rate / f.floor.rate:.2f} (throughput), "
            f"sfsink ÷ alternative: {s.rate / f.alternative.rate:.2f} (throughput); "
            f"CPU per record, alternative ÷ sfsink: "
            f"{f.alternative.usage.cpu_seconds / s.usage.cpu_seconds:.2f}."
        ),
        "",
        (
            "Stack CPU: what the broker, registry and emulator processes that this run "
            "started spent during each contestant's run (those given on the command line "
            "are not counted)."
        ),
        "",
        *([share, ""] if (share := ceiling(f)) else []),
        (
            f"Freshness, {f.pace}, max age {f.max_age:g} s: event to commit p50 "
            f"{f.freshness.p50:.2f} s, p99 {f.freshness.p99:.2f} s over "
            f"{f.freshness.records:,} records (longest Bulk job, created to complete: "
            f"{f.freshness.max_job_seconds:.2f} s)."
        ),
        "",
        (
            f"Backlog: {f.backlog.name} ran with max_buffered_bytes = "
            f"{f.backlog_bound / MB:.1f} MB under a backlog of {f.backlog_bytes / MB:,.0f} MB "
            f"of records ({f.backlog_bytes / f.backlog_bound:.0f}x the bound): peak RSS "
            f"{f.backlog.usage.peak_rss / MB:,.0f} MB."
        ),
        "",
        (
            f"The emulator itself: one {f.emulator_rows:,}-row upsert job processed at "
            f"{f.emulator_rate:,.0f} rows/s (its rate limit off)"
            + (f", peak RSS {f.emulator_rss / MB:,.0f} MB" if f.emulator_rss else "")
            + ", so the org's own speed is not what bounds the figures above."
        ),
        "",
        *targets(f),
    ]
    return "\n".join(lines)


BEGIN, END = "<!-- make bench: begin -->", "<!-- make bench: end -->"


def write(path: Path, command: str, text: str) -> None:
    """Put the figures, machine and command between the markers of `path` (or make it).

    What stands outside the markers (the prose around the figures) is kept.
    """
    figures = (
        f"{BEGIN}\nMeasured {time.strftime('%Y-%m-%d')} on {machine()}, with\n"
        f"`{command}`:\n\n{text}\n{END}"
    )
    old = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{BEGIN}{END}\n"
    head, _, rest = old.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(head + figures + tail, encoding="utf-8")


def machine() -> str:
    """CPU model, cores and memory of this machine."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:  # noqa: PTH123 - a /proc file
            model = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    cores = psutil.cpu_count(logical=True)
    memory = psutil.virtual_memory().total / 2**30
    return f"{model}, {cores} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}"
