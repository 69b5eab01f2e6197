"""Dead-letter headers: the original ones kept, Connect's and sfsink's added, no stale ones."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.deadletter import Failure, SalesforceFailure, Stage, headers_for, producer_config
from connector.records import Position, SourceRecord

NOW = datetime(2026, 11, 23, 5, 0, 0, 123000, tzinfo=UTC)


def failure(headers: tuple[tuple[str, bytes | None], ...] = ()) -> Failure:
    """A Salesforce rejection of the record at cdc.accounts/2@41."""
    record = SourceRecord(Position("cdc.accounts", 2, 41), b"k", b"v", headers)
    return Failure(
        record=record,
        stage=Stage.TASK_PUT,
        executing_class="connector.flush.JobRunner",
        reason="salesforce_rejected",
        error_class="connector.errors.RowRejectedError",
        message="Name: data value too large",
        attempts=1,
        salesforce=SalesforceFailure("STRING_TOO_LONG", "data value too large", ("Name",), "750x"),
    )


def test_connect_and_sfsink_headers_say_why() -> None:
    """The headers Connect tooling parses are present with Connect's spellings."""
    headers = dict(headers_for(failure(), "sfsink-prod", NOW))
    assert headers["__connect.errors.topic"] == b"cdc.accounts"
    assert headers["__connect.errors.partition"] == b"2"
    assert headers["__connect.errors.offset"] == b"41"
    assert headers["__connect.errors.stage"] == b"TASK_PUT"
    assert headers["__connect.errors.exception.class.name"] == b"connector.errors.RowRejectedError"
    assert headers["__connect.errors.exception.message"] == b"Name: data value too large"
    assert headers["sfsink.errors.salesforce.status_code"] == b"STRING_TOO_LONG"
    assert headers["sfsink.errors.salesforce.fields"] == b"Name"
    assert headers["sfsink.errors.salesforce.job_id"] == b"750x"
    assert headers["sfsink.errors.time"] == b"2026-11-23T05:00:00.123Z"
    assert "__connect.errors.exception.stacktrace" not in headers


def test_original_headers_are_kept_and_earlier_failures_replaced() -> None:
    """A replayed dead letter carries one set of error headers, not two."""
    original = (
        ("trace", b"abc"),
        ("__connect.errors.offset", b"7"),
        ("sfsink.errors.reason", b"x"),
    )
    headers = headers_for(failure(original), "sfsink", NOW)
    assert headers[0] == ("trace", b"abc")
    names = [name for name, _ in headers]
    assert names.count("__connect.errors.offset") == 1
    assert dict(headers)["__connect.errors.offset"] == b"41"
    assert names.count("sfsink.errors.reason") == 1


def test_producer_takes_only_the_consumers_connection_settings() -> None:
    """Consumer-only keys stay out; security settings and idempotent acks go in."""
    config = producer_config(
        {
            "bootstrap.servers": "b:9092",
            "group.id": "g",
            "auto.offset.reset": "earliest",
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "PLAIN",
            "ssl.ca.location": "/ca.pem",
        }
    )
    assert config == {
        "bootstrap.servers": "b:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "ssl.ca.location": "/ca.pem",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    }
