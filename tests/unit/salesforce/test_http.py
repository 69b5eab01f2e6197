"""One classifier for every answer; retry waits; Sforce-Limit-Info; the poll schedule."""

from __future__ import annotations

import itertools
import json

import pytest
import requests

from connector.errors import (
    AuthenticationError,
    FatalError,
    InvalidRequestError,
    NotFoundError,
    RetriableError,
    SalesforceBusyError,
    SalesforceUnavailableError,
)
from connector.salesforce import RetryPolicy, classify
from connector.salesforce.http import retry_after_seconds
from connector.salesforce.limits import ApiUsage, parse_limit_info
from connector.salesforce.polls import PollPolicy


def _response(status: int, body: object = None, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()  # noqa: SLF001 - a canned response
    response.headers.update(headers)
    return response


def _error(code: str, message: str = "m") -> list[dict[str, str]]:
    return [{"errorCode": code, "message": message}]


def test_success_passes_through():
    """2xx answers are returned as they are."""
    ok = _response(201)
    assert classify(ok) is ok


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, _error("INVALID_SESSION_ID"), AuthenticationError),
        (403, _error("REQUEST_LIMIT_EXCEEDED"), SalesforceBusyError),
        (429, _error("REQUEST_LIMIT_EXCEEDED"), SalesforceBusyError),
        (500, _error("UNKNOWN_EXCEPTION"), SalesforceUnavailableError),
        (503, _error("SERVER_UNAVAILABLE"), SalesforceUnavailableError),
        (404, _error("NOT_FOUND"), NotFoundError),
        (400, _error("INVALIDJOB"), InvalidRequestError),
        (403, _error("INSUFFICIENT_ACCESS"), InvalidRequestError),
        (400, {"error": "invalid_grant", "error_description": "bad"}, InvalidRequestError),
    ],
)
def test_classification(status, body, kind):
    """Each answer maps to the error class that says what the caller must do."""
    with pytest.raises(kind) as caught:
        classify(_response(status, body))
    assert caught.value.status == status


def test_errors_carry_code_and_message_and_the_builtin():
    """Errors carry Salesforce's code and message; 4xx ones are also ValueErrors."""
    with pytest.raises(ValueError, match="INVALIDJOB: InvalidJob : Unable to find object: Foo"):
        classify(_response(400, _error("INVALIDJOB", "InvalidJob : Unable to find object: Foo")))


def test_retriable_and_fatal_classes():
    """Busy and unavailable are retriable; a refused session is fatal."""
    assert issubclass(SalesforceBusyError, RetriableError)
    assert issubclass(SalesforceUnavailableError, RetriableError)
    assert issubclass(AuthenticationError, FatalError)


def test_busy_carries_retry_after():
    """A Retry-After header becomes the error's retry_after."""
    with pytest.raises(SalesforceBusyError) as caught:
        classify(_response(429, _error("REQUEST_LIMIT_EXCEEDED"), **{"Retry-After": "7"}))
    assert caught.value.retry_after == 7.0


def test_non_json_error_bodies_are_read_as_text():
    """A proxy's HTML 502 still classifies, with its text as the message."""
    response = _response(502)
    response._content = b"<html>Bad gateway</html>"  # noqa: SLF001 - a canned response
    with pytest.raises(SalesforceUnavailableError, match="Bad gateway"):
        classify(response)


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 0.0), ("", 0.0), ("12", 12.0), ("-3", 0.0), ("soon", 0.0)]
)
def test_retry_after_values(value, seconds):
    """Retry-After in seconds; anything unreadable counts as none."""
    assert retry_after_seconds(value) == seconds


def test_retry_after_as_an_http_date_in_the_past_is_zero():
    """An HTTP-date Retry-After already past means: no extra wait."""
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_retry_waits_grow_with_jitter_and_are_capped():
    """Waits double from `initial` with jitter in the upper half, capped at `maximum`."""
    policy = RetryPolicy(initial=1.0, maximum=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        waits = {policy.wait(attempt, 0.0) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1


def test_retry_waits_honour_retry_after():
    """A Retry-After longer than the backoff sets the wait."""
    assert RetryPolicy(initial=1.0).wait(1, 20.0) == 20.0


def test_poll_schedule_backs_off_to_thirty_seconds():
    """Polls wait 1 s, then x1.5 each time, never past 30 s."""
    delays = list(itertools.islice(PollPolicy().delays(), 12))
    assert delays[:4] == [1.0, 1.5, 2.25, 3.375]
    assert delays[-1] == 30.0
    assert max(delays) == 30.0


@pytest.mark.parametrize(
    ("header", "usage"),
    [
        ("api-usage=18/5000", ApiUsage(18, 5000)),
        ("api-usage=10018/100000; api-bursts=1/750", ApiUsage(10018, 100000)),
        ("api-usage=25/5000; per-app-api-usage=17/250(appName=sample)", ApiUsage(25, 5000)),
        ("per-app-api-usage=17/250(appName=sample)", None),
        (None, None),
    ],
)
def test_limit_info_parsing(header, usage):
    """The org-wide api-usage pair is read from each header form."""
    assert parse_limit_info(header) == usage


def test_usage_remaining_and_ratio():
    """Usage reports what is left and how full the cap is."""
    usage = ApiUsage(used=750, max=1000)
    assert (usage.remaining, usage.ratio) == (250, 0.75)


def test_errors_carry_the_fields_salesforce_names():
    """A REST error naming fields keeps them on the error and in its message."""
    body = [{"errorCode": "INVALID_FIELD", "message": "bad", "fields": ["Name", "Phone"]}]
    with pytest.raises(InvalidRequestError) as caught:
        classify(_response(400, body))
    assert caught.value.fields == ("Name", "Phone")
    assert "fields: Name, Phone" in str(caught.value)
