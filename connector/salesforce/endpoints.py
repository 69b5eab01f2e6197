"""Which kind of Salesforce call a request is: a short, bounded name for metrics.

A job id, a record id or a query string never reaches the name, so a label built from it
stays bounded however many jobs run.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

# Told of every HTTP call: its endpoint class and its status ("error" when none came back).
CallObserver = Callable[[str, str], None]
_JOB_FILES = frozenset({"successfulResults", "failedResults", "unprocessedrecords", "results"})
_REST = {
    "limits": "limits",
    "query": "query",
    "queryAll": "query",
    "composite": "composite",
    "sobjects": "sobjects",
}


def endpoint_class(method: str, url: str) -> str:
    """The class of a call, from its method and URL.

    oauth, versions, ingest_* and bulk_query_* (create, list, upload, state, poll,
    results, delete), query, describe, sobjects, limits, composite, or other.
    """
    path = urlsplit(url).path.rstrip("/")
    if path.startswith("/services/oauth2/"):
        return "oauth"
    parts = path.split("/")[3:]  # after "", "services", "data"
    if not parts or (len(parts) == 1 and parts[0].startswith("v")):
        return "versions"
    rest = parts[1:]
    if len(rest) >= 2 and rest[0] == "jobs":  # noqa: PLR2004 - jobs/<kind>
        kind = "ingest" if rest[1] == "ingest" else "bulk_query"
        return f"{kind}_{_job_action(method.upper(), rest[2:])}"
    if rest and rest[0] == "sobjects" and rest[-1] == "describe":
        return "describe"
    return _REST.get(rest[0], "other") if rest else "other"


def _job_action(method: str, below: list[str]) -> str:
    """What a call under jobs/<kind> does, from its method and what follows the kind."""
    if not below:
        return "create" if method == "POST" else "list"
    if len(below) == 1:
        return {"PATCH": "state", "DELETE": "delete"}.get(method, "poll")
    if below[1] == "batches":
        return "upload"
    return "results" if below[1] in _JOB_FILES else "other"
