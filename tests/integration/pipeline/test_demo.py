"""`make demo`'s driver on the session's broker, registry and emulator, at a small size."""

from __future__ import annotations

import uuid

from demo import Options, Stack, run

from devstack import free_port


def test_the_demo_catches_up_and_finds_the_org_as_expected(  # noqa: PLR0913, PLR0917 - fixtures
    kafka_bootstrap, kafka_admin, schema_registry, emulator, tmp_path, capsys
):
    """The demo produces, replicates, reports, and the org matches the generator's state."""
    suffix = uuid.uuid4().hex[:8]
    accounts, contacts, dlq = (f"demo-{name}-{suffix}" for name in ("accounts", "contacts", "dlq"))
    overrides = {
        "SFSINK_KAFKA__TOPICS": f"{accounts},{contacts}",
        "SFSINK_ROUTES__0__TOPIC": accounts,
        "SFSINK_ROUTES__1__TOPIC": contacts,
        "SFSINK_DEAD_LETTER__TOPIC": dlq,
        "SFSINK_KAFKA__CONSUMER__GROUP_ID": f"demo-{suffix}",
        "SFSINK_BATCHING__MAX_AGE_SECONDS": "0.5",
    }
    stack = Stack(
        bootstrap=kafka_bootstrap,
        registry_url=schema_registry,
        emulator_url=emulator.base_url,
        ca_file=emulator.ca_path,
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
    )
    options = Options(
        count=3000,
        partitions=2,
        metrics_port=free_port(),
        timeout=300,
        state=tmp_path,
        overrides=overrides,
    )
    try:
        code = run(stack, options)
    finally:
        for future in kafka_admin.delete_topics([accounts, contacts, dlq]).values():
            future.result(timeout=30)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "org check       MATCH" in report
    assert "events in       3,000 produced" in report
    for section in ("written", "dead-lettered", "bulk jobs", "api calls", "metrics"):
        assert section in report
    assert "Account upsert" in report
    assert (tmp_path / "metrics.txt").read_text().count("sfsink_records_applied_total") > 1
