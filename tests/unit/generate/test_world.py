"""The simulated source: a deterministic mix of changes, and the org it must leave."""

from __future__ import annotations

from collections import Counter

import pytest

from connector.generate.mix import Kind, Mix, Shape
from connector.generate.world import World


def fingerprint(world: World, count: int) -> list[tuple[object, ...]]:
    """What identifies each change of a stream."""
    return [
        (c.table.name, c.kind, c.shape, c.key, None if c.row is None else tuple(c.row), c.op)
        for c in world.changes(count)
    ]


def test_a_seed_gives_the_same_stream_and_the_same_expected_org():
    """Two worlds with one seed agree change for change; another seed does not."""
    first, second = World(7), World(7)
    assert fingerprint(first, 3000) == fingerprint(second, 3000)
    assert first.expected() == second.expected()
    assert fingerprint(World(8), 3000) != fingerprint(World(7), 3000)


def test_the_default_mix_has_every_kind_and_every_delete_shape():
    """Creates, updates, sparse, nulls, rejects, undecodable, and the three delete shapes."""
    changes = list(World(1).changes(20_000))
    kinds = Counter((c.table.sobject, c.kind) for c in changes)
    for sobject in ("Account", "Contact"):
        for kind in Kind:
            assert kinds[sobject, kind] > 0, (sobject, kind)
    deletes = {c.shape for c in changes if c.kind is Kind.DELETE}
    assert deletes == {Shape.ENVELOPE, Shape.ROW, Shape.TOMBSTONE}
    enveloped = [i for i, c in enumerate(changes[:-1]) if c.op == "d" and c.shape is Shape.ENVELOPE]
    assert all(changes[i + 1].shape is Shape.TOMBSTONE for i in enveloped)


def test_changes_come_in_the_number_asked_and_go_on_where_they_stopped():
    """Taking 1,000 then 2,000 is taking 3,000."""
    whole, parts = World(3), World(3)
    assert fingerprint(parts, 1000) + fingerprint(parts, 2000) == fingerprint(whole, 3000)


def test_expected_state_follows_every_change():
    """Deleted and refused keys end absent; every other key ends with its last image."""
    world = World(11)
    last: dict[tuple[str, int], object] = {}
    refused: set[tuple[str, int]] = set()
    for change in world.changes(8000):
        where = (change.table.sobject, change.key)
        if change.kind is Kind.REJECT:
            refused.add(where)
        elif change.kind is Kind.DELETE:
            last[where] = None
        elif change.kind is not Kind.UNDECODABLE:
            last[where] = list(change.row)
    expected = world.expected().objects
    for (sobject, key), row in last.items():
        assert (expected[sobject][str(key)] is None) == (row is None)
    for sobject, key in refused:
        assert expected[sobject][str(key)] is None
    assert sum(len(rows) for rows in expected.values()) == len(last) + len(refused)


def test_deleting_an_account_first_deletes_its_contacts():
    """No contact outlives its account (ON DELETE CASCADE at the source)."""
    world = World(5, Mix(delete=0.3))
    list(world.changes(10_000))
    expected = world.expected().objects
    live_accounts = {key for key, fields in expected["Account"].items() if fields is not None}
    parents = [f["Account.ExternalKey__c"] for f in expected["Contact"].values() if f is not None]
    assert parents
    assert set(parents) <= live_accounts


def test_shards_own_disjoint_keys_and_together_make_the_count():
    """Shard i of n uses keys i+1, i+1+n, ...; no key is in two shards."""
    shards = [World(2, shard=i, shards=3) for i in range(3)]
    keys = [{(c.table.name, c.key) for c in shard.changes(2000)} for shard in shards]
    assert all(key % 3 == (i + 1) % 3 for i, owned in enumerate(keys) for _, key in owned)
    assert not keys[0] & keys[1]
    assert not keys[1] & keys[2]
    assert not keys[0] & keys[2]


def test_nulls_updates_null_columns_and_patches_carry_only_their_columns():
    """A nulls update sets nullable columns to null; a patch names one of the table's sets."""
    changes = list(World(4).changes(5000))
    nulls = [c for c in changes if c.kind is Kind.NULLS]
    assert any(0 in c.row[: len(c.table.pools)] for c in nulls)
    patches = [c for c in changes if c.shape is Shape.PATCH]
    assert all(0 <= c.patch < len(c.table.patches) for c in patches)


def test_mix_parses_weights_and_refuses_nonsense():
    """NAME=WEIGHT pairs replace the defaults; unknown names and negative weights fail."""
    mix = Mix.parse("create=1, update=0,sparse=0,nulls=0,delete=0,reject=0,undecodable=0")
    assert {c.kind for c in World(1, mix).changes(500)} == {Kind.CREATE}
    assert Mix.parse("contacts=0").contacts == 0
    with pytest.raises(ValueError, match="NAME=WEIGHT"):
        Mix.parse("creates=1")
    with pytest.raises(ValueError, match="negative"):
        Mix.parse("delete=-1")
    with pytest.raises(ValueError, match="at least one"):
        Mix(0, 0, 0, 0, 0, 0, 0)


def test_no_contacts_when_their_share_is_zero():
    """contacts=0 makes an account-only stream (the benchmark's shape)."""
    assert {c.table.sobject for c in World(1, Mix(contacts=0)).changes(2000)} == {"Account"}
