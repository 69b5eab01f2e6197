"""Typed settings: a YAML file, overridden by SFSINK_* variables, validated once at start.

An override names its key path with double underscores: `SFSINK_BATCHING__MAX_RECORDS=500`
sets `batching.max_records`, `SFSINK_ROUTES__0__SOBJECT=Lead` the first route's object,
and under `kafka.consumer` single underscores become dots, so
`SFSINK_KAFKA__CONSUMER__BOOTSTRAP_SERVERS` sets librdkafka's `bootstrap.servers`.
Secrets come from such variables or from files (`client_secret_file`), never from the
YAML in plain text unless the operator puts them there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from connector.errors import ConfigError

ENV_PREFIX = "SFSINK_"
# sfsink owns these: it stores and commits offsets only once outcomes are final.
OWNED_CONSUMER_KEYS = frozenset({"enable.auto.commit", "enable.auto.offset.store"})


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Frozen):
    """Where records come from: set exactly one of `topics` and `topic_pattern`."""

    consumer: dict[str, str | int | float | bool] = Field(
        description="librdkafka settings passed through unchanged (bootstrap.servers and "
        "group.id required; security.protocol, sasl.*, ssl.*, ...), except "
        "enable.auto.commit and enable.auto.offset.store, which sfsink owns",
    )
    topics: tuple[str, ...] = Field((), description="topics to consume")
    topic_pattern: str | None = Field(None, description="or a regex of topics to consume")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if bool(self.topics) == bool(self.topic_pattern):
            raise ValueError("set exactly one of `topics` or `topic_pattern`")
        if self.topic_pattern is not None:
            re.compile(self.topic_pattern)
        for key in ("bootstrap.servers", "group.id"):
            if key not in self.consumer:
                raise ValueError(f"`consumer` needs `{key}`")
        owned = OWNED_CONSUMER_KEYS & set(self.consumer)
        if owned:
            raise ValueError(f"remove {sorted(owned)} from `consumer`: sfsink commits itself")
        return self


class AuthFlow(StrEnum):
    """How sfsink obtains its Salesforce session."""

    CLIENT_CREDENTIALS = "client_credentials"
    JWT = "jwt"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a flow's name, not a token
    ACCESS_TOKEN = "access_token"  # noqa: S105 - a flow's name, not a token


FLOW_NEEDS: dict[AuthFlow, tuple[str, ...]] = {
    AuthFlow.CLIENT_CREDENTIALS: ("client_id", "client_secret"),
    AuthFlow.JWT: ("client_id", "username", "private_key"),
    AuthFlow.REFRESH_TOKEN: ("client_id", "refresh_token"),
    AuthFlow.ACCESS_TOKEN: ("access_token", "instance_url"),
}


class AuthSettings(_Frozen):
    """The credentials of one OAuth flow; each secret may instead be read from a file."""

    flow: AuthFlow = Field(description="client_credentials, jwt, refresh_token or access_token")
    client_id: str | None = Field(None, description="the connected app's consumer key")
    client_secret: SecretStr | None = Field(None, description="its consumer secret")
    username: str | None = Field(None, description="the integration user (JWT subject)")
    private_key: SecretStr | None = Field(None, description="PEM private key for JWT")
    refresh_token: SecretStr | None = Field(None, description="for the refresh_token flow")
    access_token: SecretStr | None = Field(None, description="a ready session id")
    instance_url: str | None = Field(None, description="the org's URL, with access_token")
    client_secret_file: Path | None = Field(None, description="or a file holding client_secret")
    private_key_file: Path | None = Field(None, description="or a file holding private_key")
    refresh_token_file: Path | None = Field(None, description="or a file holding refresh_token")
    access_token_file: Path | None = Field(None, description="or a file holding access_token")

    @model_validator(mode="before")
    @classmethod
    def _read_files(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        for name in ("client_secret", "private_key", "refresh_token", "access_token"):
            path = data.get(f"{name}_file")
            if path and not data.get(name):
                try:
                    data = {**data, name: Path(path).read_text().strip()}
                except OSError as exc:
                    raise ValueError(f"cannot read `{name}_file` {path}: {exc.strerror}") from None
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        missing = [name for name in FLOW_NEEDS[self.flow] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"the {self.flow} flow needs {', '.join(missing)}")
        return self


class SalesforceSettings(_Frozen):
    """Which org to write to, and how."""

    login_url: str = Field(description="e.g. https://login.salesforce.com or a My Domain URL")
    api_version: Annotated[str, Field(pattern=r"^\d{2}\.0$")] = Field(
        "62.0", description="REST API version, e.g. 62.0"
    )
    auth: AuthSettings = Field(description="how sfsink signs in (below)")
    ca_bundle: Path | None = Field(None, description="CA file to trust (a private CA)")
    timeout_seconds: float = Field(60.0, gt=0, description="per HTTP call")
    job_timeout_seconds: float = Field(
        3600.0, gt=0, description="how long one Bulk job may run before it is aborted and retried"
    )
    retry_max_elapsed_seconds: float = Field(
        120.0, gt=0, description="how long one HTTP call is retried before its job is put back"
    )
    poll_initial_seconds: float = Field(
        1.0,
        gt=0,
        description="first wait between job status polls until the org's speed is learned "
        "(then x1.5, up to 30 s)",
    )
    limits_interval_seconds: float = Field(
        60.0, gt=0, description="how often /limits is read (API requests, Bulk batches left)"
    )
    budget_reserve_fraction: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="share of the org's daily API requests and Bulk batches left to other "
        "integrations: within it, no job starts until the rolling window frees room",
    )


class OnDelete(StrEnum):
    """What a delete event does in Salesforce."""

    DELETE = "delete"
    HARD_DELETE = "hard_delete"
    IGNORE = "ignore"


class SalesforceType(StrEnum):
    """How a value is rendered into the Bulk CSV."""

    STRING = "string"
    BOOLEAN = "boolean"
    INT = "int"
    DOUBLE = "double"
    DATE = "date"
    DATETIME = "datetime"


class Route(_Frozen):
    """How the records of one topic (or topic pattern) become rows of one object.

    Set exactly one of `topic` and `topic_pattern`; a record follows the first route that
    matches its topic.
    """

    topic: str | None = Field(None, description="the topic this route applies to")
    topic_pattern: str | None = Field(None, description="or a regex of topics")
    sobject: str = Field(description="the Salesforce object, e.g. Account")
    external_id: str = Field(description="the external id field upserts match on")
    format: Literal["json", "avro"] = Field("json", description="how values are encoded")
    key_from: Literal["message_key", "value"] = Field(
        "message_key", description="where the external id value comes from"
    )
    key_path: str | None = Field(
        None,
        description="dotted path inside the key or value (a struct key with one field needs none)",
    )
    on_delete: OnDelete = Field(OnDelete.DELETE, description="delete, hard_delete or ignore")
    fields: dict[str, str | None] = Field(
        default_factory=dict, description="source field -> Salesforce field; null drops it"
    )
    pass_unmapped: bool = Field(
        default=False, description="also send source fields not in `fields`, by their own name"
    )
    constants: dict[str, str] = Field(
        default_factory=dict, description="Salesforce field -> value set on every upsert"
    )
    relationships: dict[str, str] = Field(
        default_factory=dict,
        description="source field -> relationship column, e.g. Account.ExternalKey__c",
    )
    coerce: dict[str, SalesforceType] = Field(
        default_factory=dict, description="Salesforce field -> type its values are checked as"
    )
    group_by: str | None = Field(
        None, description="Salesforce field or relationship column to sort rows by in a job"
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.topic is None) == (self.topic_pattern is None):
            raise ValueError("set exactly one of `topic` or `topic_pattern`")
        if self.topic_pattern is not None:
            re.compile(self.topic_pattern)
        for column in self.relationships.values():
            if column.count(".") != 1:
                raise ValueError(f"relationship column {column!r} must be Relationship.Field")
        return self

    def matches(self, topic: str) -> bool:
        """Whether records of `topic` follow this route."""
        if self.topic is not None:
            return topic == self.topic
        return re.fullmatch(self.topic_pattern or "", topic) is not None


class BatchingSettings(_Frozen):
    """The flush bounds, the memory bound, and the retry budget."""

    max_records: int = Field(
        100_000,
        ge=1,
        le=150_000_000,
        description="rows per job (big jobs spend fewer API calls and Bulk batches)",
    )
    max_bytes: int = Field(
        50 * 2**20,
        ge=1024,
        le=100 * 2**20,
        description="memory a job's rows hold while buffered, at most 0.7 of "
        "max_buffered_bytes (uploads are split at 150 MB)",
    )
    max_age_seconds: float = Field(5.0, gt=0, description="the time bound of a batch")
    backlog_max_age_seconds: float | None = Field(
        None,
        gt=0,
        description="the time bound of a batch while a backlog waits in Kafka (its records "
        "are late already; fuller jobs spend fewer API calls); at least max_age_seconds, "
        "which it defaults to if that is above 30",
    )
    max_buffered_bytes: int = Field(
        64 * 2**20, ge=2**20, description="memory bound: above it the consumer pauses"
    )
    spool_dir: Path | None = Field(
        None,
        description="where buffered records' bytes wait on disk for a possible dead letter, "
        "and running jobs' rows for a retry (unlinked files, gone with the process; default "
        "the system's temp directory)",
    )
    max_spool_bytes: int = Field(
        2**30,
        ge=8 * 2**20,
        description="disk bound of that spool (records not yet committed, by whole "
        "segments of an eighth of it, at most 8 MiB): above it the consumer pauses",
    )
    max_in_flight: int = Field(4, ge=1, le=64, description="Bulk jobs running at once")
    retry_attempts: int = Field(5, ge=0, description="retries of a retriable row error")
    retry_backoff_seconds: float = Field(2.0, gt=0, description="first retry delay, doubled")

    @model_validator(mode="after")
    def _check(self) -> Self:
        backlog = self.backlog_max_age_seconds
        if backlog is not None and backlog < self.max_age_seconds:
            raise ValueError(
                f"backlog_max_age_seconds ({backlog:g}) is less than max_age_seconds "
                f"({self.max_age_seconds:g}): a backlog's batches would wait less than live ones"
            )
        return self

    @property
    def backlog_max_age(self) -> float:
        """The time bound of a batch while catching up: as set, else 30 s or max age."""
        if self.backlog_max_age_seconds is not None:
            return self.backlog_max_age_seconds
        return max(30.0, self.max_age_seconds)


class AvroSettings(_Frozen):
    """Where Avro writer schemas come from: a schema registry, else local .avsc files."""

    registry_url: str | None = Field(
        None, description="Confluent-compatible registry, e.g. http://registry:8081"
    )
    registry_user_info: SecretStr | None = Field(
        None, description="basic auth user:password (or registry_user_info_file)"
    )
    registry_user_info_file: Path | None = Field(
        None, description="or a file holding registry_user_info"
    )
    registry_timeout_seconds: float = Field(10.0, gt=0, description="per registry call")
    schemas_dir: Path = Field(Path("schemas"), description="where local .avsc files live")
    schema_files: dict[str, str] = Field(
        default_factory=dict, description="subject -> .avsc file, without a registry"
    )

    @model_validator(mode="before")
    @classmethod
    def _read_file(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("registry_user_info_file"):
            path = Path(data["registry_user_info_file"])
            try:
                return {**data, "registry_user_info": path.read_text().strip()}
            except OSError as exc:
                raise ValueError(
                    f"cannot read registry_user_info_file {path}: {exc.strerror}"
                ) from None
        return data


class DeadLetterSettings(_Frozen):
    """Where records that cannot be written go, with the reason."""

    topic: str = Field(description="the dead-letter topic")
    create: bool = Field(default=True, description="create the topic at start if missing")


class MetricsSettings(_Frozen):
    """The HTTP endpoint for /metrics, /healthz and /readyz."""

    host: str = Field("127.0.0.1", description="the address to listen on; 0.0.0.0 in a container")
    port: int = Field(9464, ge=0, le=65535, description="0 picks a free port")


class LogFormat(StrEnum):
    """How log lines are written."""

    TEXT = "text"
    JSON = "json"


class LoggingSettings(_Frozen):
    """The service's log: text for people, JSON lines for a log pipeline."""

    format: LogFormat = Field(LogFormat.TEXT, description="text or json (one object per line)")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="the lowest level written"
    )


