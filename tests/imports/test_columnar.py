"""The column-wise reading (Polars) gives exactly what the row-by-row csv reading gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from soloist.imports import FORMATS, text
from soloist.imports.clean import CleanOptions, clean_table
from soloist.imports.raw import PY_WHITESPACE, RawTable

DATA = Path(__file__).parents[1] / "data"


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RawTable, RawTable]:
    columnar = text.read_table(path)
    monkeypatch.setattr(text, "COLUMNAR_MIN_LINES", 10**9)
    rows = text.read_table(path)
    monkeypatch.undo()
    return columnar, rows


def test_quoted_cells_and_whitespace_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "orders.csv"
    lines = ["order id,email,amount,date,note"]
    for n in range(1500):
        note = f'"say ""hi"", {n}"' if n % 7 == 0 else f" padded {n}\u3000"
        lines.append(f"{n}, a{n % 50}@example.com ,{n % 90}.50,2024-01-{n % 28 + 1:02d},{note}")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    columnar, rows = _both(path, monkeypatch)
    assert columnar.frame is not None
    assert rows.frame is None
    assert columnar.header == rows.header
    assert list(columnar.row_numbers) == list(rows.row_numbers)
    assert list(columnar.rows) == list(rows.rows)
    assert columnar.rows[3:5] == rows.rows[3:5]
    for index in range(len(rows.header)):
        assert columnar.stripped(index) == rows.stripped(index)


def test_a_file_with_a_line_break_inside_quotes_is_read_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "orders.csv"
    body = "".join(f"{n},a@example.com,1.00,2024-01-05\n" for n in range(1200))
    path.write_text('order id,email,amount,date\n1,"two\nlines",1.00,2024-01-05\n' + body)
    columnar, rows = _both(path, monkeypatch)
    assert columnar.frame is None
    assert list(columnar.row_numbers) == list(rows.row_numbers)


def test_cleaning_the_retail_log_is_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    columnar, rows = _both(DATA / "online_retail_2010-12_head2000.csv", monkeypatch)
    assert columnar.frame is not None
    fmt = FORMATS.detect(columnar)
    results = []
    for raw in (columnar, rows):
        mapping = fmt.map_columns(raw, "orders")
        cleaned = clean_table(raw, fmt, "orders", mapping, CleanOptions(currency="GBP"))
        results.append(
            (
                cleaned.orders.rows(),
                cleaned.order_lines.rows(),
                cleaned.customers,
                cleaned.skipped,
                cleaned.missing_values,
                cleaned.duplicate_rows,
                cleaned.outliers,
                cleaned.errors,
            )
        )
    assert results[0] == results[1]


def test_the_whitespace_stripped_is_every_character_python_calls_whitespace() -> None:
    """The columnar strip must strip what ``str.strip()`` strips, in this Python's Unicode."""
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert every == PY_WHITESPACE


@pytest.mark.parametrize("place", ["start", "end", "none"])
def test_each_whitespace_character_is_stripped_or_left_as_python_strips_it(place: str) -> None:
    """A column is left as it is only when no cell starts or ends with any of Python's
    whitespace characters (looked for first, as the cheaper check)."""
    import polars as pl

    cells = []
    for n, space in enumerate(PY_WHITESPACE * 3):
        word = f"a{space}b{n}"  # whitespace inside a cell is kept either way
        cells.append({"start": space + word, "end": word + space, "none": word}[place])
    plain = [f"id{n}" for n in range(len(cells))]
    frame = pl.DataFrame({"id": plain, "cell": cells})
    table = RawTable(Path("t.csv"), ["id", "cell"], [], range(2, len(cells) + 2), "csv")
    table.frame = frame
    for _ in range(2):  # the second time from what the first found
        assert table.stripped(0) == plain
        assert table.stripped(1) == [cell.strip() for cell in cells]
    for n, space in enumerate(PY_WHITESPACE):  # one padded cell among plain ones
        lone = [*plain[:n], f"x{space}", *plain[n + 1 :]]
        table = RawTable(Path("t.csv"), ["lone"], [], range(2, len(lone) + 2), "csv")
        table.frame = pl.DataFrame({"lone": lone})
        assert table.stripped(0) == [cell.strip() for cell in lone], repr(space)
