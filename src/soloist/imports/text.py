"""Reading a file into a table of text cells: encodings, delimiters, gzip, Excel.

Whatever the container (CSV, TSV, semicolon-separated, whitespace-separated, .xlsx, gzipped),
the result is a :class:`RawTable` of strings with the spreadsheet row number of every record, so
the formats and the cleaning above never care how the file was stored.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from pathlib import Path

from soloist.imports.raw import PY_WHITESPACE, FrameRows, RawTable, refuse

ENCODINGS = ("utf-8", "gb18030", "cp1252")
MAX_FILE_BYTES = 2 * 1024**3
_DELIMITERS = (",", ";", "\t", "|")
_XLSX_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
_NUMERIC = re.compile(r"^-?\d+(?:\.\d+)?$")
# Files with at least this many lines are parsed column-wise by Polars (checked against the
# csv module's reading, see _parse_columnar); smaller ones row by row.
COLUMNAR_MIN_LINES = 1000


def read_bytes(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise refuse(path, "the file is larger than 2 GiB; split it first")
        data = path.read_bytes()
    except FileNotFoundError:
        raise refuse(path, "no such file") from None
    except IsADirectoryError:
        raise refuse(path, "this is a folder, not a file") from None
    except OSError as exc:
        raise refuse(path, f"cannot be read ({exc.strerror or exc})") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise refuse(path, f"a damaged gzip file ({exc})") from None
    return data


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Text and the encoding it was read in: UTF-8 (with or without BOM), UTF-16 with BOM,
    GB18030 (a superset of GBK and GB2312, what Chinese Excel writes), then Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise refuse(
                path, f"marked UTF-8 but is not ({exc.reason} at byte {exc.start})"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise refuse(path, f"marked UTF-16 but is not ({exc.reason})") from None
    if b"\x00" in data[:4096]:
        raise refuse(path, "looks like a binary file, not a text table or .xlsx workbook")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise refuse(path, "the text encoding is not UTF-8, GBK/GB18030 or Windows-1252")


def sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the first lines most consistently; None for whitespace."""
    best, best_score = None, 0.0
    for delimiter in _DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=delimiter))) for line in lines if line]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0]) / len(counts)
        score = consistent * 10 + min(counts[0], 50) / 50
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _looks_numeric(cells: list[str]) -> bool:
    return bool(cells) and all(_NUMERIC.match(cell) for cell in cells)


def parse_text(text: str, path: Path, delimiter: str | None = None) -> RawTable:
    lines = [line for line in _head(text, 20).splitlines()[:20] if line.strip()]
    if not lines:
        raise refuse(path, "the file is empty")
    if delimiter is None:
        delimiter = sniff_delimiter(lines)
    if delimiter is None and len(lines[0].split()) >= 2:
        return _parse_whitespace(text, path)
    if delimiter is None:
        delimiter = ","
    columnar = _parse_columnar(text, path, delimiter)
    if columnar is not None:
        return columnar
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    numbers: list[int] = []
    header: list[str] | None = None
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                header_line = reader.line_num
                continue
            rows.append(record)
            numbers.append(reader.line_num)
    except csv.Error as exc:
        raise refuse(path, f"line {reader.line_num}: not readable as a table ({exc})") from None
    if header is None:
        raise refuse(path, "the file is empty")
    offset = header_line - 1
    table = RawTable(
        path=path,
        header=header,
        rows=rows,
        row_numbers=[n - offset for n in numbers],
        container="csv",
        delimiter=delimiter,
    )
    if _looks_numeric(header):
        _promote_header_to_row(table, 1)
    return table


def _head(text: str, lines: int) -> str:
    """The start of ``text`` up to its ``lines``-th line break (the whole text if shorter)."""
    end = -1
    for _ in range(lines):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[: end + 1]


def _parse_columnar(text: str, path: Path, delimiter: str) -> RawTable | None:
    """The table read column-wise by Polars — or None when this file is not one where that
    reading is certain to equal the csv module's: every physical line must be exactly one row
    (no blank lines, no line breaks inside quotes, no lone carriage returns), the first line the
    header, and every line with a quote character is re-read by the csv module and compared."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines < COLUMNAR_MIN_LINES or text.count("\r") != text.count("\r\n") or len(delimiter) != 1:
        return None
    import polars as pl

    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            infer_schema=False,
            separator=delimiter,
            quote_char='"',
            empty_string_is_null=False,
            raise_if_empty=True,
        )
    except Exception:  # anything Polars does not read plainly goes through the csv module
        return None
    if frame.height != lines or frame.width < 2 or frame.null_count().sum_horizontal().item():
        return None
    stripped = frame.select(pl.all().str.strip_chars(PY_WHITESPACE))
    if stripped.select(pl.all_horizontal(pl.all() == "").any()).item():
        return None  # the csv path leaves out blank rows and renumbers; keep it simple
    if '"' in text:
        for index, line in enumerate(text.split("\n")):
            if '"' in line:
                cells = next(csv.reader([line.removesuffix("\r")], delimiter=delimiter))
                if cells != list(frame.row(index)):
                    return None
    header = [cell.strip() for cell in frame.row(0)]
    if _looks_numeric(header):
        return None
    data = frame.slice(1)
    return RawTable(
        path=path,
        header=header,
        rows=FrameRows(data),
        row_numbers=range(2, frame.height + 1),
        container="csv",
        delimiter=delimiter,
        frame=data,
        stripped_frame=stripped.slice(1),
    )


def _promote_header_to_row(table: RawTable, header_number: int) -> None:
    """A first line of numbers is data, not names: the columns become column1, column2 …"""
    assert isinstance(table.rows, list)
    assert isinstance(table.row_numbers, list)
    table.rows.insert(0, table.header)
    table.row_numbers.insert(0, header_number)
    table.header = [f"column{i + 1}" for i in range(len(table.header))]
    table.has_header = False


def _parse_whitespace(text: str, path: Path) -> RawTable:
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cells = line.split()
        if cells:
            rows.append(cells)
            numbers.append(number)
    header = rows.pop(0)
    header_number = numbers.pop(0)
    table = RawTable(
        path=path,
        header=header,
        rows=rows,
        row_numbers=numbers,
        container="whitespace",
        delimiter=None,
    )
    if _looks_numeric(header):
        _promote_header_to_row(table, header_number)
    width = len(table.header)
    if len(rows) >= COLUMNAR_MIN_LINES and all(len(row) == width for row in rows):
        import polars as pl

        # Split cells hold no whitespace: the frame is its own stripped version.
        names = [f"column_{i + 1}" for i in range(width)]
        frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")
        table.frame = table.stripped_frame = frame
    return table


def read_table(path: Path | str) -> RawTable:
    """Read ``path`` (CSV/TSV/whitespace text in any supported encoding, .xlsx, or gzipped)."""
    path = Path(path)
    data = read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    if data[:4] == _XLSX_MAGIC:
        from soloist.imports.excel import read_xlsx

        table = read_xlsx(data, path)
    else:
        text, encoding = decode(data, path)
        table = parse_text(text, path)
        table.encoding = encoding
    table.sha256 = digest
    width = len(table.header)
    if width == 0 or not any(table.header):
        raise refuse(path, "the first row has no column names")
    if table.frame is not None:
        return table  # every row has exactly the header's width
    for index, row in enumerate(table.rows):
        if len(row) < width:
            row.extend([""] * (width - len(row)))
        elif len(row) > width and any(cell.strip() for cell in row[width:]):
            table.notes.append(
                f"row {table.row_numbers[index]} has {len(row)} cells for {width} columns"
            )
    return table
