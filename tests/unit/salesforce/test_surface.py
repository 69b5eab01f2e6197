"""The public surface is pinned, and the error tree subclasses the builtins it resembles."""

from __future__ import annotations

from connector import errors, salesforce

EXPECTED = {
    "AccessToken",
    "ApiUsage",
    "AuthenticationError",
    "BulkClient",
    "BulkError",
    "BulkInputError",
    "BulkJob",
    "BulkQueryResult",
    "BulkResult",
    "ClientCredentials",
    "ClientSettings",
    "CsvLines",
    "FailedRecord",
    "InvalidRequestError",
    "JobFailedError",
    "JobHandle",
    "JobState",
    "JobTimeoutError",
    "JwtBearer",
    "NotFoundError",
    "Operation",
    "OrgLimits",
    "PollPolicy",
    "RefreshToken",
    "RetryPolicy",
    "SalesforceBusy",
    "SalesforceBusyError",
    "SalesforceError",
    "SalesforceUnavailableError",
    "SuccessRecord",
    "classify",
}


def test_all_is_pinned():
    """__all__ lists exactly the public names, and each one exists."""
    assert set(salesforce.__all__) == EXPECTED
    assert len(salesforce.__all__) == len(EXPECTED)
    for name in salesforce.__all__:
        assert getattr(salesforce, name) is not None


def test_public_names_are_all_exported():
    """No public name of the package is left out of __all__ (submodules aside)."""
    public = {n for n in vars(salesforce) if not n.startswith("_")}
    modules = {
        "auth",
        "client",
        "csvio",
        "endpoints",
        "http",
        "jobs",
        "limits",
        "lookup",
        "payloads",
        "polls",
        "query",
        "results",
        "settings",
    }
    assert public - modules - {"annotations"} == EXPECTED


def test_errors_hang_under_the_root_and_subclass_builtins():
    """Every Salesforce error is an SfsinkError; the builtins they resemble are bases too."""
    assert issubclass(errors.SalesforceError, errors.SfsinkError)
    assert issubclass(errors.JobTimeoutError, TimeoutError)
    assert issubclass(errors.BulkInputError, ValueError)
    assert issubclass(errors.InvalidRequestError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.SalesforceBusyError, errors.RetriableError)
    assert salesforce.SalesforceBusy is errors.SalesforceBusyError


def test_timeout_names_the_job():
    """A timeout's message names the job and says it is left running."""
    error = errors.JobTimeoutError("750XX", 5.0, "InProgress")
    assert "750XX" in str(error)
    assert "left running" in str(error)
    assert error.job_id == "750XX"
