"""The readers under fuzzing: any bytes, and any damage to a good table, give a table that keeps
the limits or an ImportRefusedError — never another exception; a good table reads back as written.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from soloist.errors import ImportRefusedError
from soloist.imports import RawTable, read_table
from soloist.imports.raw import ReadLimits

SMALL = ReadLimits(max_cell_bytes=2048, max_columns=12, max_compression_ratio=100)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def read(folder: Path, data: bytes, limits: ReadLimits | None = None) -> RawTable | None:
    """The table ``data`` reads as, or None when it is refused (and nothing else may happen)."""
    path = folder / "fuzzed.csv"
    path.write_bytes(data)
    refusal: ImportRefusedError | None = None
    try:
        table = read_table(path, limits)
    except ImportRefusedError as error:
        refusal = error
    if refusal is not None:  # one error, naming the file
        assert refusal.message.startswith("fuzzed.csv: ")
        assert len(refusal.details["errors"]) == 1
        return None
    keeps_the_limits(table, limits or ReadLimits())
    return table


def keeps_the_limits(table: RawTable, limits: ReadLimits) -> None:
    width = len(table.header)
    assert 0 < width <= limits.max_columns
    names = [" ".join(name.casefold().split()) for name in table.header if name.strip()]
    if table.has_header:
        assert len(names) == len(set(names))
    for row in table.rows:
        assert len(row) >= width
        assert all(len(cell.encode()) <= limits.max_cell_bytes for cell in row)


@FUZZ
@given(data=st.binary(max_size=600), zipped=st.booleans(), small=st.booleans())
@example(data=b'a,b\n1,"2', zipped=False, small=False)
@example(data=b"a,b\n" + b"," * 40, zipped=True, small=True)
def test_any_bytes_read_as_a_table_within_the_limits_or_are_refused(
    folder: Path, data: bytes, zipped: bool, small: bool
) -> None:
    read(folder, gzip.compress(data) if zipped else data, SMALL if small else None)


# A table as a person's export holds it: names, words, quotes, commas, line breaks, accents,
# Chinese; never the other delimiters (the reader would guess one of those instead).
NAMES = st.text(
    alphabet=st.characters(categories=("L",), max_codepoint=0x9FFF), min_size=1, max_size=8
)
CELLS = st.text(
    alphabet=st.sampled_from('ab xyz019.,"\n\r-éü£€张伟订单'), max_size=12
) | st.sampled_from(["", "12.50", "2024-01-05", "Müller, Jürgen", 'say "hi"', "a\nb"])


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    width = draw(st.integers(min_value=2, max_value=6))
    header = draw(st.lists(NAMES, min_size=width, max_size=width, unique_by=lambda n: n.casefold()))
    rows = draw(st.lists(st.lists(CELLS, min_size=width, max_size=width), min_size=1, max_size=8))
    rows = [["x" + row[0].strip(), *row[1:]] for row in rows]  # no row is blank
    return header, rows


def written(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # "\r\n" line ends: a cell with either break is quoted
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


@FUZZ
@given(table=tables(), form=st.sampled_from(["utf-8", "utf-8-sig", "gzip"]))
def test_a_good_table_reads_back_as_it_was_written(
    folder: Path, table: tuple[list[str], list[list[str]]], form: str
) -> None:
    header, rows = table
    data = written(header, rows)
    data = {"utf-8": data, "utf-8-sig": b"\xef\xbb\xbf" + data, "gzip": gzip.compress(data)}[form]
    read_back = read(folder, data)
    assert read_back is not None
    assert (read_back.header, [list(row) for row in read_back.rows]) == (header, rows)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A good table with one of the damages a file suffers."""
    data = written(*draw(tables()))
    where = draw(st.integers(min_value=0, max_value=len(data)))
    damage = draw(
        st.sampled_from(
            ["cut", "quote", "delimiter", "line break", "no delimiter", "repeat", "bytes"]
        )
    )
    if damage == "cut":
        return data[:where]
    if damage == "no delimiter":
        return data[:where] + data[where:].replace(b",", b"", 1)
    if damage == "repeat":  # a header name twice, or a row's cells twice
        line = data.split(b"\r\n")[draw(st.integers(min_value=0, max_value=1))]
        return data.replace(line, line + b"," + line, 1)
    insert = {
        "quote": b'"',
        "delimiter": b",",
        "line break": b"\n",
        "bytes": draw(st.binary(min_size=1, max_size=4)),
    }[damage]
    return data[:where] + insert + data[where:]


@FUZZ
@given(data=damaged(), zipped=st.booleans(), small=st.booleans())
def test_a_damaged_table_reads_within_the_limits_or_is_refused(
    folder: Path, data: bytes, zipped: bool, small: bool
) -> None:
    read(folder, gzip.compress(data) if zipped else data, SMALL if small else None)


@settings(max_examples=40, deadline=None)
@given(cells=st.integers(min_value=13, max_value=40), length=st.integers(2049, 6000))
def test_the_limits_are_kept_on_every_path(folder: Path, cells: int, length: int) -> None:
    wide = ",".join(f"c{i}" for i in range(cells)) + "\n" + ",".join(["1"] * cells) + "\n"
    assert read(folder, wide.encode(), SMALL) is None
    long = "a,b\n1," + "y" * length + "\n"
    assert read(folder, long.encode(), SMALL) is None
    assert read(folder, gzip.compress(long.encode()), SMALL) is None
    assert read(folder, long.encode()) is not None


def test_a_file_with_old_mac_line_ends_is_not_taken_for_one_wide_line(folder: Path) -> None:
    lines = ["a,b,c,d,e,f,g,h,i,j", *(f"x{i}@example.com,1,2,3,4,5,6,7,8,9" for i in range(100))]
    table = read(folder, "\r".join(lines).encode())  # 909 commas before the first "\n": none
    assert table is not None
    assert (len(table.header), len(table.rows)) == (10, 100)
