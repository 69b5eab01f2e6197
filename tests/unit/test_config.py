"""Config loading: YAML, SFSINK_ overrides, secrets from files, errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import AuthFlow, OnDelete, load_config
from connector.errors import ConfigError

VALID = """
kafka:
  consumer: {bootstrap.servers: "127.0.0.1:9092", group.id: sfsink}
  topics: [cdc.accounts]
salesforce:
  login_url: https://login.example.test
  auth: {flow: client_credentials, client_id: app, client_secret: s3cr3t-value}
routes:
  - topic: cdc.accounts
    sobject: Account
    external_id: ExternalKey__c
    fields: {name: Name, internal_note: null}
dead_letter: {topic: sfsink.dlq}
"""


def write(tmp_path: Path, text: str) -> Path:
    """The config text as a file."""
    path = tmp_path / "sfsink.yaml"
    path.write_text(text)
    return path


def test_a_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    """Unset sections take their documented defaults."""
    config = load_config(write(tmp_path, VALID), {})
    assert config.batching.max_records == 100_000
    assert config.routes[0].on_delete is OnDelete.DELETE
    assert config.route_for("cdc.accounts") is config.routes[0]
    assert config.route_for("other") is None


def test_environment_overrides_nested_keys(tmp_path: Path) -> None:
    """SFSINK_A__B sets a.b; list items by index; consumer keys get their dots back."""
    env = {
        "SFSINK_BATCHING__MAX_RECORDS": "500",
        "SFSINK_ROUTES__0__SOBJECT": "Lead",
        "SFSINK_KAFKA__CONSUMER__SECURITY_PROTOCOL": "SASL_SSL",
        "SFSINK_KAFKA__TOPICS": "a,b",
        "SFSINK_ROUTES__0__TOPIC": "a",
        "UNRELATED": "x",
    }
    config = load_config(write(tmp_path, VALID), env)
    assert config.batching.max_records == 500
    assert config.routes[0].sobject == "Lead"
    assert config.kafka.consumer["security.protocol"] == "SASL_SSL"
    assert config.kafka.topics == ("a", "b")


def test_secrets_are_read_from_files_and_never_printed(tmp_path: Path) -> None:
    """A *_file secret is read; the config's repr does not show any secret."""
    (tmp_path / "secret").write_text("from-file-secret\n")
    text = VALID.replace("client_secret: s3cr3t-value", f"client_secret_file: {tmp_path}/secret")
    config = load_config(write(tmp_path, text), {})
    secret = config.salesforce.auth.client_secret
    assert secret is not None
    assert secret.get_secret_value() == "from-file-secret"
    assert "from-file-secret" not in repr(config)
    assert config.salesforce.auth.flow is AuthFlow.CLIENT_CREDENTIALS


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("sobject: Account", ""),
            "routes.0.sobject: missing: add it to the file or set SFSINK_ROUTES__0__SOBJECT",
        ),
        (
            ("topics: [cdc.accounts]", "topics: [a]\n  topic_pattern: b"),
            "kafka: set exactly one of `topics` or `topic_pattern`",
        ),
        (
            ("group.id: sfsink", "group.id: sfsink, enable.auto.commit: true"),
            "remove ['enable.auto.commit'] from `consumer`",
        ),
        (
            ("client_secret: s3cr3t-value", "client_secrt: s3cr3t-value"),
            "salesforce.auth.client_secrt: unknown key",
        ),
    ],
)
def test_errors_name_the_key_and_the_fix(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    """Each mistake is reported with the key path and what to do."""
    text = VALID.replace(*change)
    assert text != VALID
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), {})
    assert expected in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)


def test_auth_flow_requirements_are_checked(tmp_path: Path) -> None:
    """The jwt flow without a private key names what is missing."""
    text = VALID.replace(
        "{flow: client_credentials, client_id: app, client_secret: s3cr3t-value}",
        "{flow: jwt, client_id: app, username: u@example.test}",
    )
    with pytest.raises(ConfigError, match="the jwt flow needs private_key"):
        load_config(write(tmp_path, text), {})


def test_unreadable_or_malformed_files_are_config_errors(tmp_path: Path) -> None:
    """A missing file, bad YAML and a non-mapping each give a ConfigError."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.yaml", {})
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "kafka: [unclosed"), {})
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(write(tmp_path, "- a list"), {})
    assert issubclass(ConfigError, ValueError)
