"""Every config the project ships passes validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted(ROOT.glob("deploy/**/sfsink*.yaml")), ids=str)
def test_shipped_config_is_valid(path: Path) -> None:
    """The file loads, with at least one route."""
    assert load_config(path, {}).routes
