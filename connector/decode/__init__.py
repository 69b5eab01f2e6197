"""Bytes → ChangeEvent: one decoder per route's value format, chosen by topic.

JSON values are read by JsonDecoder; Avro values (Confluent wire format) by AvroDecoder,
whose writer schemas come from a schema registry when one is configured, else from the
.avsc files in `schemas/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from connector.config import Config
from connector.decode.avro import AvroDecoder, SchemaSource
from connector.decode.avsc import LocalSchemas
from connector.decode.base import Decoder
from connector.decode.jsonfmt import JsonDecoder
from connector.decode.registry import RegistrySettings, SchemaRegistry
from connector.records import ChangeEvent, SourceRecord

__all__ = [
    "AvroDecoder",
    "Decoder",
    "JsonDecoder",
    "LocalSchemas",
    "RegistrySettings",
    "RoutedDecoder",
    "SchemaRegistry",
    "decoder_for",
]

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


class RoutedDecoder:
    """Decodes each record with the decoder of its topic's route (JSON when unrouted)."""

    def __init__(self, config: Config, avro: Decoder) -> None:
        self._config = config
        self._json = JsonDecoder()
        self._avro = avro
        self._by_topic: dict[str, Decoder] = {}

    def decode(self, record: SourceRecord) -> ChangeEvent:
        """The event a record carries, or DecodeError saying why there is none."""
        topic = record.position.topic
        decoder = self._by_topic.get(topic)
        if decoder is None:
            route = self._config.route_for(topic)
            avro = route is not None and route.format == "avro"
            decoder = self._by_topic[topic] = self._avro if avro else self._json
        return decoder.decode(record)


def decoder_for(
    config: Config,
    *,
    registry: RegistrySettings | None = None,
    schemas_dir: Path = SCHEMAS_DIR,
    schema_files: Mapping[str, str] | None = None,
) -> RoutedDecoder:
    """The decoder the service runs with: Avro schemas from `registry`, else local files."""
    schemas: SchemaSource = (
        SchemaRegistry(registry)
        if registry is not None
        else LocalSchemas(schemas_dir, schema_files)
    )
    return RoutedDecoder(config, AvroDecoder(schemas))
