"""Reading a file into a table of text cells: encodings, delimiters, gzip, Excel.

Whatever the container (CSV, TSV, semicolon-separated, whitespace-separated, .xlsx, gzipped),
the result is a :class:`RawTable` of strings with the spreadsheet row number of every record, so
the formats and the cleaning above never care how the file was stored.

A file is read whole or refused whole, with one error naming the file and, where there is one,
the row and column: a gzip file that expands too far (stopped while streaming, before it fills
memory), more columns or a longer cell than :class:`~soloist.imports.raw.ReadLimits` allow, a
file that ends inside a quoted field, rows with more or fewer cells than the header, two columns
with one name, or text in an encoding that is not read (:mod:`soloist.imports.encodings`).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re
import unicodedata
import zlib
from collections.abc import Iterator
from pathlib import Path

from soloist.imports.encodings import decode
from soloist.imports.raw import (
    DEFAULT_LIMITS,
    PY_WHITESPACE,
    RATIO_FLOOR_BYTES,
    FrameRows,
    RawTable,
    ReadLimits,
    refuse,
    shown,
    size_text,
)

_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
_XLSX_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
_NUMERIC = re.compile(r"^-?\d+(?:\.\d+)?$")
_VISIBLE = re.compile(r"\S")
_LINE_END = re.compile(r"[\r\n]")
# Files with at least this many lines are parsed column-wise by Polars (checked against the
# csv module's reading, see _parse_columnar); smaller ones row by row.
COLUMNAR_MIN_LINES = 1000
# The delimiter is guessed from the first lines, each cut to this many characters.
SNIFF_LINES, SNIFF_CHARS = 20, 64 * 1024
_CHUNK = 256 * 1024
MAX_LISTED_ROWS = 5  # rows named in a refusal of several alike


def read_bytes(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> bytes:
    """The file's bytes, gunzipped when it is a gzip file (streamed, and refused as soon as it
    grows past ``limits``)."""
    try:
        size = path.stat().st_size
        if size > limits.max_uncompressed_bytes:
            raise refuse(path, f"the file is larger than {_limit(limits)}; split it first")
        with path.open("rb") as handle:
            if handle.read(2) == _GZIP_MAGIC:
                handle.seek(0)
                return _gunzip(handle, path, limits)
            handle.seek(0)
            return handle.read()
    except FileNotFoundError:
        raise refuse(path, "no such file") from None
    except IsADirectoryError:
        raise refuse(path, "this is a folder, not a file") from None
    except OSError as exc:
        raise refuse(path, f"cannot be read ({exc.strerror or exc})") from None


def _limit(limits: ReadLimits) -> str:
    return f"{size_text(limits.max_uncompressed_bytes)} (SOLOIST_IMPORT_MAX_UNCOMPRESSED_BYTES)"


def _gunzip(handle: io.BufferedIOBase, path: Path, limits: ReadLimits) -> bytes:
    """Every member of a gzip file, decompressed a chunk at a time: refused once the output
    passes ``max_uncompressed_bytes``, or passes :data:`RATIO_FLOOR_BYTES` while being more than
    ``max_compression_ratio`` times the input read so far — so a bomb is stopped early, with
    little memory spent."""
    parts: list[bytes] = []
    produced = consumed = 0
    inflater = zlib.decompressobj(wbits=31)
    pending = b""
    ratio = limits.max_compression_ratio
    while True:
        if not pending:
            pending = handle.read(_CHUNK)
            consumed += len(pending)
            if not pending:
                break
        try:
            out = inflater.decompress(pending, _CHUNK)
        except zlib.error as exc:
            raise refuse(path, f"a damaged gzip file ({exc})") from None
        pending = inflater.unconsumed_tail
        produced += len(out)
        parts.append(out)
        if produced > limits.max_uncompressed_bytes:
            raise refuse(path, f"the file is larger than {_limit(limits)} once unzipped")
        if ratio and produced > RATIO_FLOOR_BYTES and produced > ratio * consumed:
            raise refuse(
                path,
                f"the gzip file expands more than {ratio} times (a damaged or deliberately "
                "inflated file; SOLOIST_IMPORT_MAX_COMPRESSION_RATIO)",
            )
        if inflater.eof:
            rest = inflater.unused_data + pending
            if not rest.strip(b"\x00"):
                rest = handle.read(_CHUNK)
                consumed += len(rest)
                if not rest.strip(b"\x00"):
                    break
            if rest[:2] != _GZIP_MAGIC:
                raise refuse(path, "a damaged gzip file (data after its end)")
            inflater, pending = zlib.decompressobj(wbits=31), rest
    if not inflater.eof:
        raise refuse(path, "a damaged gzip file (it is cut short)")
    return b"".join(parts)


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


def _first_lines(text: str, count: int, width: int) -> list[str]:
    """The first ``count`` non-blank lines of ``text``, each cut to ``width`` characters."""
    lines: list[str] = []
    start = 0
    while len(lines) < count and start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        lines += [
            line for line in text[start : min(end, start + width)].splitlines() if line.strip()
        ]
        start = end + 1
    del lines[count:]
    return lines


def _check_header_width(text: str, path: Path, delimiter: str, limits: ReadLimits) -> None:
    """Refuse a first line with more than ``max_columns`` cells before anything is split (a
    line of a million commas would otherwise become a million cells)."""
    found = _VISIBLE.search(text)
    start = found.start() if found else 0
    line_end = _LINE_END.search(text, start)
    end = line_end.start() if line_end else len(text)
    if text.count(delimiter, start, end) < limits.max_columns:
        return
    width = text.count(delimiter, start, end) + 1
    if text.find('"', start, end) >= 0:
        with contextlib.suppress(csv.Error):  # a header that is not a csv line: the count
            width = len(next(csv.reader([text[start:end]], delimiter=delimiter)))
    _check_width(width, path, limits)


def _check_width(width: int, path: Path, limits: ReadLimits) -> None:
    if width > limits.max_columns:
        raise refuse(
            path,
            f"the header has {width:,} columns; at most {limits.max_columns} are read "
            "(SOLOIST_IMPORT_MAX_COLUMNS). Is this a table, and is its delimiter right?",
            row=1,
        )


def _too_long(cell: str, limits: ReadLimits) -> bool:
    return len(cell) * 4 > limits.max_cell_bytes and len(cell.encode()) > limits.max_cell_bytes


def _cell_refusal(
    path: Path, row: int, column: str | None, size: int | None, limits: ReadLimits
) -> Exception:
    amount = f"{size:,} bytes" if size is not None else f"more than {limits.max_cell_bytes:,} bytes"
    return refuse(
        path,
        f"a cell of {amount}; at most {size_text(limits.max_cell_bytes)} is read "
        "(SOLOIST_IMPORT_MAX_CELL_BYTES). A quote that is never closed makes one cell of the "
        "rest of the file.",
        row=row,
        column=column,
    )


def _column_name(header: list[str] | None, index: int) -> str:
    if header and index < len(header) and header[index]:
        return header[index]
    return f"column {index + 1}"


def parse_text(
    text: str, path: Path, delimiter: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> RawTable:
    lines = _first_lines(text, SNIFF_LINES, SNIFF_CHARS)
    if not lines:
        raise refuse(path, "the file is empty")
    if delimiter is None:
        delimiter = sniff_delimiter(lines)
    if delimiter is None and len(lines[0].split()) >= 2:
        return _parse_whitespace(text, path, limits)
    if delimiter is None:
        delimiter = ","
    _check_header_width(text, path, delimiter, limits)
    columnar = _parse_columnar(text, path, delimiter, limits)
    if columnar is not None:
        return columnar
    return _parse_rows(text, path, delimiter, limits)


class _Lines:
    """The lines of a text for the csv module, counting them and where each record starts, and
    refusing a line of more delimiters than any row may have cells before it is split."""

    def __init__(self, text: str, path: Path, delimiter: str, limits: ReadLimits) -> None:
        self.lines = iter(io.StringIO(text, newline=""))
        self.path, self.delimiter, self.limits = path, delimiter, limits
        self.count = 0  # lines handed out
        self.offset = 0  # characters handed out

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.count += 1
        self.offset += len(line)
        most = self.limits.max_columns
        # Twice the widest header: a row past it is refused anyway, and a line of a million
        # delimiters is not made into a million cells first.
        if len(line) > 2 * most and line.count(self.delimiter) > 2 * most and '"' not in line:
            raise refuse(
                self.path,
                f"line {self.count} has {line.count(self.delimiter) + 1:,} cells; at most "
                f"{most} columns are read (SOLOIST_IMPORT_MAX_COLUMNS)",
            )
        return line


def _parse_rows(text: str, path: Path, delimiter: str, limits: ReadLimits) -> RawTable:
    """The table read record by record by the csv module."""
    if csv.field_size_limit() < limits.max_cell_bytes:
        csv.field_size_limit(limits.max_cell_bytes)  # characters: bytes are checked below
    lines = _Lines(text, path, delimiter, limits)
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    rows: list[list[str]] = []
    numbers: list[int] = []
    header: list[str] | None = None
    header_line = 1
    last_start = last_line = 0  # where the last record starts: offset and line
    while True:
        start, start_line = lines.offset, lines.count + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                row = start_line - header_line + 1 if header is not None else 1
                index = _long_cell(text, start, delimiter, limits.max_cell_bytes)
                column = None if index is None else _column_name(header, index)
                raise _cell_refusal(path, row, column, None, limits) from None
            raise refuse(path, f"line {reader.line_num}: not readable as a table ({exc})") from None
        last_start, last_line = start, start_line
        if not any(cell.strip() for cell in record):
            continue
        if max(map(len, record)) * 4 > limits.max_cell_bytes:
            for index, cell in enumerate(record):
                if _too_long(cell, limits):
                    row = reader.line_num - header_line + 1 if header is not None else 1
                    size = len(cell.encode())
                    raise _cell_refusal(path, row, _column_name(header, index), size, limits)
        if header is None:
            header = [cell.strip() for cell in record]
            header_line = reader.line_num
            continue
        rows.append(record)
        numbers.append(reader.line_num)
    _check_closed_quotes(text[last_start:], path, delimiter, last_line)
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


def _long_cell(text: str, start: int, delimiter: str, limit: int) -> int | None:
    """Which cell of the record at ``start`` is the first longer than ``limit`` characters
    (None if the record cannot be followed)."""
    d = re.escape(delimiter)
    cell = re.compile(rf'"(?:[^"]++|"")*+(?:"[^{d}\r\n]*+|\Z)|[^{d}\r\n]*+')
    position, index = start, 0
    while (found := cell.match(text, position)) is not None:
        if found.end() - found.start() > limit:
            return index
        position = found.end()
        if position >= len(text) or text[position] != delimiter:
            return None
        position, index = position + 1, index + 1
    return None


def _check_closed_quotes(tail: str, path: Path, delimiter: str, line: int) -> None:
    """Refuse a file that ends inside a quoted field (``tail``, its last record, opens on
    ``line``): a quote never closed, or a file cut short."""
    if '"' not in tail:
        return
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise refuse(
                path,
                f"the file ends inside a quoted cell that opens on line {line}: a quote is not "
                "closed, or the file was cut short",
            ) from None


def _parse_columnar(text: str, path: Path, delimiter: str, limits: ReadLimits) -> RawTable | None:
    """The table read column-wise by Polars — or None when this file is not one where that
    reading is certain to equal the csv module's: every physical line must be exactly one row
    (no blank lines, no line breaks inside quotes, no lone carriage returns), the first line the
    header, and every line with a quote character is re-read by the csv module and compared."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines < COLUMNAR_MIN_LINES or text.count("\r") != text.count("\r\n") or len(delimiter) != 1:
        return None
    import polars as pl

    encoded = text.encode("utf-8")
    try:
        frame = pl.read_csv(
            io.BytesIO(encoded),
            has_header=False,
            infer_schema=False,
            separator=delimiter,
            quote_char='"',
            empty_string_is_null=False,
            raise_if_empty=True,
        )
    except Exception:  # anything Polars does not read plainly goes through the csv module
        return None
    finally:
        del encoded  # the text and the frame are enough to hold at once
    if frame.height != lines or frame.width < 2 or frame.null_count().sum_horizontal().item():
        return None
    if _has_blank_row(frame):
        return None  # the csv path leaves out blank rows and renumbers; keep it simple
    if '"' in text and not _quoted_lines_agree(text, frame, delimiter):
        return None
    header = [cell.strip() for cell in frame.row(0)]
    if _looks_numeric(header):
        return None
    _check_frame_cells(frame, header, path, limits)
    data = frame.slice(1)
    return RawTable(
        path=path,
        header=header,
        rows=FrameRows(data),
        row_numbers=range(2, frame.height + 1),
        container="csv",
        delimiter=delimiter,
        frame=data,
    )


