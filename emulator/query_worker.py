"""Runs one Bulk query job: SOQL over the store, written once to a CSV file with a row index.

The file is written as the rows come, and pages are later served from it by byte range
(the index holds each row's offset as 8 bytes), so a million-row result is never held
in memory, neither while it is written nor while it is read.
"""

from __future__ import annotations

import base64
import time
from array import array
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from emulator import soql
from emulator.csvio import quote
from emulator.jobs import DELIMITERS, LINE_ENDINGS, Job, State
from emulator.org import Org
from emulator.values import java_double, store_datetime


def csv_cell(value: object) -> str:
    """A query result cell: quoted text, an empty unquoted cell for null.

    Null quoting is not documented (the reference's open question 7); an empty cell is
    what Data Loader and jsforce read back as null.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = store_datetime(value)
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, float):
        text = java_double(value)
    elif isinstance(value, Decimal):
        text = str(value)
    else:
        text = str(value)
    return quote(text)


def index_path(job: Job) -> Path:
    """The row-offset index of a query job's result file."""
    return job.directory / "query.idx"


def run_query(org: Org, job: Job) -> None:
    """Evaluate the job's SOQL and write its result file; set the terminal state."""
    started = time.monotonic()
    try:
        query = soql.parse(str(job.query), org.schema.field_types)
    except soql.SoqlError as exc:
        _finish(org, job, State.FAILED, f"InvalidBatch : {exc.message}", started)
        return
    obj = org.schema.objects[query.sobject]
    records = org.store.python_rows(
        obj, include_deleted=job.operation == "queryAll", narrow=query.narrow
    )
    delimiter = DELIMITERS[job.column_delimiter]
    newline = LINE_ENDINGS[job.line_ending]
    offsets = array("q")
    with job.result_path("query").open("w", encoding="utf-8", newline="") as out:
        head = _line(list(map(quote, query.fields)), delimiter, newline)
        out.write(head)
        position = len(head.encode())
        for number, record in enumerate(query.run(records), start=1):
            line = _line([csv_cell(record.get(f)) for f in query.fields], delimiter, newline)
            offsets.append(position)
            position += len(line.encode())
            out.write(line)
            if number % 10_000 == 0:
                with org.jobs.lock:
                    job.processed = number
    with index_path(job).open("wb") as index:
        offsets.tofile(index)
    with org.jobs.lock:
        job.processed = len(offsets)
    _finish(org, job, State.JOB_COMPLETE, None, started)


def _line(cells: Sequence[str], delimiter: str, newline: str) -> str:
    return delimiter.join(cells) + newline


def _finish(org: Org, job: Job, state: State, message: str | None, started: float) -> None:
    with org.jobs.lock:
        if job.state == State.ABORTED:
            return
        job.error_message = message
        job.processing_ms = int((time.monotonic() - started) * 1000)
        job.move(state)


def encode_locator(row: int) -> str:
    """An opaque locator: base64 of the next row number, as the doc examples look."""
    return base64.b64encode(str(row).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    """The row a locator points at, or None if it is not one of ours."""
    try:
        padded = locator + "=" * (-len(locator) % 4)
        return int(base64.b64decode(padded, validate=True).decode())
    except ValueError:
        return None
