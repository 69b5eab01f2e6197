"""CSV rows of an ingest upload turned into DML rows, and DML outcomes into result rows."""

from __future__ import annotations

from collections.abc import Sequence

from emulator import rowerrors
from emulator.csvio import quote
from emulator.dml import Row
from emulator.header import Column
from emulator.values import FieldError, converter

NULL = "#N/A"


class RowReader:
    """Converts raw cells by the resolved header: `#N/A` is null, an empty cell is absent."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.width = len(columns)
        self._plain = [
            (c.index, c.field.name, converter(c.field)) for c in columns if c.lookup_field is None
        ]
        self._lookups = [c for c in columns if c.lookup_field is not None]

    def row(self, cells: list[str]) -> Row:
        """One DML row; a conversion error is recorded on it, not raised."""
        if len(cells) != self.width:
            return Row({}, error=rowerrors.column_count(self.width, len(cells)))
        values: dict[str, object] = {}
        row = Row(values)
        try:
            for index, name, convert in self._plain:
                cell = cells[index]
                if cell:
                    values[name] = None if cell == NULL else convert(cell)
        except FieldError as exc:
            row.error = exc
            return row
        for column in self._lookups:
            cell = cells[column.index]
            if cell == NULL:
                values[column.field.name] = None
            elif cell:
                row.lookups.append((column.field, column.lookup_field, cell))  # type: ignore[arg-type]
        return row


def success_cells(row: Row, cells: list[str]) -> list[str]:
    """A successfulResults line: sf__Id, sf__Created, then the uploaded values."""
    created = '"true"' if row.created else '"false"'
    return [quote(row.record_id or ""), created, *map(quote, cells)]


def failure_cells(row: Row, cells: list[str]) -> list[str]:
    """A failedResults line: sf__Id ("" when none), sf__Error, then the uploaded values."""
    error = row.error.sf_error() if row.error else ""
    record_id = "" if row.created else row.record_id or ""
    return [quote(record_id), quote(error), *map(quote, cells)]