def _has_blank_row(frame: object) -> bool:
    """Whether a row of ``frame`` has only blank cells (checked a column at a time: a stripped
    copy of a large file whole would double the memory of the read)."""
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    blank: pl.Series | None = None
    for column in frame.get_columns():
        empty = column.str.strip_chars(PY_WHITESPACE) == ""
        blank = empty if blank is None else blank & empty
        if not blank.any():
            return False
    return bool(blank is not None and blank.any())


def _quoted_lines_agree(text: str, frame: object, delimiter: str) -> bool:
    """Whether every line of ``text`` with a quote is split by the csv module as the frame
    holds it (row ``i`` of the frame is line ``i``); other lines are never made strings."""
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    index = line_start = 0  # the line number of the line that starts at line_start
    quote = text.find('"')
    while quote >= 0:
        start = text.rfind("\n", 0, quote) + 1
        index += text.count("\n", line_start, start)
        line_start = start
        end = text.find("\n", quote) % (len(text) + 1)  # -1 (no line break left): the end
        try:
            cells = next(
                csv.reader([text[start:end].removesuffix("\r")], delimiter=delimiter, strict=True)
            )
        except csv.Error:
            return False  # a quote left open: the csv path says where
        if cells != list(frame.row(index)):
            return False
        quote = text.find('"', end)
    return True


