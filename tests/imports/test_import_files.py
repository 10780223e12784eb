"""Importing real and realistic files: all or nothing, and twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.imports.import_helpers import snapshot

from soloist.domain.imports.pipeline import (
    ImportOptions,
    detect_format,
    import_file,
    preview_import,
)
from soloist.errors import ImportRefusedError
from soloist.storage.database import Database
from soloist.storage.models import Customer, ImportBatch, Order, OrderLine

DATA = Path(__file__).parents[1] / "data"


def run_import(database: Database, kind: str, path: Path, **options: object):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return import_file(session, kind, path, ImportOptions(**options), "test")  # type: ignore[arg-type]


def count(database: Database, model: type) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CDNOW_master.txt", "cdnow"),
        ("CDNOW_sample.txt", "cdnow"),
        ("online_retail_2010-12_head2000.csv", "retail"),
        ("shopify_orders_export.csv", "shopify"),
        ("stripe_payments.csv", "stripe-charges"),
        ("customers_stripe.csv", "stripe-customers"),
        ("woocommerce_orders.csv", "woocommerce"),
        ("orders_gbk.csv", "generic"),
    ],
)
def test_format_is_detected_from_header_and_shape(name: str, expected: str) -> None:
    assert detect_format(DATA / name) == expected


def test_preview_shows_the_chinese_column_mapping() -> None:
    preview = preview_import(DATA / "orders_gbk.csv", "orders")
    assert preview.encoding == "gb18030"
    assert preview.mapping["name"] == "客户名称"
    assert preview.mapping["total"] == "金额"
    assert preview.mapping["ordered_at"] == "下单时间"


def test_cdnow_sample_imports_once_and_the_second_time_changes_nothing(database: Database) -> None:
    first = run_import(database, "orders", DATA / "CDNOW_sample.txt")
    assert (first.rows_read, first.imported, first.invalid) == (6919, 6919, 0)
    assert first.customers["created"] == 2357
    before = snapshot(database)
    second = run_import(database, "orders", DATA / "CDNOW_sample.txt")
    assert (second.imported, second.updated, second.unchanged) == (0, 0, 6919)
    assert second.status == "unchanged"
    assert snapshot(database) == before
    assert count(database, ImportBatch) == 2


def test_retail_log_keeps_cancellations_returns_and_skips_lines_without_customer(
    database: Database,
) -> None:
    report = run_import(
        database, "orders", DATA / "online_retail_2010-12_head2000.csv", currency="GBP"
    )
    assert report.rows_read == 2000
    assert report.skipped_by_reason.get("no customer id", 0) > 0
    assert report.skipped + report.details["order_lines"] == 2000
    with database.session() as session:
        first = session.scalars(select(Order).where(Order.external_id == "retail:536365")).one()
        assert (first.currency, first.status, len(first.lines)) == ("GBP", "paid", 7)
        assert first.total_minor == sum(line.amount_minor for line in first.lines)
        assert [line.line_no for line in first.lines] == list(range(1, 8))
        cancelled = session.scalars(select(Order).where(Order.external_id.like("retail:C%"))).all()
        assert cancelled
        assert all(o.status == "cancelled" and o.total_minor < 0 for o in cancelled)
        customer = session.scalars(
            select(Customer).where(Customer.external_id == "retail:17850")
        ).one()
        assert customer.country == "GB"
    before = snapshot(database)
    again = run_import(
        database, "orders", DATA / "online_retail_2010-12_head2000.csv", currency="GBP"
    )
    assert (again.imported, again.updated) == (0, 0)
    assert snapshot(database) == before


def test_shopify_export_merges_customers_by_email_and_reads_refunds(
    sqlite_database: Database,
) -> None:
    database = sqlite_database  # parsing and matching; the engines are covered by the tests above
    report = run_import(database, "orders", DATA / "shopify_orders_export.csv")
    assert report.imported == 3
    assert report.customers["created"] == 2  # ANA@Example.com is ana@example.com
    with database.session() as session:
        orders = {o.external_id: o for o in session.scalars(select(Order))}
        assert orders["shopify:#1001"].total_minor == 4290
        assert orders["shopify:#1001"].currency == "EUR"
        assert len(orders["shopify:#1001"].lines) == 2
        assert orders["shopify:#1002"].status == "refunded"
        assert orders["shopify:#1002"].total_minor == 125000
        assert orders["shopify:#1003"].customer_id == orders["shopify:#1001"].customer_id


def test_stripe_customers_then_charges_share_one_customer_and_skip_failed(
    sqlite_database: Database,
) -> None:
    database = sqlite_database
    customers = run_import(database, "customers", DATA / "customers_stripe.csv")
    assert customers.imported == 2
    charges = run_import(database, "orders", DATA / "stripe_payments.csv")
    assert charges.skipped_by_reason == {"failed payment": 1}
    assert charges.customers["created"] == 0
    assert charges.customers["matched_existing"] == 2
    with database.session() as session:
        refunded = session.scalars(
            select(Order).where(Order.external_id == "stripe:ch_3OaA2")
        ).one()
        assert refunded.status == "refunded"
        dev = session.scalars(
            select(Customer).where(Customer.external_id == "stripe:cus_PA2")
        ).one()
        assert (dev.name, dev.email, dev.phone) == ("Dev Patel", "dev@example.com", "+442079460958")


def test_woocommerce_lines_and_gbk_chinese_orders_import(sqlite_database: Database) -> None:
    database = sqlite_database
    woo = run_import(database, "orders", DATA / "woocommerce_orders.csv")
    assert (woo.imported, woo.details["order_lines"]) == (3, 4)
    gbk = run_import(database, "orders", DATA / "orders_gbk.csv", currency="CNY", region="CN")
    assert (gbk.imported, gbk.invalid) == (3, 0)
    with database.session() as session:
        order = session.scalars(
            select(Order).where(Order.external_id == "file:DD20240105001")
        ).one()
        assert (order.total_minor, order.currency) == (128000, "CNY")
        refunded = session.scalars(
            select(Order).where(Order.external_id == "file:DD20240107003")
        ).one()
        assert refunded.status == "refunded"
        zhang = session.get(Customer, order.customer_id)
        assert zhang is not None
        assert (zhang.name, zhang.phone) == ("张伟", "+8613800138000")


def test_a_corrupted_file_is_refused_by_row_and_column_and_nothing_is_written(
    database: Database, tmp_path: Path
) -> None:
    broken = tmp_path / "CDNOW_broken.txt"
    lines = (DATA / "CDNOW_sample.txt").read_text().splitlines()
    lines[9] = lines[9].replace("19970", "1997X")
    lines[99] = lines[99].rsplit(" ", 1)[0] + " 12.x4"
    broken.write_text("\n".join(lines) + "\n")
    before = snapshot(database)
    with pytest.raises(ImportRefusedError) as refused:
        run_import(database, "orders", broken)
    errors = refused.value.details["errors"]
    assert [e["row"] for e in errors] == [10, 100]
    assert "row 10" in refused.value.message
    assert "CDNOW_broken.txt" in refused.value.message
    assert snapshot(database) == before
    assert count(database, ImportBatch) == 0
    report = run_import(database, "orders", broken, skip_invalid=True)
    assert (report.invalid, report.imported) == (2, 6917)


def test_dry_run_reports_without_writing(sqlite_database: Database) -> None:
    report = run_import(sqlite_database, "orders", DATA / "woocommerce_orders.csv", dry_run=True)
    assert (report.status, report.imported) == ("dry_run", 3)
    assert count(sqlite_database, Order) == 0
    assert count(sqlite_database, OrderLine) == 0


def test_map_option_names_an_unrecognised_column(sqlite_database: Database, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("who,when,paid\nAda,2024-02-01,10.00\nAda,2024-02-03,12.00\n")
    with pytest.raises(ImportRefusedError, match="no column for"):
        run_import(sqlite_database, "orders", path)
    report = run_import(
        sqlite_database,
        "orders",
        path,
        mapping={"who": "name", "when": "ordered_at", "paid": "total"},
    )
    assert (report.imported, report.customers["created"]) == (2, 1)
    assert (
        run_import(
            sqlite_database,
            "orders",
            path,
            mapping={"who": "name", "when": "ordered_at", "paid": "total"},
        ).unchanged
        == 2
    )


def test_excel_workbook_imports_like_csv(sqlite_database: Database, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Customer", "E-mail", "Order No", "Amount", "Date"])
    sheet.append(["Ada Lovelace", "ada@example.com", "A-1", 19.99, 45296])
    sheet.append(["Alan Turing", "alan@example.com", "A-2", "1,000.00", "2024-01-06"])
    path = tmp_path / "orders.xlsx"
    workbook.save(path)
    report = run_import(sqlite_database, "orders", path)
    assert (report.imported, report.invalid) == (2, 0)
    with sqlite_database.session() as session:
        first = session.scalars(select(Order).where(Order.external_id == "file:A-1")).one()
        assert first.total_minor == 1999
        assert first.ordered_at.date().isoformat() == "2024-01-05"


def test_subscriptions_interactions_and_feedback_import_idempotently(
    sqlite_database: Database, tmp_path: Path
) -> None:
    subs = tmp_path / "subs.csv"
    subs.write_text(
        "email,plan,price,interval,status,start date,canceled at\n"
        "a@example.com,Pro,29.00,monthly,active,2024-01-01,\n"
        "b@example.com,Basic,9.00,month,canceled,2024-01-03,2024-03-03\n"
    )
    notes = tmp_path / "calls.csv"
    notes.write_text(
        "邮箱,方式,主题,内容,时间\na@example.com,电话,Onboarding,Went well,2024-01-02 10:00\n"
    )
    survey = tmp_path / "nps.csv"
    survey.write_text(
        "email,NPS,comment,date\na@example.com,9,Great,2024-02-01\nb@example.com,3,Slow,2024-02-02\n"
    )
    for kind, path, expected in (
        ("subscriptions", subs, 2),
        ("interactions", notes, 1),
        ("feedback", survey, 2),
    ):
        assert run_import(sqlite_database, kind, path).imported == expected
    before = snapshot(sqlite_database)
    for kind, path in (("subscriptions", subs), ("interactions", notes), ("feedback", survey)):
        assert run_import(sqlite_database, kind, path).imported == 0
    assert snapshot(sqlite_database) == before


@pytest.mark.slow
def test_full_cdnow_master_loads_every_customer_and_transaction(sqlite_database: Database) -> None:
    report = run_import(sqlite_database, "orders", DATA / "CDNOW_master.txt")
    assert (report.imported, report.customers["created"]) == (69659, 23570)
    assert count(sqlite_database, Customer) == 23570
    assert count(sqlite_database, Order) == 69659
    again = run_import(sqlite_database, "orders", DATA / "CDNOW_master.txt")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 69659)
