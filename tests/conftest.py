"""Session-wide real dependencies: an Apache Kafka broker and the Salesforce emulator.

Set SFSINK_TEST_BOOTSTRAP=host:port to run against a broker you already have; otherwise
the session starts a private one on free ports under pytest's temporary directory. A
broker that cannot be had fails the run: integration tests never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from devstack import KafkaBroker, free_port
from emulator.org import Settings
from emulator.schema import default_path
from emulator.server import EmulatorServer, Listen
from tests.support.emulator import EmulatorAdmin, EmulatorHandle, jwt_key_pair


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bootstrap address of a running Apache Kafka broker."""
    given = os.environ.get("SFSINK_TEST_BOOTSTRAP")
    if given:
        metadata = AdminClient({"bootstrap.servers": given}).list_topics(timeout=10)
        assert metadata.brokers, f"SFSINK_TEST_BOOTSTRAP={given} has no brokers"
        yield given
        return
    broker = KafkaBroker(
        home=tmp_path_factory.mktemp("kafka"), port=free_port(), controller_port=free_port()
    )
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    """An admin client on the session's broker."""
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def topic_factory(kafka_admin: AdminClient) -> Iterator[object]:
    """Creates fresh, uniquely named topics; deletes them after the test."""
    created: list[str] = []

    def make(partitions: int = 1) -> str:
        name = f"test-{uuid.uuid4().hex[:12]}"
        futures = kafka_admin.create_topics([NewTopic(name, partitions, 1)])
        futures[name].result(timeout=30)
        created.append(name)
        return name

    yield make
    if created:
        for future in kafka_admin.delete_topics(created).values():
            future.result(timeout=30)


@pytest.fixture
def topic(topic_factory) -> str:
    """A fresh single-partition topic for this test alone."""
    return topic_factory()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """A Salesforce emulator serving HTTPS on 127.0.0.1, in a thread, for the whole session.

    Tests share it: call `emulator.admin.reset()` first when a test needs an empty org.
    """
    home = tmp_path_factory.mktemp("emulator")
    private_key, certificate = jwt_key_pair(home)
    settings = Settings(
        db=home / "org.db", objects=default_path(), jwt_public_key=certificate.read_bytes()
    )
    server = EmulatorServer(settings, Listen(host="127.0.0.1", port=0))
    server.start()
    assert server.tls is not None
    try:
        yield EmulatorHandle(
            base_url=server.base_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            ca_path=server.tls.ca,
            jwt_private_key=private_key,
            admin=EmulatorAdmin(server.base_url, server.tls.ca),
        )
    finally:
        server.stop()
