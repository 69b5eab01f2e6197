"""A row's fields as one CSV line, rendered once when the row is made.

A buffered row keeps its cells as a single string under a column tuple shared by every
row of the same shape: about a quarter of the memory of a dict of strings, and the job's
upload is then mostly a join. Lines are parsed back only where fields must be read: a
sparse update merging into an earlier one, or a row whose shape differs from its job's
header. Cells follow csvio's rules (comma-delimited, quoted when they hold a comma, a
quote, CR or LF); a line carries no line end.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

Columns = tuple[str, ...]

# Shared shapes and what covers what, bounded: sparse events of arbitrary column subsets
# must not grow them without end (past the bound rows keep their own tuples).
_MAX_SHAPES = 4_096
_shapes: dict[Columns, Columns] = {}
_covers: dict[tuple[Columns, Columns], bool] = {}


def shape(columns: Iterable[str]) -> Columns:
    """The one shared tuple for these columns, so rows of a shape hold no copy of it."""
    wanted = tuple(columns)
    known = _shapes.get(wanted)
    if known is not None:
        return known
    if len(_shapes) < _MAX_SHAPES:
        _shapes[wanted] = wanted
    return wanted


def render(cells: Sequence[str]) -> str:
    """The cells as one line; quoting is checked on the joined text, per cell only if needed."""
    text = ",".join(cells)
    plain = '"' not in text and "\n" not in text and "\r" not in text
    if plain and text.count(",") == len(cells) - 1:
        return text
    return ",".join(map(quote, cells))


def quote(text: str, delimiter: str = ",") -> str:
    """Quote a cell when it holds the delimiter, a quote, CR or LF; double inner quotes."""
    if delimiter in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def parse(line: str) -> list[str]:
    """The cells of a line."""
    if not line:
        return []
    return next(csv.reader((line,), strict=True))


def fields(columns: Columns, line: str) -> dict[str, str]:
    """Column → cell text of a line."""
    return dict(zip(columns, parse(line), strict=True))


def of(values: Mapping[str, str]) -> tuple[Columns, str]:
    """The shape and line of a mapping of rendered cells."""
    return shape(values), render(list(values.values()))


def covers(newer: Columns, older: Columns) -> bool:
    """Whether a row of shape `newer` sets every column a row of shape `older` sets."""
    if newer is older:
        return True
    known = _covers.get((newer, older))
    if known is None:
        known = set(newer) >= set(older)
        if len(_covers) < _MAX_SHAPES * 4:
            _covers[(newer, older)] = known
    return known


def merge(older: tuple[Columns, str], newer: tuple[Columns, str]) -> tuple[Columns, str]:
    """Field by field, the newer cell winning: a sparse update on top of what came before."""
    if covers(newer[0], older[0]):
        return newer
    return of({**fields(*older), **fields(*newer)})


def layout(shapes: Sequence[Columns], lines: Iterable[str]) -> tuple[Columns, Iterator[str]]:
    """One header for rows of several shapes (`shapes[i]` is `lines[i]`'s), each line under it.

    The header starts with the most common shape, whose lines go through untouched (empty
    cells appended for the other shapes' columns); other shapes are laid out again, an
    absent column left empty (Bulk API: leave it unchanged). The lines are made one at a
    time as the upload is written: a job's laid-out copy never sits in memory whole.
    """
    counts = Counter(shapes)
    if not counts:
        return (), iter(())
    [(common, _)] = counts.most_common(1)
    header = dict.fromkeys(common)
    for columns in counts:
        header.update(dict.fromkeys(columns))
    head = shape(header)
    pad = "," * (len(head) - len(common))

    def laid_out() -> Iterator[str]:
        for columns, line in zip(shapes, lines, strict=True):
            if columns is common:
                yield line + pad if pad else line
            else:
                cells = fields(columns, line)
                yield render([cells.get(name, "") for name in head])

    return head, laid_out()
