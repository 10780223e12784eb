"""The Olist export's tables recognised and joined, on the real 4,000-order sample (no database)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from soloist.errors import ImportRefusedError
from soloist.imports import FORMATS, RawTable, read_table
from soloist.imports.formats.olist import STATUSES, assemble, olist_role

OLIST = Path(__file__).parents[1] / "data" / "olist"
ROLES = {
    "olist_customers_dataset.csv": "customers",
    "olist_orders_dataset.csv": "orders",
    "olist_order_items_dataset.csv": "items",
    "olist_order_payments_dataset.csv": "payments",
    "olist_order_reviews_dataset.csv": "reviews",
    "olist_products_dataset.csv": "products",
    "product_category_name_translation.csv": "categories",
}


@pytest.fixture(scope="module")
def tables() -> dict[str, RawTable]:
    return {role: read_table(OLIST / name) for name, role in ROLES.items()}


def test_each_table_is_recognised_by_its_header(tables: dict[str, RawTable]) -> None:
    assert {role: olist_role(table) for role, table in tables.items()} == {
        role: role for role in tables
    }
    assert FORMATS.detect(tables["customers"]).name == "olist-customers"
    assert FORMATS.detect(tables["orders"]).name == "olist"  # a part, refused alone


def test_orders_carry_their_customer_their_paid_total_and_their_items(
    tables: dict[str, RawTable],
) -> None:
    made = assemble(tables)
    assert [part.kind for part in made.parts] == ["customers", "orders", "feedback"]
    orders = made.parts[1].table.frame
    per_order = orders.group_by("order_id", maintain_order=True).agg(
        pl.col("customer_unique_id").first(),
        pl.col("order_status").first(),
        pl.col("order_total").first(),
        pl.col("price").filter(pl.col("price") != "").count().alias("items"),
    )
    assert per_order.height == 4000
    assert int(per_order["items"].sum()) == 4519
    assert per_order["customer_unique_id"].n_unique() == 3998  # customer_id is per order
    # The README: payments total 645,494.05 BRL over the 4,000 orders, each order's total the
    # sum of its payments (every order of the sample has one).
    total = sum(Decimal(value) for value in per_order["order_total"])
    assert total == Decimal("645494.05")
    paid_statuses = per_order.filter(
        pl.col("order_status").replace_strict(STATUSES, default=None) == "paid"
    )
    paid = sum(Decimal(value) for value in paid_statuses["order_total"])
    assert paid == Decimal("637217.93")


def test_lines_are_in_item_order_and_described_by_their_english_category(
    tables: dict[str, RawTable],
) -> None:
    orders = assemble(tables).parts[1].table.frame
    several = orders.filter(pl.col("order_id").is_duplicated())
    numbers = several.group_by("order_id", maintain_order=True).agg(pl.col("order_item_id"))
    for items in numbers["order_item_id"]:
        assert [int(n) for n in items] == list(range(1, len(items) + 1))
    assert "health_beauty" in set(orders["product_category"])
    assert "beleza_saude" not in set(orders["product_category"])


def test_reviews_keep_their_id_their_order_and_the_time_the_customer_answered(
    tables: dict[str, RawTable],
) -> None:
    reviews = assemble(tables).parts[2].table.frame
    assert reviews.height == 3986
    assert reviews["review_id"].n_unique() == 3986
    first = reviews.row(0, named=True)
    assert first["review_id"] == "7b00d98bac04a404375e12b9ff15b749"
    assert first["order_id"] == "cb1d3422684cab64f603f1b70a68e2ef"
    assert first["review_answer_timestamp"] == "2018-06-18 02:48:33"


def _copy(tmp_path: Path, name: str, keep: int | None = None, edit=None) -> Path:  # type: ignore[no-untyped-def]
    with (OLIST / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    body = rows[1 : keep + 1] if keep else rows[1:]
    if edit:
        body = edit(body)
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([rows[0], *body])
    return path


def test_orders_without_the_customers_table_are_refused(tmp_path: Path) -> None:
    orders = read_table(_copy(tmp_path, "olist_orders_dataset.csv", 50))
    items = read_table(_copy(tmp_path, "olist_order_items_dataset.csv", 50))
    with pytest.raises(ImportRefusedError, match=r"need the customers table") as refused:
        assemble({"orders": orders, "items": items})
    assert "soloist import auto FOLDER" in refused.value.message


def test_an_item_of_an_order_not_in_the_orders_table_is_named_by_file_row_and_column(
    tmp_path: Path, tables: dict[str, RawTable]
) -> None:
    def stray(body: list[list[str]]) -> list[list[str]]:
        body[2][0] = "0" * 32
        return body

    items = read_table(_copy(tmp_path, "olist_order_items_dataset.csv", edit=stray))
    with pytest.raises(ImportRefusedError) as refused:
        assemble({**tables, "items": items})
    assert refused.value.details["errors"] == [
        {
            "file": "olist_order_items_dataset.csv",
            "row": 4,
            "column": "order_id",
            "message": f"order {'0' * 32} is not in olist_orders_dataset.csv",
        }
    ]


def test_a_price_that_is_not_an_amount_is_named(
    tmp_path: Path, tables: dict[str, RawTable]
) -> None:
    def bad(body: list[list[str]]) -> list[list[str]]:
        body[0][5] = "12,5O"
        return body

    items = read_table(_copy(tmp_path, "olist_order_items_dataset.csv", edit=bad))
    with pytest.raises(ImportRefusedError) as refused:
        assemble({**tables, "items": items})
    (error,) = refused.value.details["errors"]
    assert (error["row"], error["column"]) == (2, "price")
    assert "12,5O" in error["message"]


def test_without_payments_an_order_total_is_its_items_price_and_freight(
    tables: dict[str, RawTable],
) -> None:
    without = {role: t for role, t in tables.items() if role != "payments"}
    orders = assemble(without).parts[1].table.frame
    totals = orders.group_by("order_id").agg(pl.col("order_total").first())
    # README: items' price 549,545.09 and freight 89,709.68 BRL.
    assert sum(Decimal(v) for v in totals["order_total"]) == Decimal("639254.77")
