"""Excel workbooks (.xlsx): the first worksheet with data, read as text cells."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from soloist.imports.raw import RawTable, refuse


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


def read_xlsx(data: bytes, path: Path) -> RawTable:
    from openpyxl import load_workbook

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
                cells = [cell_text(v) for v in values]
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
    except Exception as exc:
        raise refuse(path, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    finally:
        workbook.close()
    raise refuse(path, "the workbook has no sheet with data")
