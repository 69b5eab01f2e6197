"""The quota governor: no new Bulk job while the org's shared budgets are within the reserve.

An org's daily API requests and its Bulk batches (15,000 per rolling 24 hours) are shared
by every integration. Spending them to the last one would break the others and then this
connector too (REQUEST_LIMIT_EXCEEDED). So sfsink leaves a reserve untouched: below it, no
job starts; records wait, buffered up to the memory bound, then in Kafka, and flow again
when the rolling window frees room. Readings come from two places: the Sforce-Limit-Info
header of every call, and /limits, read periodically even while jobs are held.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from connector.salesforce import ApiUsage


@dataclass(frozen=True, slots=True)
class Reading:
    """One budget as last seen."""

    used: int
    max: int

    @property
    def left_fraction(self) -> float:
        """The share of the cap still unused."""
        return 1.0 if self.max <= 0 else max(self.max - self.used, 0) / self.max


class Budget:
    """The latest readings of both budgets and whether a reserve has been reached.

    Thread-safe: job threads and the limits reader report, the loop asks.
    """

    def __init__(self, reserve_fraction: float) -> None:
        self._reserve = reserve_fraction
        self._lock = threading.Lock()
        self._api: Reading | None = None
        self._batches: Reading | None = None

    def observe_api(self, usage: ApiUsage) -> None:
        """A Sforce-Limit-Info reading."""
        with self._lock:
            self._api = Reading(usage.used, usage.max)

    def observe_bulk_batches(self, remaining: int, cap: int) -> None:
        """A /limits reading of DailyBulkApiBatches."""
        with self._lock:
            self._batches = Reading(max(cap - remaining, 0), cap)

    def hold_reason(self) -> str | None:
        """Why no job may start now, or None."""
        with self._lock:
            readings = {"daily API requests": self._api, "daily Bulk batches": self._batches}
        for name, reading in readings.items():
            if reading is not None and reading.left_fraction <= self._reserve:
                return (
                    f"{name} at {reading.used}/{reading.max}: within the "
                    f"{self._reserve:.0%} reserve left to other integrations"
                )
        return None
