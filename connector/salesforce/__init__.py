"""A Bulk API 2.0 client, usable on its own: ingest, query, typed results, safe retries.

Errors come from connector.errors (re-exported here): SalesforceError and its kin.
"""

from connector.errors import (
    AuthenticationError,
    BulkInputError,
    InvalidRequestError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    SalesforceBusyError,
    SalesforceError,
    SalesforceUnavailableError,
)
from connector.salesforce.auth import AccessToken, ClientCredentials, JwtBearer, RefreshToken
from connector.salesforce.client import BulkClient, JobHandle
from connector.salesforce.http import RetryPolicy, classify
from connector.salesforce.limits import ApiUsage, OrgLimits
from connector.salesforce.payloads import CsvLines
from connector.salesforce.polls import PollPolicy
from connector.salesforce.query import BulkQueryResult
from connector.salesforce.results import (
    BulkError,
    BulkJob,
    BulkResult,
    FailedRecord,
    JobState,
    Operation,
    SuccessRecord,
)
from connector.salesforce.settings import ClientSettings

SalesforceBusy = SalesforceBusyError

__all__ = [
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
]
