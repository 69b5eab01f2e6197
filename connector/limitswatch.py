"""Reads the org's /limits now and every interval into the budget gauges, on its own thread.

Sforce-Limit-Info only tells the API request usage, and only when a call is made; the
Bulk batches left in the rolling 24 hours, shared with every other integration of the
org, are only in /limits, and an operator wants to see them fall even while sfsink idles.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from connector.budget import Budget
from connector.errors import SalesforceError
from connector.metrics import Metrics
from connector.salesforce import OrgLimits

log = logging.getLogger(__name__)


class LimitsWatcher:
    """A daemon thread that sets the budget gauges and tells the quota governor."""

    def __init__(
        self, read: Callable[[], OrgLimits], metrics: Metrics, budget: Budget, interval: float
    ) -> None:
        self._read = read
        self._metrics = metrics
        self._budget = budget
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="limits", daemon=True)

    def start(self) -> None:
        """Read now, then every interval until stopped."""
        self._thread.start()

    def stop(self) -> None:
        """Stop reading; a read still retrying is left to its daemon thread."""
        self._stop.set()
        self._thread.join(timeout=5)

    def read_once(self) -> None:
        """One read; a failure is logged and the gauges keep their last values."""
        try:
            limits = self._read()
        except SalesforceError as exc:
            log.warning("cannot read the org's limits: %s", exc)
            return
        self._metrics.api_requests_used.set(limits.api_requests.used)
        self._metrics.api_requests_max.set(limits.api_requests.max)
        self._metrics.bulk_batches_remaining.set(limits.bulk_batches_remaining)
        self._metrics.bulk_batches_max.set(limits.bulk_batches_max)
        self._budget.observe_api(limits.api_requests)
        self._budget.observe_bulk_batches(limits.bulk_batches_remaining, limits.bulk_batches_max)

    def _run(self) -> None:
        while True:
            self.read_once()
            if self._stop.wait(self._interval):
                return
