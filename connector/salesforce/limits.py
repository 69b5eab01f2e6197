"""The org's API usage: the Sforce-Limit-Info header of every response, and /limits."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

_API_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """Daily API requests used so far, out of the org's cap."""

    used: int
    max: int

    @property
    def remaining(self) -> int:
        """Requests left before the cap."""
        return max(self.max - self.used, 0)

    @property
    def ratio(self) -> float:
        """Used over max, 0.0 to 1.0 (1.0 when the cap is zero)."""
        return self.used / self.max if self.max else 1.0


@dataclass(frozen=True, slots=True)
class OrgLimits:
    """The allocations a sink spends, as /limits reports them."""

    api_requests: ApiUsage
    bulk_batches_max: int
    bulk_batches_remaining: int

    @classmethod
    def from_json(cls, body: Mapping[str, object]) -> OrgLimits:
        """Read DailyApiRequests and DailyBulkApiBatches (absent ones read as 0)."""
        api_max, api_left = _allocation(body, "DailyApiRequests")
        batches_max, batches_left = _allocation(body, "DailyBulkApiBatches")
        return cls(ApiUsage(used=api_max - api_left, max=api_max), batches_max, batches_left)


def _allocation(body: Mapping[str, object], name: str) -> tuple[int, int]:
    entry = body.get(name)
    if not isinstance(entry, Mapping):
        return 0, 0
    return int(entry.get("Max", 0)), int(entry.get("Remaining", 0))


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """The api-usage part of a Sforce-Limit-Info value, or None when absent or unreadable."""
    if not header:
        return None
    match = _API_USAGE.search(header)
    if match is None:
        return None
    return ApiUsage(used=int(match.group(1)), max=int(match.group(2)))


class UsageTracker:
    """The latest usage seen on any response; shared by every thread of one client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: ApiUsage | None = None

    def observe(self, header: str | None) -> None:
        """Note the usage from one response's header, if it has one."""
        usage = parse_limit_info(header)
        if usage is not None:
            with self._lock:
                self._latest = usage

    @property
    def latest(self) -> ApiUsage | None:
        """The most recent usage, or None before the first API response."""
        with self._lock:
            return self._latest
