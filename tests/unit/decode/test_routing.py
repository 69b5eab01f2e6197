"""decoder_for: each topic is read in its route's format; the package surface is pinned."""

from __future__ import annotations

import json

import pytest

import connector.decode
from connector.config import Config
from connector.decode import decoder_for
from connector.errors import DecodeError

ROW = {"type": "record", "name": "Row", "fields": [{"name": "id", "type": "long"}]}


def config() -> Config:
    """Two routes: `json.t` in JSON, `avro.t` in Avro."""
    route = {"sobject": "Account", "external_id": "Key__c"}
    return Config.model_validate(
        {
            "kafka": {"consumer": {"bootstrap.servers": "x:1", "group.id": "g"}, "topics": ["a"]},
            "salesforce": {
                "login_url": "https://login.example.test",
                "auth": {"flow": "client_credentials", "client_id": "a", "client_secret": "b"},
            },
            "routes": [
                {**route, "topic": "json.t", "format": "json"},
                {**route, "topic": "avro.t", "format": "avro"},
            ],
            "dead_letter": {"topic": "dlq"},
        }
    )


def test_avro_route_reads_avro_with_local_schemas(schema_dir, record, avro_frame):
    """Without a registry, an Avro route's writer schema is the subject's .avsc file."""
    decoder = decoder_for(config(), schemas_dir=schema_dir("avro.t-value", ROW))
    event = decoder.decode(record(avro_frame(ROW, {"id": 4}), topic="avro.t"))
    assert dict(event.fields) == {"id": 4}


def test_json_route_reads_json(record, tmp_path):
    """A JSON route reads JSON values."""
    decoder = decoder_for(config(), schemas_dir=tmp_path)
    event = decoder.decode(record(json.dumps({"id": 4}).encode(), topic="json.t"))
    assert dict(event.fields) == {"id": 4}


def test_avro_route_rejects_json(record, tmp_path):
    """JSON bytes on an Avro route are rejected by framing, never guessed at."""
    decoder = decoder_for(config(), schemas_dir=tmp_path)
    with pytest.raises(DecodeError, match="magic byte"):
        decoder.decode(record(b'{"id": 4}', topic="avro.t"))


def test_public_surface_is_pinned():
    """The package exports exactly these names."""
    assert sorted(connector.decode.__all__) == [
        "AvroDecoder",
        "Decoder",
        "JsonDecoder",
        "LocalSchemas",
        "RegistrySettings",
        "RoutedDecoder",
        "SchemaRegistry",
        "decoder_for",
    ]
