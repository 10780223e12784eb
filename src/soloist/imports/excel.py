"""Excel workbooks (.xlsx): the first worksheet with data, read as text cells.

A workbook is a zip archive, so it is checked before it is opened: its parts must not add up to
more than ``max_uncompressed_bytes`` nor expand more than ``max_compression_ratio`` times (a zip
bomb). Rows wider than ``max_columns`` and cells longer than ``max_cell_bytes`` are refused.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from soloist.errors import ImportRefusedError
from soloist.imports.raw import (
    DEFAULT_LIMITS,
    RATIO_FLOOR_BYTES,
    RawTable,
    ReadLimits,
    refuse,
    size_text,
)


def cell_text(value: Any) -> str:
    """A cell as the text a CSV export would hold (dates ISO, numbers without float noise)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return str(Decimal(repr(value)))
    return str(value).strip()


def _check_archive(data: bytes, path: Path, limits: ReadLimits) -> None:
    """Refuse a workbook whose parts would expand past the limits (their sizes as the archive
    states them; a part cannot be read past its stated size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refuse(path, f"not a readable .xlsx workbook ({exc})") from None
    if expanded > limits.max_uncompressed_bytes:
        raise refuse(
            path,
            f"the workbook holds more than {size_text(limits.max_uncompressed_bytes)} once "
            "unzipped (SOLOIST_IMPORT_MAX_UNCOMPRESSED_BYTES); split it first",
        )
    ratio = limits.max_compression_ratio
    if ratio and expanded > RATIO_FLOOR_BYTES and expanded > ratio * len(data):
        raise refuse(
            path,
            f"the workbook expands more than {ratio} times once unzipped (a damaged or "
            "deliberately inflated file; SOLOIST_IMPORT_MAX_COMPRESSION_RATIO)",
        )


def _checked(cells: list[str], path: Path, number: int, limits: ReadLimits) -> list[str]:
    """The row's cells, refused when one is longer than ``max_cell_bytes``."""
    for index, cell in enumerate(cells):
        if len(cell) * 4 > limits.max_cell_bytes and len(cell.encode()) > limits.max_cell_bytes:
            raise refuse(
                path,
                f"a cell of {len(cell.encode()):,} bytes; at most "
                f"{size_text(limits.max_cell_bytes)} is read (SOLOIST_IMPORT_MAX_CELL_BYTES)",
                row=number,
                column=f"column {index + 1}",
            )
    return cells


def read_xlsx(data: bytes, path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> RawTable:
    from openpyxl import load_workbook

    _check_archive(data, path, limits)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise refuse(path, f"not a readable .xlsx workbook ({exc})") from None
    except Exception as exc:  # openpyxl raises many kinds on damaged workbooks
        raise refuse(path, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        for sheet in workbook.worksheets:
            header: list[str] | None = None
            rows: list[list[str]] = []
            numbers: list[int] = []
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if len(values) > limits.max_columns and any(values[limits.max_columns :]):
                    raise refuse(
                        path,
                        f"a row of {len(values):,} cells; at most {limits.max_columns} columns "
                        "are read (SOLOIST_IMPORT_MAX_COLUMNS)",
                        row=number,
                    )
                cells = _checked([cell_text(v) for v in values], path, number, limits)
                if not any(cells):
                    continue
                if header is None:
                    header = cells
                    while header and not header[-1]:
                        header.pop()
                    continue
                rows.append(cells[: len(header)])
                numbers.append(number)
            if header:
                return RawTable(
                    path=path, header=header, rows=rows, row_numbers=numbers, container="xlsx"
                )
    except ImportRefusedError:
        raise
    except Exception as exc:
        raise refuse(path, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    finally:
        workbook.close()
    raise refuse(path, "the workbook has no sheet with data")
