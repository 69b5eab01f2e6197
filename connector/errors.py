"""The one exception hierarchy of sfsink: one class per action the caller must take.

    SfsinkError
    ├── ConfigError (ValueError)          fix the configuration; sfsink refuses to start
    ├── RetriableError                    try again later; nothing is lost or final
    │   ├── DeadLetterUnavailableError    the dead-letter topic did not acknowledge
    │   └── SalesforceBusyError           Salesforce asked us to slow down: wait retry_after
    ├── RecordError                       this record cannot be written: dead-letter it
    │   └── MappingError                  no route, no key, or a value of the wrong type
    └── FatalError                        stop the process; offsets stay where they are

Errors carry evidence (codes, field names, job ids, positions), never a secret.
"""

from __future__ import annotations


class SfsinkError(Exception):
    """Root of every error sfsink raises on purpose."""


class ConfigError(SfsinkError, ValueError):
    """The configuration is invalid; the message names the key and the fix."""


class RetriableError(SfsinkError):
    """A transient failure: the same work may succeed if tried again later."""


class DeadLetterUnavailableError(RetriableError):
    """Kafka did not acknowledge every dead letter; none of them may count as final."""


class SalesforceBusyError(RetriableError):
    """Salesforce said "slow down" (a limit near its cap): wait `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecordError(SfsinkError):
    """One record cannot be written; it goes to the dead-letter topic with this reason."""


class MappingError(RecordError):
    """An event that cannot become a row; `reason` is a fixed category for metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FatalError(SfsinkError):
    """The process cannot go on; it stops without committing past what is final."""
