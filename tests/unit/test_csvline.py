"""A row's cells as one CSV line: rendering, reading back, merging, one header for a job."""

from __future__ import annotations

import csv
import io

import pytest

from connector import csvline


@pytest.mark.parametrize(
    "cells",
    [
        ["a", "b", "c"],
        ["Acme, Inc", "x"],
        ['say "hi"', ""],
        ["two\nlines", "cr\rhere", ","],
        ["", "", ""],
    ],
)
def test_a_line_reads_back_as_its_cells(cells: list[str]) -> None:
    """Quoting happens exactly where CSV needs it, so any cell survives the round trip."""
    line = csvline.render(cells)
    assert csvline.parse(line) == cells
    assert next(csv.reader(io.StringIO(line + "\n"))) == cells


def test_plain_cells_are_not_quoted() -> None:
    """Most rows need no quotes: the line is the plain join."""
    assert csvline.render(["1", "Acme", "2024-01-02"]) == "1,Acme,2024-01-02"
    assert csvline.render(["Acme, Inc", "x"]) == '"Acme, Inc",x'


def test_rows_of_one_shape_share_its_columns() -> None:
    """Two rows with the same columns hold one tuple between them."""
    first, _ = csvline.of({"Name": "a", "Phone": "1"})
    second, _ = csvline.of({"Name": "b", "Phone": "2"})
    assert first is second


def test_a_newer_row_covering_the_older_one_replaces_it() -> None:
    """Every field the older row set is set again: nothing of it is left."""
    older = csvline.of({"Name": "old", "Phone": "1"})
    newer = csvline.of({"Phone": "2", "Name": "new", "Fax": "3"})
    assert csvline.covers(newer[0], older[0])
    assert csvline.merge(older, newer) == newer


def test_a_sparse_row_merges_field_by_field() -> None:
    """Fields only the older row set are kept; the newer one wins where both set one."""
    older = csvline.of({"Name": "old", "Phone": "1"})
    newer = csvline.of({"Name": "new, improved"})
    assert not csvline.covers(newer[0], older[0])
    columns, line = csvline.merge(older, newer)
    assert csvline.fields(columns, line) == {"Name": "new, improved", "Phone": "1"}


def test_a_job_header_is_the_union_led_by_the_most_common_shape() -> None:
    """Lines of the common shape go through as they are; others are laid out, gaps empty."""
    full = [csvline.of({"Name": f"n{i}", "Phone": str(i), "Ext": f"k{i}"}) for i in range(3)]
    sparse = csvline.of({"Fax": "9", "Ext": "k9"})
    rows = [full[0], sparse, full[1], full[2]]
    header, made = csvline.layout([c for c, _ in rows], [line for _, line in rows])
    lines = list(made)
    assert header == ("Name", "Phone", "Ext", "Fax")
    assert lines[0] == full[0][1] + ","
    assert lines[1] == ",,k9,9"
    assert [dict(zip(header, csvline.parse(x), strict=True)) for x in lines][1] == {
        "Name": "",
        "Phone": "",
        "Ext": "k9",
        "Fax": "9",
    }


def test_shapes_are_shared_only_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sparse events of ever new column sets cannot grow the shared table without end."""
    monkeypatch.setattr(csvline, "_shapes", {})  # filled here, not for the tests after it
    for index in range(csvline._MAX_SHAPES + 10):  # noqa: SLF001 - the bound under test
        csvline.shape([f"c{index}"])
    assert len(csvline._shapes) <= csvline._MAX_SHAPES  # noqa: SLF001
    assert csvline.shape(["fresh-after-the-bound"]) == ("fresh-after-the-bound",)
