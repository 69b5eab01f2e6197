"""Generated changes as Kafka bytes: fastavro's own encoding, and what sfsink decodes."""

from __future__ import annotations

import io
import json

import fastavro
import pytest

from connector.config import Config
from connector.decode import AvroDecoder, JsonDecoder
from connector.errors import DecodeError
from connector.generate.avroschemas import ENVELOPE, KEY, ROW, patch_role
from connector.generate.encode import AvroEncoder, JsonEncoder, source_block, transaction
from connector.generate.mix import Kind, Shape
from connector.generate.tables import TABLES, route
from connector.generate.world import Change, World
from connector.mapping import Mapper
from connector.records import Kept, Op, Position, SourceRecord
from connector.salesforce.csvio import NULL

TOPICS = {"account": "cdc.accounts", "contact": "cdc.contacts"}


def whole(numbered, change: Change) -> tuple[bytes, bytes | None]:
    """The change written by fastavro in one go, from plain datums."""
    table = change.table
    names = {"id", *table.patches[change.patch]} if change.shape is Shape.PATCH else None

    def datum() -> dict[str, object]:
        out: dict[str, object] = {"id": change.key}
        for column, pool, index in zip(table.columns, table.pools, change.row, strict=False):
            if names is None or column.source in names:
                out[column.source] = pool.values[index]
        if table.parent is not None and names is None:
            out[table.parent.column] = str(change.row[-1])
        return out

    def write(role: str, value: object) -> bytes:
        schema = fastavro.parse_schema(json.loads(numbered.tables[table.name].texts[role]))
        out = io.BytesIO(b"\x00" + numbered.ids[table.name][role].to_bytes(4, "big"))
        out.seek(5)
        fastavro.schemaless_writer(out, schema, value)
        return out.getvalue()

    key = write(KEY, {"id": change.key})
    if change.shape is Shape.TOMBSTONE:
        return key, None
    if change.shape is Shape.PATCH:
        return key, write(patch_role(change.patch), datum())
    if change.shape is Shape.ROW:
        return key, write(ROW, {**datum(), "__deleted": "true"})
    image = datum()
    deleted = change.op == "d"
    envelope = {
        "before": image if deleted else None,
        "after": None if deleted else image,
        "source": source_block(change),
        "op": change.op,
        "ts_ms": transaction(change.seq)[0],
    }
    return key, write(ENVELOPE, envelope)


def test_avro_bytes_are_what_fastavro_writes(numbered):
    """Every shape of both tables, joined from pre-written fields, equals fastavro's output."""
    encoder = AvroEncoder(numbered.tables, numbered.ids)
    seen = set()
    for change in World(9, shards=2, shard=1).changes(6000):
        if change.shape is Shape.GARBAGE:
            continue
        seen.add((change.table.name, change.shape, change.op, change.patch))
        assert encoder.encode(change) == whole(numbered, change), change
    patches = sum(len(t.patches) for t in TABLES)
    assert len(seen) == 2 * 5 + patches  # envelope c/u/d, row, tombstone, and each patch


def config(value_format: str) -> Config:
    """A config whose routes are the generator's own."""
    return Config.model_validate(
        {
            "kafka": {"consumer": {"bootstrap.servers": "x", "group.id": "g"}, "topics": ["a"]},
            "salesforce": {
                "login_url": "https://x",
                "auth": {"flow": "access_token", "access_token": "t", "instance_url": "https://x"},
            },
            "routes": [route(t, TOPICS[t.name], value_format) for t in TABLES],
            "dead_letter": {"topic": "d"},
        }
    )


@pytest.mark.parametrize(
    ("value_format", "garbage"),
    [("avro", {"bad_framing", "undecodable"}), ("json", {"undecodable"})],
)
def test_every_change_decodes_and_maps_as_its_kind_says(numbered, value_format, garbage):
    """Each change reads back and maps as its kind says.

    Upserts map every replicated column (a patch only its own), deletes delete by key,
    nulls become #N/A, undecodable values are DecodeErrors, rejects map cleanly.
    """
    if value_format == "avro":
        encoder, decoder = AvroEncoder(numbered.tables, numbered.ids), AvroDecoder(numbered)
    else:
        encoder, decoder = JsonEncoder(), JsonDecoder()
    mapper = Mapper(config(value_format))
    reasons = set()
    for offset, change in enumerate(World(6).changes(4000)):
        key, value = encoder.encode(change)
        record = SourceRecord(Position(TOPICS[change.table.name], 0, offset), key, value)
        if change.kind is Kind.UNDECODABLE:
            with pytest.raises(DecodeError) as caught:
                decoder.decode(record)
            reasons.add(caught.value.reason)
            continue
        event = decoder.decode(record)
        row = mapper.to_row(event, Kept.of(record.position, 0))
        assert row is not None
        assert row.external_id == str(change.key)
        assert event.op is (Op.DELETE if change.op == "d" else Op.UPSERT)
        if event.op is Op.DELETE:
            continue
        mapped = {c.target for c in change.table.columns if c.target is not None}
        if change.shape is Shape.PATCH:
            names = change.table.patches[change.patch]
            mapped = {c.target for c in change.table.columns if c.source in names and c.target}
        elif change.table.parent is not None:
            mapped.add(change.table.parent.target)
        assert set(row.fields) == {*mapped, change.table.external_id}
        table = change.table
        nulled = {
            column.target
            for column, pool, index in zip(table.columns, table.pools, change.row, strict=False)
            if column.target in mapped and pool.values[index] is None
        }
        assert {name for name, text in row.fields.items() if text == NULL} == nulled
    assert reasons == garbage  # a truncated body, and bytes in the wrong format
