"""Debezium Avro through the real schema registry, topics found by a regex, hard deletes."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.serialization import MessageField, SerializationContext

from connector.config import Config
from tests.integration.pipeline.conftest import Sink, wait_until
from tests.support.avro import AvroProducer, account, envelope, unwrapped_schema

FIELDS = {
    "name": "Name",
    "employees": "NumberOfEmployees",
    "rating": "Score__c",
    "active": "Active__c",
    "founded": "Founded__c",
    "created_at": "LastSyncedAt__c",
    "annual_revenue": "AnnualRevenue",
    "phone": "Phone",
    "website": "Website",
}


def create_topics(bootstrap: str, *names: str) -> None:
    """Create topics now, one partition each, and wait until the broker has them."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        future.result(30)


def reconfigure(sink: Sink, kafka: dict[str, Any], route: dict[str, Any]) -> None:
    """Replace the sink's topics and its Account route's source side."""
    data = sink.config.model_dump(exclude_none=True)
    data["kafka"] = {**data["kafka"], **kafka}
    data["kafka"].pop("topics")
    data["routes"][0].pop("topic")
    data["routes"][0].update(route)
    sink.config = Config.model_validate(data)


def committed_on(sink: Sink, topics: list[str]) -> int:
    """Committed offsets summed over several topics, -1 while any has none."""
    counts = [sink.committed(topic) for topic in topics]
    return -1 if min(counts) < 0 else sum(counts)


def test_debezium_avro_through_the_registry_on_regex_topics(
    sink_factory, emulator, kafka_bootstrap, schema_registry
) -> None:
    """Envelopes and unwrapped rows in Avro: upserts with logical types, three delete shapes.

    The topics are found by a pattern, including one created while the connector runs.
    """
    prefix = f"crm{uuid.uuid4().hex[:8]}"
    envelopes, rows, late = (f"{prefix}.public.account{s}" for s in ("", "_flat", "_late"))
    create_topics(kafka_bootstrap, envelopes, rows)
    sink = sink_factory(route={"pass_unmapped": False, "fields": FIELDS})
    pattern = rf"{prefix}\.public\..*"
    reconfigure(
        sink,
        {
            "topic_pattern": pattern,
            "consumer": {
                **sink.config.kafka.consumer,
                "topic.metadata.refresh.interval.ms": 1000,
            },
        },
        {"topic_pattern": pattern, "format": "avro"},
    )
    sink.config = sink.config.model_copy(
        update={"avro": sink.config.avro.model_copy(update={"registry_url": schema_registry})}
    )
    cdc = AvroProducer(kafka_bootstrap, schema_registry, envelopes)
    cdc.send(1, envelope("r", None, account(1, "One")))
    cdc.send(2, envelope("c", None, account(2, "Two")))
    cdc.send(3, envelope("c", None, account(3, "Three")))
    cdc.send(1, envelope("u", account(1, "One"), {**account(1, "One!"), "phone": "555-0101"}))
    cdc.flush()
    flat = AvroProducer(kafka_bootstrap, schema_registry, rows, unwrapped_schema())
    flat.send(4, {**account(4, "Four"), "__deleted": "false"})
    flat.send(5, {**account(5, "Five"), "__deleted": "false"})
    flat.flush()
    sink.start()
    wait_until(lambda: committed_on(sink, [envelopes, rows]) == 6, what="the creates final")
    assert len(emulator.admin.live("Account")) == 5

    cdc.send(2, envelope("d", account(2, "Two"), None))
    cdc.send(2, None)
    cdc.send(3, None)
    cdc.flush()
    flat.send(5, {**account(5, "Five"), "__deleted": "true"})
    flat.flush()
    wait_until(lambda: committed_on(sink, [envelopes, rows]) == 10, what="the deletes final")
    create_topics(kafka_bootstrap, late)
    later = AvroProducer(kafka_bootstrap, schema_registry, late)
    later.send(6, envelope("c", None, account(6, "Six")))
    later.flush()
    wait_until(lambda: sink.committed(late) == 1, timeout=60, what="the new topic found")
    sink.stop_and_join()

    org = {r["ExternalKey__c"]: r for r in emulator.admin.records("Account")}
    assert {k for k, r in org.items() if not r["IsDeleted"]} == {"1", "4", "6"}
    assert {k for k, r in org.items() if r["IsDeleted"]} == {"2", "3", "5"}
    one = org["1"]
    assert (one["Name"], one["Phone"], one["Website"]) == ("One!", "555-0101", None)
    assert one["NumberOfEmployees"] == 42
    assert one["Score__c"] == 4.5
    assert one["Active__c"] is True
    assert one["Founded__c"] == "2022-01-08"
    assert one["LastSyncedAt__c"].startswith("2023-11-14T22:13:20")
    assert one["AnnualRevenue"] == 1234567.89  # the decimal as sent, never through a float
    assert sink.dead_letters(1, timeout=2) == []


