"""Several files of one export in one import: in dependency order, all or nothing, and twice
changes nothing — on the real Olist sample, the Online Retail months, Shopify and Chinese shop
exports."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, select
from tests.imports.import_helpers import snapshot

from soloist.config import Settings
from soloist.domain.imports import BundleReport, ImportOptions, import_file, import_files
from soloist.errors import ImportRefusedError
from soloist.money import minor_to_decimal
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database
from soloist.storage.models import Customer, Order, OrderLine, Review

DATA = Path(__file__).parents[1] / "data"
OLIST = DATA / "olist"
RETAIL = DATA / "online-retail"
SHOPIFY = DATA / "shopify"


def bundle(database: Database, kind: str, *paths: Path, **options: Any) -> BundleReport:
    with database.session() as session:
        return import_files(session, kind, list(paths), ImportOptions(**options), "test")


def totals(database: Database) -> dict[str, Any]:
    """What a user checks after an import: counts and the paid revenue per currency."""
    with database.session() as session:
        revenue = session.execute(
            select(Order.currency, func.sum(Order.total_minor))
            .where(Order.status == "paid")
            .group_by(Order.currency)
        ).all()
        return {
            "customers": session.scalar(select(func.count(Customer.id))),
            "orders": session.scalar(select(func.count(Order.id))),
            "lines": session.scalar(select(func.count(OrderLine.id))),
            "revenue": {code: minor_to_decimal(int(minor), code) for code, minor in revenue},
        }


def _reviews_alike() -> list[str]:
    """The ids of the sample's reviews that another review matches in customer, stars, day and
    title (read from the files with Polars, independently of the import)."""
    reviews = pl.read_csv(OLIST / "olist_order_reviews_dataset.csv")
    orders = pl.read_csv(OLIST / "olist_orders_dataset.csv")
    people = pl.read_csv(OLIST / "olist_customers_dataset.csv")
    joined = reviews.join(orders.select("order_id", "customer_id"), on="order_id").join(
        people.select("customer_id", "customer_unique_id"), on="customer_id"
    )
    key = ["customer_unique_id", "review_score", "review_creation_date", "review_comment_title"]
    alike = joined.filter(pl.len().over(key) > 1)
    return alike["review_id"].to_list()


@pytest.mark.slow
def test_the_olist_export_imports_from_its_folder_and_twice_changes_nothing(
    sqlite_database: Database,
) -> None:
    database = sqlite_database
    report = bundle(database, "auto", OLIST)
    assert [(one.kind, one.imported) for one in report.imports] == [
        ("customers", 3998),  # customer_unique_id: 4,000 rows, two people ordered twice
        ("orders", 4000),
        ("feedback", 3986),
    ]
    assert report.details["order_lines"] == 4519
    assert report.details["feedback_with_order"] == 3986
    assert {entry.file: entry.used_for for entry in report.files} == {
        "olist_customers_dataset.csv": "customers",
        "olist_orders_dataset.csv": "orders",
        "olist_order_items_dataset.csv": "order lines",
        "olist_order_payments_dataset.csv": "order totals",
        "olist_order_reviews_dataset.csv": "feedback",
        "olist_products_dataset.csv": "line descriptions",
        "product_category_name_translation.csv": "line descriptions",
    }
    assert totals(database) == {
        "customers": 3998,
        "orders": 4000,
        "lines": 4519,
        "revenue": {"BRL": Decimal("637217.93")},  # the payments of paid orders
    }
    with database.session() as session:
        statuses = Counter(session.scalars(select(Order.status)))
        assert statuses == {"paid": 3960, "cancelled": 40}  # 23 canceled + 17 unavailable
        reviews = session.scalars(select(Review)).all()
        assert len(reviews) == 3986
        assert all(r.external_id and r.external_id.startswith("olist:") for r in reviews)
        assert all(r.order_id is not None for r in reviews)
        # Six reviews share customer, stars, day and title in pairs: keyed by those, three
        # were lost; keyed by their own ids, all are there.
        stored = {r.external_id for r in reviews}
        twins = _reviews_alike()
        assert len(twins) == 6
        assert {f"olist:{review_id}" for review_id in twins} <= stored
        first = session.scalars(
            select(Review).where(Review.external_id == "olist:7b00d98bac04a404375e12b9ff15b749")
        ).one()
        order = session.get(Order, first.order_id)
        assert order is not None
        assert order.external_id == "olist:cb1d3422684cab64f603f1b70a68e2ef"
        assert (first.rating, first.language) == (3, "pt-BR")
    before = snapshot(database)
    again = bundle(database, "auto", OLIST)
    assert (again.imported, again.updated, again.status) == (0, 0, "unchanged")
    assert snapshot(database) == before


def test_a_table_of_the_olist_export_alone_is_refused_with_the_way_to_import_it(
    sqlite_database: Database,
) -> None:
    with (
        sqlite_database.session() as session,
        pytest.raises(ImportRefusedError, match=r"one table of an Olist export") as refused,
    ):
        import_file(session, "orders", OLIST / "olist_orders_dataset.csv", ImportOptions())
    assert "soloist import auto FOLDER" in refused.value.message


def test_a_refusal_in_the_last_file_leaves_the_database_as_it_was(
    database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "customers_export.csv").write_bytes((SHOPIFY / "customers_export.csv").read_bytes())
    broken = (
        (SHOPIFY / "orders_export.csv")
        .read_text(encoding="utf-8")
        .replace(",36.00,,0.00,Standard", ",thirty-six,,0.00,Standard")
    )
    (folder / "orders_export.csv").write_text(broken, encoding="utf-8")
    before = snapshot(database)
    with pytest.raises(ImportRefusedError) as refused:
        bundle(database, "auto", folder)
    assert refused.value.details["errors"] == [
        {
            "file": "orders_export.csv",
            "row": 6,
            "column": "Total",
            "message": "not an amount: 'thirty-six'",
        }
    ]
    assert "None of the 2 imports was made" in refused.value.message
    assert snapshot(database) == before


def test_shopify_customers_come_before_their_orders_and_a_partial_refund_stays_paid(
    database: Database,
) -> None:
    report = bundle(
        database, "auto", SHOPIFY / "orders_export.csv", SHOPIFY / "customers_export.csv"
    )
    customers, orders = report.imports
    assert (customers.kind, customers.format, customers.imported) == (
        "customers",
        "shopify-customers",
        4,
    )
    assert (orders.kind, orders.imported, orders.customers["created"]) == ("orders", 4, 0)
    with database.session() as session:
        held = {o.external_id: o for o in session.scalars(select(Order))}
        partly = held["shopify:#1004"]
        assert (partly.status, partly.total_minor, partly.refunded_minor) == ("paid", 3600, 1200)
        whole = held["shopify:#1002"]
        assert (whole.status, whole.refunded_minor) == ("refunded", whole.total_minor)
        assert held["shopify:#1001"].refunded_minor == 0
        ana = session.scalars(
            select(Customer).where(Customer.external_id == "shopify:7001234567891")
        ).one()
        assert (ana.name, ana.country, ana.address) == ("Ana Lima", "PT", "Rua A 1")
        assert sorted(ana.tag_names) == ["coffee club", "vip"]


def test_a_dry_run_counts_what_the_import_would_do_and_writes_nothing(
    sqlite_database: Database,
) -> None:
    database = sqlite_database
    before = snapshot(database)
    dry = bundle(database, "auto", SHOPIFY, dry_run=True)
    assert snapshot(database) == before
    assert dry.status == "dry_run"
    assert all(one.batch_id is None for one in dry.imports)
    real = bundle(database, "auto", SHOPIFY)
    assert [(o.kind, o.imported, o.updated) for o in dry.imports] == [
        (o.kind, o.imported, o.updated) for o in real.imports
    ]


def _second_database(settings_for_url: Any, tmp_path: Path) -> Database:
    folder = tmp_path / "one-by-one"
    folder.mkdir()
    settings: Settings = settings_for_url(None).model_copy(update={"workspace": folder})
    database = Database(settings)
    upgrade_database(database.engine)
    return database


def _one_by_one(database: Database, paths: list[Path]) -> None:
    for path in paths:
        with database.session() as session:
            import_file(session, "orders", path, ImportOptions(currency="GBP"), "test")


def test_two_online_retail_months_at_once_give_what_they_give_one_by_one(
    sqlite_database: Database, settings_for_url: Any, tmp_path: Path
) -> None:
    months = [RETAIL / "online_retail_2010-12.csv.gz", RETAIL / "online_retail_2011-01.csv.gz"]
    together = bundle(sqlite_database, "orders", *months, currency="GBP")
    assert together.rows_read == 42481 + 35147
    assert [one.file for one in together.imports] == [m.name for m in months]
    separate = _second_database(settings_for_url, tmp_path)
    try:
        _one_by_one(separate, months)
        assert totals(sqlite_database) == totals(separate)
    finally:
        separate.dispose()


@pytest.mark.slow
def test_the_thirteen_online_retail_months_in_one_command(sqlite_database: Database) -> None:
    report = bundle(sqlite_database, "orders", RETAIL, currency="GBP")
    assert len(report.imports) == 13  # the README in the folder is not a data file
    assert (report.rows_read, report.skipped) == (541909, 135080)  # README: no CustomerID
    assert report.customers["created"] == 4372
    assert totals(sqlite_database) == {
        "customers": 4372,
        "orders": 22190,
        "lines": 406829,
        "revenue": {"GBP": Decimal("8911407.90")},
    }
    again = bundle(sqlite_database, "orders", RETAIL, currency="GBP")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 22190)


def test_a_folder_of_chinese_shop_exports_is_recognised_file_by_file(
    sqlite_database: Database,
) -> None:
    report = bundle(sqlite_database, "auto", DATA / "chinese-shops", currency="CNY")
    assert [(one.file, one.kind) for one in report.imports] == [
        ("customers.csv", "customers"),
        ("pinduoduo_orders.csv", "orders"),
        ("taobao_orders.csv", "orders"),
    ]
    # Paid: Taobao 118 + 69.90 + 236 + 53 + 108, Pinduoduo 32.90 + 108 (what the buyers paid).
    assert totals(sqlite_database) == {
        "customers": 7,  # the orders' buyers found by their mobile numbers, but two
        "orders": 10,
        "lines": 10,
        "revenue": {"CNY": Decimal("725.80")},
    }