def _check_frame_cells(frame: object, header: list[str], path: Path, limits: ReadLimits) -> None:
    """Refuse the first cell longer than ``max_cell_bytes`` in a frame whose row 0 is the
    header (one vectorised pass)."""
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    sizes = frame.select(pl.all().str.len_bytes())
    if sizes.max().max_horizontal().item() <= limits.max_cell_bytes:
        return
    over = sizes.with_row_index("_row").filter(
        pl.any_horizontal(pl.exclude("_row") > limits.max_cell_bytes)
    )
    first = over.row(0)
    index = next(i for i, size in enumerate(first[1:]) if size > limits.max_cell_bytes)
    raise _cell_refusal(path, first[0] + 1, _column_name(header, index), first[index + 1], limits)


def _promote_header_to_row(table: RawTable, header_number: int) -> None:
    """A first line of numbers is data, not names: the columns become column1, column2 …"""
    assert isinstance(table.rows, list)
    assert isinstance(table.row_numbers, list)
    table.rows.insert(0, table.header)
    table.row_numbers.insert(0, header_number)
    table.header = [f"column{i + 1}" for i in range(len(table.header))]
    table.has_header = False


def _parse_whitespace(text: str, path: Path, limits: ReadLimits) -> RawTable:
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cells = line.split()
        if cells:
            if len(cells) > limits.max_columns:
                raise refuse(
                    path,
                    f"line {number} has {len(cells):,} cells; at most {limits.max_columns} "
                    "columns are read (SOLOIST_IMPORT_MAX_COLUMNS)",
                )
            if len(line) * 4 > limits.max_cell_bytes:
                for index, cell in enumerate(cells):
                    if _too_long(cell, limits):
                        header = rows[0] if rows else None
                        size = len(cell.encode())
                        column = _column_name(header, index)
                        raise _cell_refusal(path, number, column, size, limits)
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


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _check_names(table: RawTable) -> None:
    """Refuse two columns of one name (capitals and spacing aside): which holds the value?"""
    seen: dict[str, int] = {}
    for index, name in enumerate(table.header):
        key = _name_key(name)
        if not key:
            continue
        if key in seen:
            first = seen[key]
            if table.header[first] == name:
                both = f"columns {first + 1} and {index + 1} are both named {name!r}"
            else:
                both = (
                    f"columns {first + 1} ({table.header[first]!r}) and {index + 1} ({name!r}) "
                    "have one name, capitals and spaces aside"
                )
            raise refuse(table.path, f"{both}; rename or remove one of them", row=1, column=name)
        seen[key] = index


