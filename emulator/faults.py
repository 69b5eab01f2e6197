"""Faults injected on demand through the admin API, repeatable through a seed.

Tests set a Faults value; the server reads the current one on every request and the
worker on every chunk, so a change takes effect at once and needs no restart.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

ENDPOINT_CLASSES = (
    "auth",
    "versions",
    "ingest",
    "bulk_query",
    "query",
    "sobject",
    "describe",
    "composite",
    "limits",
)


@dataclass(frozen=True, slots=True)
class ErrorRate:
    """A fraction of calls of one endpoint class answered with `status` instead."""

    rate: float
    status: int = 503


@dataclass(frozen=True, slots=True)
class Faults:
    """Everything that can be made to go wrong. The default is a healthy org."""

    seed: int = 0
    errors: Mapping[str, ErrorRate] = field(default_factory=dict)
    lock_rate: float = 0.0
    job_delay_seconds: float = 0.0
    chunk_delay_seconds: float = 0.0
    stall_jobs: bool = False
    fail_jobs: int = 0
    fail_message: str = "TooManyLockFailure : Too many lock failure 200 Trying again later."
    max_upload_bytes: int | None = None
    max_multipart_chars: int | None = None  # an org holding to the older, lower limit
    max_where_chars: int | None = None  # an org holding a query's whole WHERE clause to this

    def to_json(self) -> dict[str, object]:
        """The admin API's view."""
        return asdict(self)


def from_json(body: Mapping[str, object], current: Faults) -> Faults:
    """A new Faults from an admin request; keys not given keep their current value."""
    changes = dict(body)
    raw_errors = changes.pop("errors", None)
    if raw_errors is not None:
        if not isinstance(raw_errors, Mapping):
            raise ValueError("errors must map endpoint classes to {rate, status}")
        errors = {}
        for name, spec in raw_errors.items():
            if name not in ENDPOINT_CLASSES or not isinstance(spec, Mapping):
                raise ValueError(f"unknown endpoint class {name!r}: one of {ENDPOINT_CLASSES}")
            errors[name] = ErrorRate(float(spec.get("rate", 1.0)), int(spec.get("status", 503)))
        changes["errors"] = errors
    known = set(Faults.__dataclass_fields__)
    unknown = set(changes) - known
    if unknown:
        raise ValueError(f"unknown fault settings: {sorted(unknown)}")
    return replace(current, **changes)  # type: ignore[arg-type]


class FaultState:
    """The current faults and the seeded random source they draw from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = Faults()
        self.rng = random.Random(0)  # noqa: S311 - fault injection, not security

    def set(self, faults: Faults) -> None:
        """Install new faults and reseed."""
        with self._lock:
            self.current = faults
            self.rng = random.Random(faults.seed)  # noqa: S311 - fault injection

    def derived(self) -> random.Random:
        """A generator for one job or call, drawn from the seeded sequence.

        Each job gets a different draw (a retried one-row job is not doomed to repeat
        its fault), and the same seed still replays the same sequence.
        """
        with self._lock:
            return random.Random(self.rng.getrandbits(64))  # noqa: S311 - fault injection

    def http_error(self, endpoint_class: str) -> int | None:
        """The status to answer this call with, if a fault hits it."""
        spec = self.current.errors.get(endpoint_class)
        if spec is None:
            return None
        with self._lock:
            hit = self.rng.random() < spec.rate
        return spec.status if hit else None

    def take_job_failure(self) -> str | None:
        """Consume one 'fail the next job' fault, returning its errorMessage."""
        with self._lock:
            if self.current.fail_jobs <= 0:
                return None
            self.current = replace(self.current, fail_jobs=self.current.fail_jobs - 1)
            return self.current.fail_message
