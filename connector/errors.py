"""The one exception hierarchy of sfsink: one class per action the caller must take.

    SfsinkError
    ├── ConfigError (ValueError)          fix the configuration; sfsink refuses to start
    ├── RetriableError                    try again later; nothing is lost or final
    │   ├── DeadLetterUnavailableError    the dead-letter topic did not acknowledge
    │   ├── SchemaRegistryUnavailableError  the schema registry did not answer usefully
    │   ├── CommitRefusedError            a rebalance is under way: commit after it
    │   ├── SalesforceBusyError *         Salesforce asked us to slow down: wait retry_after
    │   └── SalesforceUnavailableError *  connection errors, timeouts, 5xx: retries ran out
    ├── RecordError                       this record cannot be written: dead-letter it
    │   ├── DecodeError                   the bytes are not an event we can read
    │   └── MappingError                  no route, no key, or a value of the wrong type
    ├── FatalError                        stop the process; offsets stay where they are
    │   └── AuthenticationError *         the credentials were refused, or re-auth failed
    ├── ReplayError                       replay-dlq could not read or resend dead letters
    ├── GenerateError                     `sfsink generate` could not produce its stream
    └── SalesforceError                   * every error the Salesforce client raises
        ├── InvalidRequestError (ValueError)   Salesforce refused the request (4xx)
        │   └── NotFoundError (LookupError)    no such job or resource (404)
        ├── BulkInputError (ValueError)   bad input caught before any call (no Id, ...)
        ├── JobFailedError                a job ended Failed or Aborted: see error_message
        └── JobTimeoutError (TimeoutError)  a wait ran out; the job is left running

Classes marked * are also SalesforceErrors. A SalesforceError carries Salesforce's
`error_code` and `message`, the HTTP `status` and the `job_id` when there is one: evidence,
never a token, a client secret, a private key or a query string.
"""

from __future__ import annotations

from connector.records import SourceRecord


class SfsinkError(Exception):
    """Root of every error sfsink raises on purpose."""


class ConfigError(SfsinkError, ValueError):
    """The configuration is invalid; the message names the key and the fix."""


class RetriableError(SfsinkError):
    """A transient failure: the same work may succeed if tried again later."""


class DeadLetterUnavailableError(RetriableError):
    """Kafka did not acknowledge every dead letter; none of them may count as final."""


class SchemaRegistryUnavailableError(RetriableError):
    """The schema registry is down, slow or failing (5xx): the record waits, it is not bad."""


class CommitRefusedError(RetriableError):
    """Kafka refused an offset commit because the group is rebalancing; the offsets wait."""


class RecordError(SfsinkError):
    """One record cannot be written; it goes to the dead-letter topic with this reason."""


class DecodeError(RecordError):
    """A record whose key or value cannot be decoded; `reason` is a fixed category.

    `stage` says which half failed, in Kafka Connect's words (KEY_CONVERTER or
    VALUE_CONVERTER), for the dead-letter headers. `record` is the record as consumed, so
    its original bytes can be dead-lettered; the message never quotes the payload.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        stage: str = "VALUE_CONVERTER",
        record: SourceRecord | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.stage = stage
        self.record = record


class MappingError(RecordError):
    """An event that cannot become a row; `reason` is a fixed category for metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FatalError(SfsinkError):
    """The process cannot go on; it stops without committing past what is final."""


class ReplayError(SfsinkError):
    """`sfsink replay-dlq` stopped; what it sent before is acknowledged or safe to resend."""


class GenerateError(SfsinkError):
    """`sfsink generate` stopped: Kafka did not take every record, or a worker failed."""


class SalesforceError(SfsinkError):
    """Salesforce (or the client on its behalf) refused: its errorCode and message.

    Args:
        message: Salesforce's message, or the client's own words.
        error_code: Salesforce's errorCode (`INVALIDJOB`, `REQUEST_LIMIT_EXCEEDED`, ...).
        status: the HTTP status, when an HTTP answer caused the error.
        job_id: the Bulk job concerned, when there is one.
        fields: the fields Salesforce named, when it named any.
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: str = "",
        status: int | None = None,
        job_id: str | None = None,
        fields: tuple[str, ...] = (),
    ) -> None:
        self.message = message
        self.error_code = error_code
        self.status = status
        self.job_id = job_id
        self.fields = fields
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"{self.error_code}: {self.message}" if self.error_code else self.message]
        if self.fields:
            parts.append(f"[fields: {', '.join(self.fields)}]")
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.job_id:
            parts.append(f"[job {self.job_id}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r})"


class SalesforceBusyError(SalesforceError, RetriableError):
    """Salesforce said "slow down" (a limit near its cap): wait `retry_after` seconds."""

    def __init__(
        self,
        message: str,
        retry_after: float,
        *,
        error_code: str = "",
        status: int | None = None,
        job_id: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, error_code=error_code, status=status, job_id=job_id)


class SalesforceUnavailableError(SalesforceError, RetriableError):
    """No usable answer: a connection error, a timeout or a 5xx, after every retry."""


class AuthenticationError(SalesforceError, FatalError):
    """The token endpoint refused the credentials, or a fresh session was refused too."""


class InvalidRequestError(SalesforceError, ValueError):
    """Salesforce refused the request as malformed or illegal now (HTTP 4xx)."""


class NotFoundError(InvalidRequestError, LookupError):
    """No such job or resource (HTTP 404 NOT_FOUND)."""


class BulkInputError(SalesforceError, ValueError):
    """Input that cannot be sent, caught before any call: `record` is its 1-based number."""

    def __init__(self, message: str, *, record: int) -> None:
        self.record = record
        super().__init__(message, error_code="INVALID_INPUT")


class JobFailedError(SalesforceError):
    """A job ended Failed or Aborted; `error_message` is Salesforce's errorMessage.

    `result` holds what the job did before it stopped (a BulkResult, with the
    unprocessed rows), when the client could read it.
    """

    def __init__(self, message: str, *, job_id: str, state: str, result: object = None) -> None:
        self.state = state
        self.error_message = message
        self.result = result
        super().__init__(message, error_code=state.upper(), job_id=job_id)


class JobTimeoutError(SalesforceError, TimeoutError):
    """Waiting for a job ran out of time; the job is left running and can be resumed."""

    def __init__(self, job_id: str, timeout: float, state: str) -> None:
        self.timeout = timeout
        self.state = state
        super().__init__(
            f"job {job_id} still {state} after {timeout:g} s; it is left running",
            error_code="TIMEOUT",
            job_id=job_id,
        )
