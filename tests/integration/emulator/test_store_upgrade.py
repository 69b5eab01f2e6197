"""An org file written under an older object definition opens under the newer one."""

from __future__ import annotations

from pathlib import Path

from emulator import schema
from emulator.store import Store, insert_many, now_stamp

OLD = """
Account:
  label: Account
  keyPrefix: "001"
  fields:
    Name: {type: string, length: 255, required: true}
"""
NEW = OLD + "    Rating: {type: picklist, values: [Hot, Cold]}\n"


def test_fields_added_to_the_definition_are_added_to_an_existing_org(tmp_path: Path) -> None:
    """A devstack's org.db from last week must not crash jobs that write this week's fields."""
    (tmp_path / "old.yaml").write_text(OLD)
    (tmp_path / "new.yaml").write_text(NEW)
    Store(tmp_path / "org.db", schema.load(tmp_path / "old.yaml")).close()
    newer = schema.load(tmp_path / "new.yaml")
    store = Store(tmp_path / "org.db", newer)
    account = newer.objects["Account"]
    [record_id] = store.new_ids(account, 1)
    stamp = now_stamp()
    columns = ["Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp"]
    with store.transaction() as db:
        insert_many(
            db,
            account,
            [*columns, "Name", "Rating"],
            [[record_id, 0, stamp, stamp, stamp, "Acme", "Hot"]],
        )
    assert store.get(account, record_id)["Rating"] == "Hot"  # type: ignore[index]
    store.close()
