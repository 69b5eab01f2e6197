"""docs/configuration.md is what connector/config_reference.py makes of the config model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from connector import config_reference
from connector.config import BatchingSettings, Config

ROOT = Path(__file__).resolve().parents[2]


def test_committed_reference_is_fresh() -> None:
    """A key added, removed or redescribed in config.py without `make docs` fails here."""
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == config_reference.render(), "stale: run `make docs` and commit"


def test_every_key_is_in_the_reference_with_its_default() -> None:
    """Each key of every section has a row; defaults are the model's."""
    text = config_reference.render()
    for name in Config.model_fields:
        assert f"`{name}" in text
    for name, field in BatchingSettings.model_fields.items():
        assert f"| `batching.{name}` |" in text
        assert f"`{field.default}`" in text or field.default is None
    assert "| `salesforce.auth.private_key_file` | path | — |" in text
    assert "| `routes[].sobject` | string | **required** |" in text
    assert "- `jwt`: client_id, username, private_key" in text


def test_a_key_without_a_description_stops_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    """An undocumented key cannot reach the reference as an empty cell."""
    fields = dict(BatchingSettings.model_fields)
    fields["max_records"] = Field(10_000)
    monkeypatch.setattr(BatchingSettings, "model_fields", fields)
    with pytest.raises(ValueError, match=r"batching\.max_records has no description"):
        config_reference.render()
