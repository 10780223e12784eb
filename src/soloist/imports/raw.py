"""The table every reader produces: text cells with the spreadsheet row number of every record.

Whatever the container (CSV, TSV, whitespace-separated, .xlsx, gzipped), the formats and the
cleaning above see only a :class:`RawTable`; :func:`refuse` is the one way a reader turns a file
down, and :class:`ReadLimits` the bounds every reader keeps to (cell size, columns, uncompressed
size), so that no file, however broken or hostile, is half-read or grows without bound in memory.
Kept apart from the readers (:mod:`soloist.imports.text`, :mod:`soloist.imports.excel`) so that
neither needs the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from soloist.errors import ImportRefusedError

# What str.strip() strips: every character Python calls whitespace (``str.isspace``), written
# out because finding them among all 1.1 million code points took 0.3 s of every start. A test
# checks the list against the running Python's.
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

_WHITESPACE_CLASS = "[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in PY_WHITESPACE) + "]"
# A cell that starts or ends with whitespace (Polars' regular expressions, Rust's syntax).
_PADDED = f"^{_WHITESPACE_CLASS}|{_WHITESPACE_CLASS}$"

KIB, MIB, GIB = 1024, 1024**2, 1024**3


@dataclass(frozen=True)
class ReadLimits:
    """What a reader accepts before it refuses a file (the ``import_max_*`` settings).

    - ``max_cell_bytes``: the longest cell, in UTF-8 bytes. Excel holds at most 32,767 characters
      in a cell and Google Sheets 50,000, so no spreadsheet export comes near 256 KiB (a cell of
      100 kB is unusual but legal); a megabyte-long cell is a broken file or a wrong delimiter.
    - ``max_columns``: the widest header. Shopify's order export has about 80 columns; thousands
      mean a file that is not a table (or a wrong delimiter).
    - ``max_uncompressed_bytes``: the largest file, counted after gunzip (and, for a workbook,
      the sum of its parts). 1 GiB is ten times the full UCI Online Retail II log; reading a
      file means holding it in memory a few times over, so this bounds the memory an import
      (or a preview through the API, which needs only a read token) can take.
    - ``max_compression_ratio``: a gzip file (or a workbook) that expands more than this many
      times is refused as soon as that is seen, while streaming — once more than
      :data:`RATIO_FLOOR_BYTES` has come out. Real exports compress 3-10 times (the Online Retail
      months 6 times); a gzip bomb, 1,000 times. 0 turns the check off.
    """

    max_cell_bytes: int = 256 * KIB
    max_columns: int = 500
    max_uncompressed_bytes: int = GIB
    max_compression_ratio: int = 100

    @classmethod
    def from_settings(cls, settings: Any) -> ReadLimits:
        """The limits from :class:`soloist.config.Settings` (its ``import_max_*`` fields)."""
        return cls(
            max_cell_bytes=settings.import_max_cell_bytes,
            max_columns=settings.import_max_columns,
            max_uncompressed_bytes=settings.import_max_uncompressed_bytes,
            max_compression_ratio=settings.import_max_compression_ratio,
        )


DEFAULT_LIMITS = ReadLimits()
# A file may expand any number of times until this much has come out of it (a small file of
# repeated rows is no threat); past it, ``max_compression_ratio`` applies.
RATIO_FLOOR_BYTES = 16 * MIB


def size_text(count: int) -> str:
    """``262144`` → ``256 KiB``; ``1073741824`` → ``1 GiB`` (a byte count as people read it)."""
    for unit, name in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if count >= unit:
            value = count / unit
            return (
                f"{value:.0f} {name}"
                if value >= 10 or value.is_integer()
                else f"{value:.1f} {name}"
            )
    return f"{count} bytes"


def shown(text: str, width: int = 40, *, quote: bool = True) -> str:
    """``text`` for a message (quoted, unless ``quote`` is false), cut to ``width`` characters:
    a cell may be huge."""
    part = text[:width]
    part = repr(part) if quote else part
    return part if len(text) <= width else f"{part}… ({len(text):,} characters)"


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


class _Released(Sequence[list[str]]):
    """The rows of a table whose cells were let go (:meth:`RawTable.release_cells`): only
    their count is left."""

    def __init__(self, count: int) -> None:
        self.size = count

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> list[str]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[str]]: ...

    def __getitem__(self, index: int | slice) -> list[str] | list[list[str]]:
        raise LookupError("the cells of this table were let go once imported")


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
    # The same cells without surrounding whitespace, when the reader has them at no cost
    # (whitespace-separated cells hold none); else :meth:`stripped_series` makes a column.
    stripped_frame: Any = None
    # Columns of ``frame`` known to have no cell with surrounding whitespace.
    unpadded: set[int] = field(default_factory=set, repr=False)

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
        """:meth:`stripped` as a Polars Series of text (made when asked, not kept: a whole
        stripped copy of a large file would double the memory the import holds)."""
        if self.frame is None:
            import polars as pl

            return pl.Series(self.stripped(index), dtype=pl.String)
        if self.stripped_frame is not None:
            return self.stripped_frame.to_series(index)
        series = self.frame.to_series(index)
        if index in self.unpadded:
            return series
        # Looking for padding is several times cheaper than stripping, and most columns of an
        # export have none: then the column is its own stripped copy.
        if not series.str.contains(_PADDED).any():
            self.unpadded.add(index)
            return series
        return series.str.strip_chars(PY_WHITESPACE)

    def release_cells(self) -> None:
        """Let go of the cells once an import has read them (the header, the row numbers' count
        and the rest stay): the rows of a large file are most of the memory an import holds,
        and what was made of them no longer needs them."""
        count = len(self.rows)
        self.frame = self.stripped_frame = None
        self.rows = _Released(count)


def refuse(
    path: Path | str,
    message: str,
    *,
    row: int | None = None,
    column: str | None = None,
    **details: object,
) -> ImportRefusedError:
    """The error that turns the file at ``path`` down, naming the row (as a spreadsheet numbers
    it) and the column where the problem is, when there is one place."""
    name = Path(path).name
    places = [f"row {row}"] if row is not None else []
    places += [f"column {column!r}"] if column is not None else []
    where = ", ".join(places) + ": " if places else ""
    return ImportRefusedError(
        f"{name}: {where}{message}",
        file=name,
        errors=[{"row": row, "column": column, "message": message}],
        **details,
    )
