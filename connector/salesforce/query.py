"""Query results: Bulk ones streamed page by page, REST pages, REST queries in one call.

Nothing holds more than one row (for `records`) or one piece of a page (for `to_csv`)
at a time, so a million-row export costs the memory of a page buffer, not of the export.
Each page is a full CSV with its own header; the locator is opaque and `null` on the
last page. Several REST queries can go as the subrequests of one Composite call.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

import requests

from connector.salesforce.http import Transport, error_for, error_parts
from connector.salesforce.results import BulkJob

_PIECE = 1 << 16


class BulkQueryResult:
    """A finished query job: its job, its row count, and its rows on demand.

    `records` and `to_csv` read the result pages from Salesforce each time they are used;
    results stay readable for as long as the job exists (7 days).
    """

    def __init__(self, transport: Transport, job: BulkJob, page_size: int | None = None) -> None:
        self._t = transport
        self.job = job
        self._page_size = page_size

    def __repr__(self) -> str:
        return f"BulkQueryResult(job={self.job.id!r}, record_count={self.record_count})"

    @property
    def record_count(self) -> int:
        """Rows the query returned (from the job's numberRecordsProcessed)."""
        return self.job.number_records_processed

    @property
    def records(self) -> Iterator[dict[str, str]]:
        """The rows, one dict per row keyed by column, streamed (a fresh pass per access)."""
        return self._records()

    def _records(self) -> Iterator[dict[str, str]]:
        for page in self._pages():
            with page:
                page.raw.decode_content = True
                text = io.TextIOWrapper(cast("IO[bytes]", page.raw), encoding="utf-8", newline="")
                yield from csv.DictReader(text)

    def to_csv(self, path: str | Path) -> int:
        """Write every row to one CSV file (one header), streamed; return the row count."""
        rows = 0
        with Path(path).open("wb") as target:
            for number, page in enumerate(self._pages()):
                with page:
                    rows += int(page.headers.get("Sforce-NumberOfRecords", "0") or 0)
                    pieces = page.iter_content(_PIECE)
                    if number > 0:
                        pieces = _skip_first_line(pieces)
                    target.writelines(pieces)
        return rows

    def _pages(self) -> Iterator[requests.Response]:
        locator: str | None = None
        while True:
            params: dict[str, str | int] = {}
            if self._page_size:
                params["maxRecords"] = self._page_size
            if locator:
                params["locator"] = locator
            page = self._t.request(
                "GET",
                f"jobs/query/{self.job.id}/results",
                params=params,
                headers={"Accept": "text/csv"},
                stream=True,
            )
            locator = page.headers.get("Sforce-Locator")
            yield page
            if not locator or locator.lower() == "null":
                return


def _skip_first_line(pieces: Iterator[bytes]) -> Iterator[bytes]:
    skipped = False
    for piece in pieces:
        if skipped:
            yield piece
            continue
        newline = piece.find(b"\n")
        if newline < 0:
            continue
        skipped = True
        if newline + 1 < len(piece):
            yield piece[newline + 1 :]


def rest_records(transport: Transport, path: str) -> Iterator[dict[str, Any]]:
    """The records of a REST query (`query?q=`) from its first page on, by nextRecordsUrl.

    Each record as Salesforce sends it, without its `attributes`.
    """
    page: str | None = path
    while page:
        body = transport.request("GET", page).json()
        for record in body.get("records", []):
            yield _without_attributes(record)
        page = None if body.get("done", True) else body.get("nextRecordsUrl")


def composite_records(transport: Transport, paths: Sequence[str]) -> list[list[dict[str, Any]]]:
    """The records of each REST query path, run as the subrequests of one Composite call.

    At most 5 query subrequests go in one call (Salesforce's limit); the whole call
    counts as one API request. A result that spans pages has its further pages read by
    nextRecordsUrl, one call each. A subrequest Salesforce refused raises its error.
    """
    body = {
        "allOrNone": False,
        "compositeRequest": [
            {"method": "GET", "url": path, "referenceId": f"q{number}"}
            for number, path in enumerate(paths)
        ],
    }
    answers = transport.request("POST", "composite", json=body).json()["compositeResponse"]
    results: list[list[dict[str, Any]]] = []
    for answer in answers:
        page = answer.get("body")
        status = int(answer.get("httpStatusCode", 0))
        if status >= 300 or not isinstance(page, dict):  # noqa: PLR2004
            raise error_for(status, *error_parts(page))
        records = [_without_attributes(r) for r in page.get("records", [])]
        if not page.get("done", True) and page.get("nextRecordsUrl"):
            records += rest_records(transport, page["nextRecordsUrl"])
        results.append(records)
    return results


def _without_attributes(record: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name != "attributes"}
