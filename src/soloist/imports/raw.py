"""The table every reader produces: text cells with the spreadsheet row number of every record.

Whatever the container (CSV, TSV, whitespace-separated, .xlsx, gzipped), the formats and the
cleaning above see only a :class:`RawTable`; :func:`refuse` is the one way a reader turns a file
down. Kept apart from the readers (:mod:`soloist.imports.text`, :mod:`soloist.imports.excel`) so
that neither needs the other.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from soloist.errors import ImportRefusedError

# What str.strip() strips: every character Python calls whitespace.
PY_WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


class FrameRows(Sequence[list[str]]):
    """The rows of a column-wise read table, made into lists only when someone asks."""

    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return int(self.frame.height)

    @overload
    def __getitem__(self, index: int) -> list[str]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[str]]: ...

    def __getitem__(self, index: int | slice) -> list[str] | list[list[str]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            part = self.frame.slice(start, max(stop - start, 0)).rows()
            return [list(row) for row in part][::step]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return list(self.frame.row(index))

    def __iter__(self) -> Iterator[list[str]]:
        for row in self.frame.iter_rows():
            yield list(row)


@dataclass
class RawTable:
    """A file as text cells. ``row_numbers[i]`` is the row of ``rows[i]`` as a spreadsheet
    shows it (the header, when there is one, is row 1)."""

    path: Path
    header: list[str]
    rows: Sequence[list[str]]
    row_numbers: Sequence[int]
    container: str  # csv | xlsx | whitespace
    encoding: str | None = None
    delimiter: str | None = None
    has_header: bool = True
    sha256: str = ""
    notes: list[str] = field(default_factory=list)
    frame: Any = None  # a Polars DataFrame of the cells (text) when read column-wise
    stripped_frame: Any = None  # the same cells without surrounding whitespace

    def column(self, name: str) -> int | None:
        try:
            return self.header.index(name)
        except ValueError:
            return None

    def cells(self, index: int) -> list[str]:
        """Column ``index`` as text, one cell per row ("" where a row is short)."""
        if self.frame is not None:
            values: list[str] = self.frame.to_series(index).to_list()
            return values
        return [row[index] if index < len(row) else "" for row in self.rows]

    def stripped(self, index: int) -> list[str]:
        """Column ``index`` with each cell's surrounding whitespace removed (``str.strip``)."""
        if self.frame is not None:
            values: list[str] = self.stripped_series(index).to_list()
            return values
        return [row[index].strip() if index < len(row) else "" for row in self.rows]

    def stripped_series(self, index: int) -> Any:
        """:meth:`stripped` as a Polars Series of text."""
        if self.frame is None:
            import polars as pl

            return pl.Series(self.stripped(index), dtype=pl.String)
        if self.stripped_frame is None:
            self.stripped_frame = self.frame.select(
                self.frame.get_columns()[i].str.strip_chars(PY_WHITESPACE)
                for i in range(self.frame.width)
            )
        return self.stripped_frame.to_series(index)


def refuse(path: Path | str, message: str, **details: object) -> ImportRefusedError:
    name = Path(path).name
    return ImportRefusedError(
        f"{name}: {message}",
        file=name,
        errors=[{"row": None, "column": None, "message": message}],
        **details,
    )
