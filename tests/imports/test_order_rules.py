"""The rules that make orders and lines out of records (soloist/imports/clean/orders.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from soloist.imports import FORMATS, read_table
from soloist.imports.clean import Cleaned, CleanOptions, clean_table
from soloist.imports.columns import text_column
from soloist.imports.values import clean_text


def clean(tmp_path: Path, text: str, **options: Any) -> Cleaned:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    table = read_table(path)
    fmt = FORMATS.detect(table)
    mapping = fmt.map_columns(table, "orders")
    return clean_table(table, fmt, "orders", mapping, CleanOptions(**options))


def orders(cleaned: Cleaned) -> dict[str, dict[str, Any]]:
    return {row["external_id"]: row for row in cleaned.orders.iter_rows(named=True)}


def test_the_first_record_opens_the_order_and_lines_are_numbered_in_file_order(
    tmp_path: Path,
) -> None:
    cleaned = clean(
        tmp_path,
        "order id,email,date,status,sku,quantity,unit price\n"
        "A1,ana@example.com,2024-01-05,paid,MUG,2,3.50\n"
        "B7,bo@example.com,2024-01-06,pending,CUP,1,1.00\n"
        "A1,someone@example.com,2024-02-01,cancelled,TEA,1,4.00\n",
    )
    assert cleaned.errors == []
    first = orders(cleaned)["file:A1"]
    assert first["customer"] == "email:ana@example.com"
    assert first["status"] == "paid"
    assert first["ordered_at"] == dt.datetime(2024, 1, 5, tzinfo=dt.UTC)
    assert first["total_minor"] == 700 + 400  # no total given: the sum of its lines
    lines = cleaned.order_lines.filter(cleaned.order_lines["external_id"] == "file:A1")
    assert lines.select("line_no", "sku", "amount_minor").rows() == [
        (1, "MUG", 700),
        (2, "TEA", 400),
    ]
    assert list(orders(cleaned)) == ["file:A1", "file:B7"]


def test_the_first_total_counts_and_a_refund_of_all_of_it_makes_a_paid_order_refunded(
    tmp_path: Path,
) -> None:
    cleaned = clean(
        tmp_path,
        "order id,email,date,total,refunded,discount\n"
        "1,ana@example.com,2024-01-05,12.00,12.00,0\n"
        "1,ana@example.com,2024-01-05,99.00,,1.50\n"
        "2,bo@example.com,2024-01-06,10.00,4.00,2.00\n"
        "2,bo@example.com,2024-01-06,,,3.00\n",
    )
    found = orders(cleaned)
    assert (found["file:1"]["total_minor"], found["file:1"]["status"]) == (1200, "refunded")
    assert found["file:1"]["discount_minor"] == 150  # the first non-zero discount
    assert (found["file:2"]["total_minor"], found["file:2"]["status"]) == (1000, "paid")
    assert found["file:2"]["discount_minor"] == 200


def test_a_later_record_in_another_currency_is_refused_by_row_and_column(tmp_path: Path) -> None:
    cleaned = clean(
        tmp_path,
        "order id,email,date,amount,currency\n"
        "1,ana@example.com,2024-01-05,5.00,EUR\n"
        "1,ana@example.com,2024-01-05,6.00,USD\n",
    )
    assert [(e.row, e.column, e.reason) for e in cleaned.errors] == [
        (3, "currency", "mixed currencies")
    ]
    assert cleaned.errors[0].message == "order file:1 mixes EUR and USD"
    assert cleaned.orders.height == 1  # the order's first record is valid


def test_failed_payments_and_records_without_a_customer_are_counted_not_imported(
    tmp_path: Path,
) -> None:
    cleaned = clean(
        tmp_path,
        "order id,email,date,amount,status\n"
        "1,ana@example.com,2024-01-05,5.00,failed\n"
        "2,,2024-01-05,5.00,paid\n"
        "3,bo@example.com,2024-01-05,5.00,paid\n",
    )
    assert dict(cleaned.skipped) == {
        "failed payment": 1,
        "no customer (needs an id, e-mail, phone or name)": 1,
    }
    assert list(orders(cleaned)) == ["file:3"]


def test_every_problem_of_a_record_is_named_in_the_order_the_columns_are_checked(
    tmp_path: Path,
) -> None:
    cleaned = clean(
        tmp_path,
        "order id,email,date,status,currency,quantity,unit price\n"
        "1,ana@example.com,2024-02-30,lost,XXY,two,1.x\n",
    )
    assert [(e.row, e.column, e.reason) for e in cleaned.errors] == [
        (2, "date", "bad date"),
        (2, "status", "unknown status"),
        (2, "currency", "unknown currency"),
        (2, "quantity", "bad quantity"),
        (2, "unit price", "bad amount"),
    ]
    assert cleaned.orders.height == 0


def test_a_file_without_order_numbers_makes_one_order_per_record(tmp_path: Path) -> None:
    cleaned = clean(
        tmp_path,
        "customer id,date,amount\n"
        "7,2024-01-05 10:00,5.00\n"
        "7,2024-01-05 10:00,6.00\n"
        "8,2024-01-05 10:00,7.00\n",
    )
    assert list(orders(cleaned)) == [
        "file:7:20240105T100000:1",
        "file:7:20240105T100000:2",
        "file:8:20240105T100000:1",
    ]
    assert cleaned.outliers["negative_amounts"] == 0


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(
        st.one_of(st.none(), st.text(max_size=12), st.text(alphabet="ab \t\u3000", max_size=8)),
        max_size=40,
    )
)
def test_text_cells_read_by_column_are_read_as_one_by_one(cells: list[str | None]) -> None:
    frame = pl.DataFrame({"cell": cells}, schema={"cell": pl.String})
    assert text_column(frame, "cell", clean_text).to_list() == [clean_text(cell) for cell in cells]
