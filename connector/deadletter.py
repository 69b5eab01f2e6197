"""Produces records that cannot be written to the dead-letter topic, and waits for the ack.

Each dead letter is the original key, value and headers, unchanged, plus headers that
say why: Kafka Connect's `__connect.errors.*` set, which users' tooling already parses,
and sfsink's own `sfsink.errors.*` for what Salesforce said. No stack trace is written:
it would leak internals and, through exception messages, possibly data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from confluent_kafka import KafkaError, Message, Producer

from connector.errors import DeadLetterUnavailableError
from connector.records import SourceRecord
from connector.source import KafkaValue, connection_settings

# Every reason a record is dead-lettered for (the categories of DecodeError and
# MappingError, and the job outcomes), so their series exist at zero from the start
# (a unit test keeps this list in step with the code).
REASONS = (
    "undecodable",
    "bad_framing",
    "bad_schema",
    "unknown_schema",
    "unsupported_schema",
    "not_a_change_event",
    "not_an_object",
    "unknown_op",
    "bad_value",
    "no_route",
    "missing_key",
    "salesforce_rejected",
    "retries_exhausted",
)
CONNECT_PREFIX = "__connect.errors."
SFSINK_PREFIX = "sfsink.errors."


_Delivered = Callable[[KafkaError | None, "Message[bytes, bytes]"], None]


class Stage(StrEnum):
    """Where the record failed, in Kafka Connect's `Stage` names."""

    KEY_CONVERTER = "KEY_CONVERTER"
    VALUE_CONVERTER = "VALUE_CONVERTER"
    TRANSFORMATION = "TRANSFORMATION"
    TASK_PUT = "TASK_PUT"


@dataclass(frozen=True, slots=True)
class SalesforceFailure:
    """What Salesforce said about a row it did not write."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()
    job_id: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """One record that will not be written, and why.

    `reason` is a short fixed category (a metric label and a header); `message` is the
    human explanation, which never holds a secret.
    """

    record: SourceRecord
    stage: Stage
    executing_class: str
    reason: str
    error_class: str
    message: str
    attempts: int = 0
    salesforce: SalesforceFailure | None = None


def producer_config(consumer: Mapping[str, KafkaValue]) -> dict[str, KafkaValue]:
    """Settings for the dead-letter producer: the consumer's connection, acks from all."""
    return {
        **connection_settings(consumer),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    }


def headers_for(
    failure: Failure, connector_name: str, now: datetime
) -> list[tuple[str, str | bytes | None]]:
    """The original headers (minus those of an earlier failure) and the why."""
    source = failure.record
    kept: list[tuple[str, str | bytes | None]] = [
        (name, value)
        for name, value in source.headers
        if not name.startswith((CONNECT_PREFIX, SFSINK_PREFIX))
    ]
    why = {
        f"{CONNECT_PREFIX}topic": source.position.topic,
        f"{CONNECT_PREFIX}partition": str(source.position.partition),
        f"{CONNECT_PREFIX}offset": str(source.position.offset),
        f"{CONNECT_PREFIX}connector.name": connector_name,
        f"{CONNECT_PREFIX}task.id": "0",
        f"{CONNECT_PREFIX}stage": failure.stage.value,
        f"{CONNECT_PREFIX}class.name": failure.executing_class,
        f"{CONNECT_PREFIX}exception.class.name": failure.error_class,
        f"{CONNECT_PREFIX}exception.message": failure.message,
        f"{SFSINK_PREFIX}reason": failure.reason,
        f"{SFSINK_PREFIX}attempts": str(failure.attempts),
        f"{SFSINK_PREFIX}time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if failure.salesforce is not None:
        sf = failure.salesforce
        why[f"{SFSINK_PREFIX}salesforce.status_code"] = sf.status_code
        why[f"{SFSINK_PREFIX}salesforce.message"] = sf.message
        why[f"{SFSINK_PREFIX}salesforce.fields"] = ",".join(sf.fields)
        if sf.job_id is not None:
            why[f"{SFSINK_PREFIX}salesforce.job_id"] = sf.job_id
    return kept + [(name, value.encode()) for name, value in why.items()]


class DeadLetter:
    """Sends failures to the dead-letter topic; returns only once Kafka has them all."""

    def __init__(self, producer: Producer, topic: str, connector_name: str) -> None:
        self._producer = producer
        self._topic = topic
        self._connector_name = connector_name

    def send(self, failures: Sequence[Failure], timeout: float = 30.0) -> None:
        """Produce every failure and wait for its ack.

        Raises:
            DeadLetterUnavailableError: some were not acknowledged; none may be counted
                as final, and the caller tries again later.
        """
        if not failures:
            return
        errors: list[KafkaError] = []
        acked = 0

        def delivered(error: KafkaError | None, _msg: Message[bytes, bytes]) -> None:
            nonlocal acked
            if error is None:
                acked += 1
            else:
                errors.append(error)

        now = datetime.now(UTC)
        for failure in failures:
            self._produce(failure, now, delivered)
        remaining = self._producer.flush(timeout)
        if errors or remaining or acked != len(failures):
            detail = errors[0].str() if errors else f"{remaining} still unacknowledged"
            raise DeadLetterUnavailableError(
                f"dead-letter topic {self._topic} did not take {len(failures) - acked} of "
                f"{len(failures)} records: {detail}"
            )

    def _produce(self, failure: Failure, now: datetime, delivered: _Delivered) -> None:
        record = failure.record
        while True:
            try:
                self._producer.produce(
                    self._topic,
                    key=record.key,
                    value=record.value,
                    headers=list(headers_for(failure, self._connector_name, now)),
                    timestamp=record.timestamp_ms or 0,
                    on_delivery=delivered,
                )
            except BufferError:
                self._producer.poll(0.1)  # the local queue is full: let deliveries drain
            else:
                return
