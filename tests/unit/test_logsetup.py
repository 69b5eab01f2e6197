"""Log lines are text by default and JSON objects, one per line, on request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.config import Config, LogFormat, load_config
from connector.logsetup import configure_logging

MINIMAL = """
kafka: {consumer: {bootstrap.servers: "127.0.0.1:9", group.id: g}, topics: [t]}
salesforce:
  login_url: https://login.example.com
  auth: {flow: access_token, access_token: x, instance_url: https://org.example.com}
routes: [{topic: t, sobject: Account, external_id: ExternalKey__c}]
dead_letter: {topic: dlq}
"""


@pytest.fixture
def root_handlers() -> Iterator[None]:
    """Put the root logger back as it was after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def config(tmp_path: Path, environ: dict[str, str]) -> Config:
    """The minimal config with these SFSINK_ overrides."""
    path = tmp_path / "sfsink.yaml"
    path.write_text(MINIMAL)
    return load_config(path, environ)


def test_text_is_the_default_and_json_is_one_env_variable_away(tmp_path) -> None:
    """SFSINK_LOGGING__FORMAT=json switches the format; the level has its own key."""
    assert config(tmp_path, {}).logging.format is LogFormat.TEXT
    chosen = config(tmp_path, {"SFSINK_LOGGING__FORMAT": "json", "SFSINK_LOGGING__LEVEL": "DEBUG"})
    assert chosen.logging.format is LogFormat.JSON
    assert chosen.logging.level == "DEBUG"


@pytest.mark.usefixtures("root_handlers")
def test_json_lines_parse_and_carry_level_logger_and_message(tmp_path, capsys) -> None:
    """Each line is one JSON object; an exception is one field, not extra lines."""
    configure_logging(config(tmp_path, {"SFSINK_LOGGING__FORMAT": "json"}).logging)
    log = logging.getLogger("connector.test")
    log.info("job %s: %d applied", "750A", 3)
    log.debug("not written at INFO")
    try:
        raise ValueError("boom")  # noqa: TRY301 - an exception to log
    except ValueError:
        log.exception("failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "job 750A: 3 applied"
    assert (first["level"], first["logger"]) == ("INFO", "connector.test")
    assert "timestamp" in first
    assert "ValueError: boom" in second["exc_info"]


@pytest.mark.usefixtures("root_handlers")
def test_text_lines_are_for_people(tmp_path, capsys) -> None:
    """The default format: time, level, logger, message."""
    configure_logging(config(tmp_path, {}).logging)
    logging.getLogger("connector.test").warning("slow down")
    line = capsys.readouterr().err.strip()
    assert line.endswith(" WARNING connector.test slow down")
