"""A refused offset commit: a rebalance under way is waited out, anything else stops."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from connector.errors import CommitRefusedError, FatalError
from connector.source import commit_refusal


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.ILLEGAL_GENERATION,  # what stopped a member of a two-process group
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError._ASSIGNMENT_LOST,  # noqa: SLF001 - librdkafka's name
    ],
)
def test_a_rebalance_or_a_coordinator_away_is_retriable(code: int) -> None:
    """The offsets wait for the next turn instead of stopping the process."""
    refusal = commit_refusal(KafkaError(code))
    assert isinstance(refusal, CommitRefusedError)
    assert str(refusal).startswith("Kafka refused the offset commit: ")


def test_an_error_librdkafka_calls_retriable_is() -> None:
    """A coordinator moving or loading: librdkafka marks those retriable itself."""
    error = KafkaError(KafkaError.COORDINATOR_NOT_AVAILABLE, retriable=True)
    assert isinstance(commit_refusal(error), CommitRefusedError)


@pytest.mark.parametrize(
    "code", [KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.OFFSET_METADATA_TOO_LARGE]
)
def test_any_other_refusal_stops(code: int) -> None:
    """A group the principal may not use will not change by waiting."""
    assert isinstance(commit_refusal(KafkaError(code)), FatalError)
