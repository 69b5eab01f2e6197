"""Every dead-letter reason the code can give has its series from the start."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from connector.deadletter import REASONS
from connector.metrics import Metrics

CONNECTOR = Path(__file__).resolve().parents[2] / "connector"
# A reason is the first argument of DecodeError/MappingError, or a RowFailure's reason.
_RAISED = re.compile(r"(?:DecodeError|MappingError)\(\s*\"([a-z_]+)\"")
_ROW = re.compile(r"reason(?::\s*str)?\s*=\s*\"([a-z_]+)\"")


def test_the_list_holds_every_reason_in_the_code() -> None:
    """A new reason added in the code without the list would be invisible to rate()."""
    found: set[str] = set()
    for path in CONNECTOR.rglob("*.py"):
        text = path.read_text()
        found |= set(_RAISED.findall(text)) | set(_ROW.findall(text))
    assert found, "the scan found no reasons at all"
    assert found <= set(REASONS), sorted(found - set(REASONS))


def test_every_reason_is_exported_at_zero() -> None:
    """The first dead letter of a reason is an increase Prometheus can see."""
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    metrics.expect(["t"], [("Account", "upsert")])
    for reason in REASONS:
        value = registry.get_sample_value("sfsink_records_dead_lettered_total", {"reason": reason})
        assert value == 0.0, reason