def test_a_hard_delete_route_skips_the_recycle_bin(sink_factory, emulator) -> None:
    """on_delete: hard_delete removes the record outright; an ignore route leaves it."""
    sink = sink_factory(
        route={"on_delete": "hard_delete"},
        extra_routes=({"sobject": "Account", "external_id": "ExternalKey__c",
                       "pass_unmapped": True, "on_delete": "ignore"},),
    )  # fmt: skip
    kept = sink.config.routes[1].topic
    sink.produce([("h1", {"Name": "Gone"}), ("h2", {"Name": "Stays"})])
    sink.produce([("i1", {"Name": "Ignored delete"})], topic=kept)
    sink.start()
    wait_until(lambda: sink.committed() == 2, what="the creates final")
    wait_until(lambda: sink.committed(kept) == 1, what="the other create final")
    sink.produce([("h1", None)])
    sink.produce([("i1", None)], topic=kept)
    wait_until(lambda: sink.committed() == 3, what="the hard delete final")
    wait_until(lambda: sink.committed(kept) == 2, what="the ignored delete final")
    sink.stop_and_join()
    keys = {r["ExternalKey__c"]: r["IsDeleted"] for r in emulator.admin.records("Account")}
    assert keys == {"h2": False, "i1": False}
    ignored = sink.registry.get_sample_value(
        "sfsink_records_applied_total", {"object": "Account", "operation": "ignore"}
    )
    assert ignored == 1


def test_poison_records_are_dead_lettered_and_the_stream_goes_on(
    sink_factory, emulator, schema_registry
) -> None:
    """Unknown schema id, wrong magic byte, no key, an uncoercible value: each dead-lettered."""
    typed = {"sobject": "Account", "external_id": "ExternalKey__c", "pass_unmapped": True,
             "coerce": {"NumberOfEmployees": "int"}}  # fmt: skip
    sink = sink_factory(
        route={"format": "avro", "pass_unmapped": False, "fields": FIELDS},
        extra_routes=(typed,),
    )
    sink.config = sink.config.model_copy(
        update={"avro": sink.config.avro.model_copy(update={"registry_url": schema_registry})}
    )
    json_topic = sink.config.routes[1].topic
    cdc = AvroProducer(sink.bootstrap, schema_registry, sink.topic)
    cdc.send(1, envelope("c", None, account(1, "Before the poison")))
    cdc.flush()
    unknown_id = b"\x00" + (987_654).to_bytes(4, "big") + b"\x02"
    sink.produce([({"id": 2}, unknown_id), ({"id": 3}, {"name": "JSON on Avro"})])
    cdc.send(4, envelope("c", None, account(4, "After the poison")))
    cdc.producer.produce(sink.topic, key=None, value=cdc.value(
        envelope("c", None, account(5, "No key")),
        SerializationContext(sink.topic, MessageField.VALUE),
    ))  # fmt: skip
    cdc.flush()
    sink.produce(
        [("j1", {"Name": "Counted", "NumberOfEmployees": "many"}), ("j2", {"Name": "Fine"})],
        topic=json_topic,
    )
    sink.start()
    wait_until(lambda: sink.committed() == 5, what="the Avro topic final")
    wait_until(lambda: sink.committed(json_topic) == 2, what="the JSON topic final")
    sink.stop_and_join()

    assert {r["ExternalKey__c"] for r in emulator.admin.live("Account")} == {"1", "4", "j2"}
    letters = {
        (dict(m.headers())["__connect.errors.topic"].decode(),
         int(dict(m.headers())["__connect.errors.offset"])): dict(m.headers())
        for m in sink.dead_letters(4)
    }  # fmt: skip
    expected = {
        (sink.topic, 1): (b"unknown_schema", b"VALUE_CONVERTER", b"987654"),
        (sink.topic, 2): (b"bad_framing", b"VALUE_CONVERTER", b"magic byte"),
        (sink.topic, 4): (b"missing_key", b"TRANSFORMATION", b"key"),
        (json_topic, 0): (b"bad_value", b"TRANSFORMATION", b"NumberOfEmployees"),
    }
    assert set(letters) == set(expected)
    for where, (reason, stage, mentioned) in expected.items():
        headers = letters[where]
        assert headers["sfsink.errors.reason"] == reason, where
        assert headers["__connect.errors.stage"] == stage, where
        assert mentioned in headers["__connect.errors.exception.message"], where
        assert headers["__connect.errors.exception.class.name"].startswith(b"connector.errors.")
