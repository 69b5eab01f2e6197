"""CSV in and out of the Bulk API: uploads read as a stream, result files written as we go.

Result files quote every value and the sf__ column names, echo the uploaded column names
as they were sent, and end lines with LF, as the Salesforce examples show. They use the
job's column delimiter (the reference's open question 1: the evidence points that way).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from emulator.jobs import DELIMITERS, Job


class LineEndingError(Exception):
    """The upload's line ending contradicts the job's lineEnding."""


def check_line_ending(job: Job) -> None:
    """Fail like Salesforce when the first line ends otherwise than the job says."""
    with job.upload_path.open("rb") as upload:
        head = upload.read(1 << 16)
    newline = head.find(b"\n")
    if newline < 0:
        return
    crlf = newline > 0 and head[newline - 1 : newline] == b"\r"
    if crlf != (job.line_ending == "CRLF"):
        raise LineEndingError(
            "ClientInputError : LineEnding is invalid on user data. "
            f"Current LineEnding setting is {job.line_ending}"
        )


def read_rows(job: Job) -> Iterator[list[str]]:
    r"""The upload's rows, header first, parsed with the job's delimiter.

    Read as UTF-8 without BOM handling: a BOM stays in the first header name and fails
    the job with `Field name not found : \\ufeffName`, as on a real org.
    """
    delimiter = DELIMITERS[job.column_delimiter]
    with job.upload_path.open(newline="", encoding="utf-8", errors="replace") as upload:
        yield from csv.reader(upload, delimiter=delimiter, strict=False)


def quote(value: str) -> str:
    """A double-quoted CSV cell."""
    return '"' + value.replace('"', '""') + '"'


class ResultFile:
    """One result file of a job, opened once and appended to chunk by chunk."""

    def __init__(self, path: Path, delimiter: str, header: Sequence[str]) -> None:
        self.delimiter = delimiter
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._file.write(delimiter.join(header) + "\n")

    def write(self, rows: Sequence[Sequence[str]]) -> None:
        """Append rows of already-quoted cells."""
        join = self.delimiter.join
        self._file.write("".join(join(r) + "\n" for r in rows))

    def close(self) -> None:
        """Flush and close."""
        self._file.close()


class IngestResults:
    """The three result files of an ingest job."""

    def __init__(self, job: Job, header: Sequence[str]) -> None:
        delimiter = DELIMITERS[job.column_delimiter]
        self.success = ResultFile(
            job.result_path("success"), delimiter, ['"sf__Id"', '"sf__Created"', *header]
        )
        self.failed = ResultFile(
            job.result_path("failed"), delimiter, ['"sf__Id"', '"sf__Error"', *header]
        )
        self.unprocessed = ResultFile(job.result_path("unprocessed"), delimiter, list(header))

    def close(self) -> None:
        """Close every file."""
        for result in (self.success, self.failed, self.unprocessed):
            result.close()


def write_empty_results(job: Job, header: Sequence[str]) -> None:
    """Header-only result files, for a job that failed or was aborted before any row."""
    IngestResults(job, header).close()