class Config(_Frozen):
    """Everything `sfsink run` needs."""

    kafka: KafkaSettings
    salesforce: SalesforceSettings
    routes: tuple[Route, ...] = Field(min_length=1)
    batching: BatchingSettings = BatchingSettings()
    avro: AvroSettings = AvroSettings()
    dead_letter: DeadLetterSettings
    metrics: MetricsSettings = MetricsSettings()
    logging: LoggingSettings = LoggingSettings()

    def route_for(self, topic: str) -> Route | None:
        """The first route that matches `topic`."""
        return next((route for route in self.routes if route.matches(topic)), None)


def load_config(path: Path, environ: Mapping[str, str]) -> Config:
    """Read, override and validate; every problem is a ConfigError naming its key."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of sections (kafka, salesforce, ...)")
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and "__" in name:
            _override(raw, name, value)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path)) from None


def _override(raw: dict[str, object], name: str, value: str) -> None:
    parts = name.removeprefix(ENV_PREFIX).lower().split("__")
    node: object = raw
    for depth, part in enumerate(parts[:-1]):
        child = _child(node, part)
        if child is None:
            child = [] if parts[depth + 1].isdigit() else {}
            _set(node, part, child)
        node = child
    last = parts[-1]
    if parts[:-1] == ["kafka", "consumer"]:
        last = last.replace("_", ".")
    _set(node, last, value.split(",") if last == "topics" else value)


def _child(node: object, part: str) -> object:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def _set(node: object, part: str, value: object) -> None:
    if isinstance(node, dict):
        node[part] = value
    elif isinstance(node, list) and part.isdigit():
        index = int(part)
        node.extend({} for _ in range(index + 1 - len(node)))
        node[index] = value
    else:
        raise ConfigError(f"SFSINK_ override: cannot set {part!r} inside a {type(node).__name__}")


def _explain(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s)"]
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "missing: add it to the file or set SFSINK_" + where.upper().replace(
                ".", "__"
            )
        elif error["type"] == "extra_forbidden":
            message = "unknown key: remove it or check its spelling"
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)
