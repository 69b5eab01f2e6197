"""The org a generated stream should leave behind, and how it differs from the real one.

The expected state lists, per Salesforce object and per external id, the value of
every replicated field as the org answers with it, or null when the record must not
exist (deleted at the source, or refused by Salesforce on its only write). Records the
org holds that the state does not list are differences too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from connector.generate.tables import TABLES, Table

Fields = Mapping[str, object]
_SHOWN = 20  # differences listed before the rest are only counted


@dataclass(frozen=True, slots=True)
class ExpectedState:
    """Per object, per external id: the fields, or None for a record that must be absent."""

    objects: Mapping[str, Mapping[str, Fields | None]]

    def write(self, path: Path) -> None:
        """Save as JSON."""
        with path.open("w", encoding="utf-8") as out:
            json.dump(self.objects, out, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def read(cls, path: Path) -> ExpectedState:
        """Load what `write` saved."""
        with path.open(encoding="utf-8") as source:
            return cls(json.load(source))

    def present(self, sobject: str) -> int:
        """How many records of `sobject` must exist."""
        return sum(1 for fields in self.objects.get(sobject, {}).values() if fields is not None)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing an org with the expected state."""

    checked: int
    differences: int
    shown: tuple[str, ...]

    @property
    def matches(self) -> bool:
        """Whether the org is exactly the expected state."""
        return self.differences == 0


def org_row(table: Table, row: Sequence[int]) -> dict[str, object]:
    """A simulated row's replicated fields as the org answers with them."""
    fields = {
        column.target: pool.org[index]
        for column, pool, index in zip(table.columns, table.pools, row, strict=False)
        if column.target is not None
    }
    if table.parent is not None:
        fields[table.parent.target] = str(row[-1])
    return fields


def compare(
    expected: ExpectedState,
    records: Mapping[str, Sequence[Mapping[str, object]]],
    tables: Sequence[Table] = TABLES,
) -> Comparison:
    """Compare the org's records (every record per object, IsDeleted included) with `expected`."""
    found: list[str] = []
    checked = 0
    by_name = {table.name: table for table in tables}
    for table in tables:
        parent_keys: Mapping[object, object] = {}
        if table.parent is not None:
            parent = by_name[table.parent.table]
            parent_keys = {r["Id"]: r[parent.external_id] for r in records[parent.sobject]}
        want = expected.objects.get(table.sobject, {})
        live = {str(r[table.external_id]): r for r in records[table.sobject] if not r["IsDeleted"]}
        for key, fields in want.items():
            checked += 1
            found += _differences(table, key, fields, live.get(key), parent_keys)
        found += [f"{table.sobject} {key}: in the org, not expected" for key in live.keys() - want]
    return Comparison(checked, len(found), tuple(found[:_SHOWN]))


def _differences(
    table: Table,
    key: str,
    want: Fields | None,
    got: Mapping[str, object] | None,
    parent_keys: Mapping[object, object],
) -> list[str]:
    where = f"{table.sobject} {key}"
    if want is None:
        return [] if got is None else [f"{where}: expected absent, found {got.get('Id')}"]
    if got is None:
        return [f"{where}: missing"]
    problems = []
    for name, value in want.items():
        actual = got.get(name)
        if table.parent is not None and name == table.parent.target:
            actual = parent_keys.get(got.get(table.parent.id_field))
        if not _same(value, actual):
            problems.append(f"{where}: {name} is {actual!r}, expected {value!r}")
    return problems


def _same(want: object, got: object) -> bool:
    numbers = (int, float)
    if isinstance(want, numbers) and isinstance(got, numbers) and not isinstance(want, bool):
        return float(want) == float(got) and not isinstance(got, bool)
    return want == got
