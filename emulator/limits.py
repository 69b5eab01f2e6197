"""Org allocations: daily API requests, Bulk batches and query jobs, and calls per class.

Counted from the emulator's start (or the last reset) rather than over a rolling 24
hours: a test or a benchmark lives far shorter than a day.
"""

from __future__ import annotations

import threading
from collections import Counter

DAILY_BULK_BATCHES = 15_000
DAILY_QUERY_JOBS = 10_000


class Limits:
    """Usage counters, shared by every request and the worker."""

    def __init__(self, daily_api_cap: int) -> None:
        self._lock = threading.Lock()
        self.daily_api_cap = daily_api_cap
        self.api_requests = 0
        self.bulk_batches = 0
        self.query_jobs = 0
        self.calls: Counter[str] = Counter()

    def count_call(self, endpoint_class: str) -> None:
        """Note one call of a class (every class, counted or not against the cap)."""
        with self._lock:
            self.calls[endpoint_class] += 1

    def take_api_request(self) -> bool:
        """Count one API request against the cap; False if the cap is already reached."""
        with self._lock:
            if self.api_requests >= self.daily_api_cap:
                return False
            self.api_requests += 1
            return True

    def header(self) -> str:
        """The Sforce-Limit-Info value."""
        return f"api-usage={self.api_requests}/{self.daily_api_cap}"

    def take_batch(self) -> bool:
        """Count one internal Bulk batch; False once the daily allocation is spent."""
        with self._lock:
            if self.bulk_batches >= DAILY_BULK_BATCHES:
                return False
            self.bulk_batches += 1
            return True

    def take_query_job(self) -> bool:
        """Count one Bulk query job; False once the daily allocation is spent."""
        with self._lock:
            if self.query_jobs >= DAILY_QUERY_JOBS:
                return False
            self.query_jobs += 1
            return True

    def reset(self) -> None:
        """Forget all usage."""
        with self._lock:
            self.api_requests = self.bulk_batches = self.query_jobs = 0
            self.calls.clear()

    def snapshot(self) -> dict[str, object]:
        """The /limits body (the keys the reference lists)."""
        with self._lock:
            return {
                "DailyApiRequests": {
                    "Max": self.daily_api_cap,
                    "Remaining": max(self.daily_api_cap - self.api_requests, 0),
                },
                "DailyBulkApiBatches": {
                    "Max": DAILY_BULK_BATCHES,
                    "Remaining": DAILY_BULK_BATCHES - self.bulk_batches,
                },
                "DailyBulkV2QueryJobs": {
                    "Max": DAILY_QUERY_JOBS,
                    "Remaining": DAILY_QUERY_JOBS - self.query_jobs,
                },
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
                "FileStorageMB": {"Max": 1024, "Remaining": 1024},
            }
