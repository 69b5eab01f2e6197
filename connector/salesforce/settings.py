"""Client settings, in code or from SF_* environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connector.errors import ConfigError
from connector.salesforce.auth import (
    AccessToken,
    AuthFlow,
    ClientCredentials,
    JwtBearer,
    RefreshToken,
)
from connector.salesforce.http import RetryPolicy
from connector.salesforce.polls import PollPolicy

# One upload may be 150 MB once base64-encoded, about 112 MB raw; 100 MiB keeps a margin.
MAX_UPLOAD_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Everything a BulkClient needs; only `login_url` and `auth` have no default.

    Args:
        login_url: where to sign in (My Domain, login or test); for AccessToken, unused.
        auth: one flow: ClientCredentials, JwtBearer, RefreshToken or AccessToken.
        max_upload_bytes: the largest upload; larger input is split across jobs.
        query_page_size: rows per query result page (maxRecords); None lets Salesforce pick.
    """

    login_url: str
    auth: AuthFlow = field(repr=True)
    api_version: str = "62.0"
    ca_bundle: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    query_page_size: int | None = None
    pool_size: int = 10


def settings_from_env(environ: Mapping[str, str]) -> ClientSettings:
    """Settings from SF_* variables; exactly one auth flow must be given (see from_env)."""
    login = environ.get("SF_LOGIN_URL", "").strip()
    client_id = environ.get("SF_CLIENT_ID", "")
    flows: list[AuthFlow] = []
    if environ.get("SF_ACCESS_TOKEN"):
        instance = environ.get("SF_INSTANCE_URL", login)
        flows.append(AccessToken(environ["SF_ACCESS_TOKEN"], instance))
    if environ.get("SF_REFRESH_TOKEN"):
        flows.append(
            RefreshToken(client_id, environ["SF_REFRESH_TOKEN"], environ.get("SF_CLIENT_SECRET"))
        )
    key = environ.get("SF_PRIVATE_KEY") or _read(environ.get("SF_PRIVATE_KEY_FILE"))
    if key:
        flows.append(JwtBearer(client_id, environ.get("SF_USERNAME", ""), key))
    elif environ.get("SF_CLIENT_SECRET") and not environ.get("SF_REFRESH_TOKEN"):
        flows.append(ClientCredentials(client_id, environ["SF_CLIENT_SECRET"]))
    if len(flows) != 1:
        raise ConfigError(
            "give exactly one auth flow: SF_ACCESS_TOKEN (+SF_INSTANCE_URL), "
            "SF_REFRESH_TOKEN (+SF_CLIENT_ID), SF_PRIVATE_KEY[_FILE] (+SF_CLIENT_ID, "
            f"SF_USERNAME) or SF_CLIENT_ID+SF_CLIENT_SECRET; found {len(flows)}"
        )
    if not login and not isinstance(flows[0], AccessToken):
        raise ConfigError("SF_LOGIN_URL is required (https://<MyDomain>.my.salesforce.com)")
    return ClientSettings(
        login_url=login,
        auth=flows[0],
        api_version=environ.get("SF_API_VERSION", "62.0"),
        ca_bundle=environ.get("SF_CA_BUNDLE") or None,
    )


def _read(path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"SF_PRIVATE_KEY_FILE cannot be read: {exc.strerror}") from None
