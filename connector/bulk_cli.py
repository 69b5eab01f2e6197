"""`sfsink bulk`: load, delete and export data through the Bulk API 2.0, for operators.

The connection comes from the environment (see BulkClient.from_env). Every load ends
with a summary (ok, failed, unprocessed) and writes refused rows, with their errors, next
to the input (or where --failed-out says). Exit status: 0 all rows written, 1 some rows
refused or unprocessed, 2 the command could not run.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from connector.errors import JobFailedError, SfsinkError
from connector.salesforce import BulkClient, BulkJob, BulkResult

_LOADS = {
    "insert": "insert",
    "update": "update",
    "upsert": "upsert",
    "delete": "delete",
    "hard-delete": "hard_delete",
}
_BAR = 30


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `bulk` and its subcommands on the top-level command parser."""
    bulk = commands.add_parser("bulk", help="load, delete or export data with the Bulk API 2.0")
    actions = bulk.add_subparsers(dest="bulk_command", required=True, metavar="ACTION")
    for name in _LOADS:
        load = actions.add_parser(name, help=f"{name} the rows of a CSV file")
        load.add_argument("sobject", help="the object's API name, e.g. Account")
        load.add_argument("file", type=Path, help="a UTF-8 CSV file with a header row")
        if name == "upsert":
            load.add_argument("--external-id", required=True, help="the external id field")
        load.add_argument("--timeout", type=float, help="stop waiting after this many seconds")
        load.add_argument("--failed-out", type=Path, help="where to write refused rows")
    query = actions.add_parser("query", help="export the rows of a SOQL query to CSV")
    query.add_argument("soql")
    query.add_argument("-o", "--output", type=Path, required=True, help="the CSV file to write")
    query.add_argument("--all", action="store_true", help="include deleted records (queryAll)")
    query.add_argument("--timeout", type=float)
    jobs = actions.add_parser("jobs", help="list the org's Bulk jobs")
    jobs.add_argument("--kind", choices=["ingest", "query"], default="ingest")
    job = actions.add_parser("job", help="show, abort or fetch the results of one job")
    job.add_argument("job_id")
    job.add_argument("--abort", action="store_true", help="abort the job")
    job.add_argument("--results", type=Path, metavar="DIR", help="write its result files here")


def run(args: argparse.Namespace, client_factory: Callable[[], BulkClient] | None = None) -> int:
    """Run one `sfsink bulk` command; errors become a message and exit status 2."""
    try:
        with (client_factory or BulkClient.from_env)() as client:
            if args.bulk_command in _LOADS:
                return _load(client, args)
            if args.bulk_command == "query":
                return _query(client, args)
            if args.bulk_command == "jobs":
                return _jobs(client, args.kind)
            return _job(client, args)
    except JobFailedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc.result, BulkResult):
            _report(exc.result, _failed_path(args))
        return 2
    except (SfsinkError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


class Progress:
    """Job progress on stderr: a redrawn bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, job: BulkJob) -> None:
        """Show one change of a job."""
        done = job.number_records_processed
        text = f"job {job.id} {job.state.value}: {done}/{self.total} processed, "
        text += f"{job.number_records_failed} failed"
        if not self.tty:
            print(text, file=self.stream, flush=True)
            return
        filled = _BAR * min(done, self.total) // self.total if self.total else 0
        bar = "#" * filled + "-" * (_BAR - filled)
        end = "\n" if job.is_complete() else ""
        print(f"\r[{bar}] {text}", end=end, file=self.stream, flush=True)


def _count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as source:
        return max(sum(1 for _ in csv.reader(source)) - 1, 0)


def _failed_path(args: argparse.Namespace) -> Path:
    given: Path | None = getattr(args, "failed_out", None)
    source: Path | None = getattr(args, "file", None)
    if given is not None:
        return given
    if source is not None:
        return source.with_name(source.stem + ".failed.csv")
    return Path(f"{args.job_id}.failed.csv")


def _load(client: BulkClient, args: argparse.Namespace) -> int:
    method = getattr(client, _LOADS[args.bulk_command])
    extra = [args.external_id] if args.bulk_command == "upsert" else []
    progress = Progress(_count_rows(args.file), sys.stderr)
    result: BulkResult = method(
        args.sobject, args.file, *extra, timeout=args.timeout, on_progress=progress
    )
    return _report(result, _failed_path(args))


def _report(result: BulkResult, failed_path: Path) -> int:
    print(
        f"ok {result.success_count}, failed {result.failed_count}, "
        f"unprocessed {result.unprocessed_count} (jobs: {', '.join(j.id for j in result.jobs)})"
    )
    if result.failed_records or result.unprocessed_records:
        rows = _problem_rows(result)
        _write_rows(failed_path, rows)
        print(f"refused and unprocessed rows, with their errors: {failed_path}")
    return 0 if result.failed_count == 0 and result.unprocessed_count == 0 else 1


def _problem_rows(result: BulkResult) -> list[dict[str, str]]:
    rows = [
        {"sf__Id": r.sf_id, "sf__Error": str(r.error), "sf__StatusCode": r.error.status_code}
        | dict(r.fields)
        for r in result.failed_records
    ]
    rows += [
        {"sf__Id": "", "sf__Error": "unprocessed", "sf__StatusCode": "UNPROCESSED"} | dict(r)
        for r in result.unprocessed_records
    ]
    return rows


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    with path.open("w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _query(client: BulkClient, args: argparse.Namespace) -> int:
    run_query = client.query_all if args.all else client.query
    progress = Progress(0, sys.stderr)
    result = run_query(args.soql, timeout=args.timeout, on_progress=progress)
    rows = result.to_csv(args.output)
    print(f"{rows} rows written to {args.output} (job {result.job.id})")
    return 0


def _jobs(client: BulkClient, kind: str) -> int:
    print("id\toperation\tobject\tstate\tprocessed\tfailed\tcreated")
    for job in client.jobs(kind):
        created = job.created_date.isoformat() if job.created_date else ""
        print(
            f"{job.id}\t{job.operation.value}\t{job.object}\t{job.state.value}\t"
            f"{job.number_records_processed}\t{job.number_records_failed}\t{created}"
        )
    return 0


def _job(client: BulkClient, args: argparse.Namespace) -> int:
    handle = client.job(args.job_id)
    job = handle.abort() if args.abort else handle.info()
    _show(job)
    if args.results is not None:
        if job.is_query:
            print("error: --results is for ingest jobs; use `bulk query`", file=sys.stderr)
            return 2
        _write_results(handle.results(), args.results)
        print(f"results written to {args.results}")
    return 0


def _show(job: BulkJob) -> None:
    print(f"id: {job.id}")
    print(f"operation: {job.operation.value}")
    print(f"object: {job.object}")
    print(f"state: {job.state.value}")
    print(f"processed: {job.number_records_processed}")
    print(f"failed: {job.number_records_failed}")
    if job.error_message:
        print(f"error: {job.error_message}")


def _write_results(result: BulkResult, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    success = [
        {"sf__Id": r.sf_id, "sf__Created": "true" if r.created else "false"} | dict(r.fields)
        for r in result.success_records
    ]
    _write_rows(directory / "success.csv", success)
    _write_rows(directory / "failed.csv", _problem_rows(result)[: len(result.failed_records)])
    _write_rows(directory / "unprocessed.csv", [dict(r) for r in result.unprocessed_records])
