"""The CLI's progress display: a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from connector.bulk_cli import Progress
from connector.salesforce import BulkJob, JobState, Operation


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _job(state: JobState, processed: int) -> BulkJob:
    return BulkJob("750A", Operation.INSERT, "Account", state, number_records_processed=processed)


def test_a_terminal_gets_a_redrawn_bar():
    """On a TTY each change redraws one line; the final state ends it."""
    stream = _Terminal()
    progress = Progress(100, stream)
    progress(_job(JobState.IN_PROGRESS, 50))
    progress(_job(JobState.JOB_COMPLETE, 100))
    text = stream.getvalue()
    assert text.count("\r[") == 2
    assert "[" + "#" * 15 + "-" * 15 + "]" in text
    assert text.endswith("100/100 processed, 0 failed\n")


def test_a_pipe_gets_plain_lines():
    """Off a TTY each change is one plain line, with no carriage returns."""
    stream = io.StringIO()
    progress = Progress(10, stream)
    progress(_job(JobState.IN_PROGRESS, 5))
    assert stream.getvalue() == "job 750A InProgress: 5/10 processed, 0 failed\n"
