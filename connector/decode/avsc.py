"""Writer schemas from local .avsc files, for when no schema registry is configured.

Each subject (Confluent's TopicNameStrategy: `<topic>-value`, `<topic>-key`) names a
file in the schemas directory, `<subject>.avsc` unless the configuration maps it to
another. The schema id in the frame is not looked up: the file is the writer schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from connector.errors import DecodeError


class LocalSchemas:
    """Avro schemas read from `directory`, one file per subject."""

    def __init__(self, directory: Path, files: Mapping[str, str] | None = None) -> None:
        self._directory = directory
        self._files = dict(files or {})

    def writer_schema(self, schema_id: int, subject: str) -> str:  # noqa: ARG002 - the file decides
        """The text of the subject's .avsc file."""
        name = self._files.get(subject, f"{subject}.avsc")
        try:
            return (self._directory / name).read_text(encoding="utf-8")
        except OSError:
            raise DecodeError(
                "unknown_schema", f"no local Avro schema for subject {subject!r} ({name})"
            ) from None
