"""`sfsink generate` through the real registry and broker, replicated into the emulator."""

from __future__ import annotations

from collections import Counter

from connector.decode import AvroDecoder, RegistrySettings, SchemaRegistry
from connector.errors import DecodeError
from connector.generate.expected import compare
from connector.generate.produce import Plan, Target, generate
from connector.generate.tables import ACCOUNTS, CONTACTS, route
from connector.records import Op
from tests.integration.decode.test_registry_roundtrip import consume
from tests.integration.pipeline.conftest import wait_until
from tests.support.avro import SCHEMAS


def test_generated_avro_decodes_with_sfsinks_decoder(
    kafka_bootstrap, topic_factory, schema_registry
):
    """Every record reads back through the registry as its kind says.

    Upserts, deletes (envelope, __deleted row, tombstone), and DecodeErrors for the
    undecodable ones.
    """
    topics = {"account": topic_factory(), "contact": topic_factory()}
    target = Target(kafka_bootstrap, topics, "avro", schema_registry, schemas_dir=SCHEMAS)
    outcome = generate(target, Plan(1500, seed=4, workers=2))
    assert outcome.records == 1500
    decoder = AvroDecoder(SchemaRegistry(RegistrySettings(schema_registry, timeout=5)))
    by_op: Counter[str] = Counter()
    for table in ("account", "contact"):
        sobject = "Account" if table == "account" else "Contact"
        count = sum(n for (obj, _), n in outcome.by_kind.items() if obj == sobject)
        for record in consume(kafka_bootstrap, topics[table], count):
            try:
                by_op[decoder.decode(record).op.value] += 1
            except DecodeError:
                by_op["undecodable"] += 1
    kinds = Counter()
    for (_, kind), n in outcome.by_kind.items():
        kinds[kind] += n
    assert by_op["undecodable"] == kinds["undecodable"]
    assert by_op[Op.DELETE.value] == kinds["delete"]
    assert by_op[Op.UPSERT.value] == sum(
        kinds[k] for k in ("create", "update", "sparse", "nulls", "reject")
    )


def test_the_org_ends_as_the_generator_expects(
    sink_factory, kafka_bootstrap, schema_registry, emulator
):
    """A mixed stream in Avro, replicated by the pipeline, leaves exactly the expected org.

    The refused and undecodable records are dead-lettered.
    """
    accounts = {k: v for k, v in route(ACCOUNTS, "", "avro").items() if k != "topic"}
    sink = sink_factory(
        route={**accounts, "pass_unmapped": False},
        extra_routes=(route(CONTACTS, "", "avro"),),
        partitions=2,
        avro={"registry_url": schema_registry},
        batching={"retry_backoff_seconds": 0.5},
    )
    contacts = sink.config.routes[1].topic
    assert contacts is not None
    topics = {"account": sink.topic, "contact": contacts}
    target = Target(kafka_bootstrap, topics, "avro", schema_registry, schemas_dir=SCHEMAS)
    outcome = generate(target, Plan(3000, seed=21))
    sink.start()

    def caught_up() -> bool:
        done = [sink.committed(topic, partitions=2) for topic in topics.values()]
        return min(done) >= 0 and sum(done) == outcome.records

    wait_until(caught_up, timeout=240, what="every generated record committed")
    records = {sobject: emulator.admin.records(sobject) for sobject in ("Account", "Contact")}
    comparison = compare(outcome.expected, records)
    assert comparison.matches, comparison.shown
    assert comparison.checked == sum(len(v) for v in outcome.expected.objects.values())
    refused = sum(
        n for (_, kind), n in outcome.by_kind.items() if kind in {"reject", "undecodable"}
    )
    assert refused > 0
    assert len(sink.dead_letters(refused)) == refused
