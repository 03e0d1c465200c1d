"""Tables as data: a dashboard page draws one, and the same rows become its CSV and a member of the
page's zip, so a download always says what the screen said; the read API's CSV answers use the same
spreadsheet-safe writer."""

import csv
import io
import zipfile
from collections.abc import Sequence
from typing import Final

import msgspec

Cell = str | int | float | None
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


class Table(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # the file name inside the zip, and ?table= of its CSV
    title: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence[Cell]]


def _cell(value: Cell) -> Cell:
    # A text starting like a formula is data, not a formula, when a spreadsheet opens the file.
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([_cell(v) for v in row] for row in table.rows)
    return out.getvalue()


def to_zip(tables: Sequence[Table]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            archive.writestr(f"{table.name}.csv", to_csv(table))
    return out.getvalue()