def _rows_named(numbers: list[int]) -> str:
    more = len(numbers) - MAX_LISTED_ROWS
    listed = ", ".join(str(n) for n in numbers[:MAX_LISTED_ROWS])
    return listed + (f" and {more:,} more" if more > 0 else "")


def _check_widths(table: RawTable) -> None:
    """Every row must have the header's cells: a short row is refused (unless what it lacks
    are columns without a name), a long one when its extra cells hold anything; one refusal
    names the first such row and lists the others."""
    width = len(table.header)
    short: list[int] = []
    long: list[int] = []
    for index, row in enumerate(table.rows):
        cells = len(row)
        if cells < width:
            if any(table.header[cells:]):
                short.append(index)
            else:
                row.extend([""] * (width - cells))
        elif cells > width and any(cell.strip() for cell in row[width:]):
            long.append(index)
    if not short and not long:
        return
    first = min(short[:1] + long[:1])
    row = table.rows[first]
    number = table.row_numbers[first]
    others = [table.row_numbers[i] for i in sorted(short + long) if i != first]
    alike = f" (also row{'s' * (len(others) > 1)} {_rows_named(others)})" if others else ""
    if first in short:
        column = table.header[len(row)] or None
        if first == len(table.rows) - 1 and not others:
            cause = "the file looks cut short"
        else:
            cause = "a cell is missing, or a line break splits the row"
        message = f"{len(row)} cells where the header has {width} columns: {cause}{alike}"
        raise refuse(table.path, message, row=number, column=column)
    name = _DELIMITER_NAMES.get(table.delimiter or "", "delimiter")
    extra = next(shown(cell) for cell in row[width:] if cell.strip())
    raise refuse(
        table.path,
        f"{len(row)} cells where the header has {width} columns (the first extra one: "
        f"{extra}): a {name} inside a cell that is not in quotes, or a stray one{alike}",
        row=number,
    )


def read_table(path: Path | str, limits: ReadLimits | None = None) -> RawTable:
    """Read ``path`` (CSV/TSV/whitespace text in any supported encoding, .xlsx, or gzipped)
    within ``limits`` (default: :data:`~soloist.imports.raw.DEFAULT_LIMITS`)."""
    path = Path(path)
    limits = limits or DEFAULT_LIMITS
    data = read_bytes(path, limits)
    digest = hashlib.sha256(data).hexdigest()
    if data[:4] == _XLSX_MAGIC:
        from soloist.imports.excel import read_xlsx

        table = read_xlsx(data, path, limits)
    else:
        text, encoding = decode(data, path)
        del data
        table = parse_text(text, path, limits=limits)
        table.encoding = encoding
    table.sha256 = digest
    width = len(table.header)
    if width == 0 or not any(table.header):
        raise refuse(path, "the first row has no column names")
    _check_width(width, path, limits)
    _check_names(table)
    if table.frame is None:  # a frame's rows all have the header's width
        _check_widths(table)
    return table
