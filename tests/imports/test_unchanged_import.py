"""The same file imported again into data unchanged since is recognised at once, with the
report the whole comparison gives; any change since makes the import do the whole work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from soloist.domain.customers import CustomerUpdate, update_customer
from soloist.domain.imports.pipeline import ImportOptions, ImportReport, import_file, import_table
from soloist.domain.orders import set_order_status
from soloist.imports.text import read_table
from soloist.storage.database import Database
from soloist.storage.models import Customer, ImportBatch, Order, OrderLine

DATA = Path(__file__).parents[1] / "data"
RETAIL = DATA / "online-retail" / "online_retail_2010-12.csv.gz"
SAMPLE = DATA / "online_retail_2010-12_head2000.csv"
CUSTOMERS = DATA / "chinese-shops" / "customers.csv"
GBP = {"currency": "GBP", "skip_invalid": True}


def _import(database: Database, kind: str, path: Path, **options: Any) -> ImportReport:
    with database.session() as session:
        return import_file(session, kind, path, ImportOptions(**options), "test")


def _recognised(report: ImportReport) -> bool:
    return any(note.startswith("Nothing to do:") for note in report.notes)


def _counts(database: Database) -> tuple[int, int, int]:
    with database.read_session() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Customer, Order, OrderLine)
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "path", "options"), [("orders", RETAIL, GBP), ("customers", CUSTOMERS, {})]
)
def test_a_second_import_is_recognised_with_the_whole_comparisons_report(
    database: Database, kind: str, path: Path, options: dict[str, Any]
) -> None:
    first = _import(database, kind, path, **options)
    assert (first.status, _recognised(first)) == ("imported", False)
    with database.session() as session:  # the whole work, for what it reports
        compared = import_table(session, kind, read_table(path), ImportOptions(**options), "test")
    assert compared.status == "unchanged"
    before = _counts(database)
    second = _import(database, kind, path, **options)
    assert _recognised(second)
    assert _counts(database) == before
    assert {**second.to_dict(), "notes": [], "batch_id": None} == {
        **compared.to_dict(),
        "notes": [],
        "batch_id": None,
    }
    assert second.notes[:-1] == compared.notes
    assert f"import #{first.batch_id} of" in second.notes[-1]
    with database.read_session() as session:
        batch = session.get(ImportBatch, second.batch_id)
        assert batch is not None
        assert (batch.status, batch.report["unchanged"]) == ("unchanged", second.unchanged)
    assert _recognised(_import(database, kind, path, **options))  # and again


def test_a_deleted_order_is_imported_again(sqlite_database: Database) -> None:
    """Rows gone since (an erasure, a restore of an older backup) are not "unchanged": the
    import compares and puts the order back."""
    _import(sqlite_database, "orders", SAMPLE, **GBP)
    with sqlite_database.session() as session:
        order = session.scalars(select(Order).order_by(Order.id.desc()).limit(1)).one()
        session.execute(delete(OrderLine).where(OrderLine.order_id == order.id))
        session.delete(order)
    again = _import(sqlite_database, "orders", SAMPLE, **GBP)
    assert (_recognised(again), again.imported) == (False, 1)


def test_edits_since_make_the_import_compare_again(sqlite_database: Database) -> None:
    _import(sqlite_database, "orders", SAMPLE, **GBP)
    assert _recognised(_import(sqlite_database, "orders", SAMPLE, **GBP))
    with sqlite_database.session() as session:  # a refund in the app: audited
        order_id = session.scalars(select(Order.id).limit(1)).one()
        set_order_status(session, order_id, "refunded", "owner")
    assert not _recognised(_import(sqlite_database, "orders", SAMPLE, **GBP))
    assert _recognised(_import(sqlite_database, "orders", SAMPLE, **GBP))
    with sqlite_database.session() as session:  # a customer's details edited
        customer_id = session.scalars(select(Customer.id).limit(1)).one()
        update_customer(session, customer_id, CustomerUpdate(name="Ada Lovelace"), "owner")
    assert not _recognised(_import(sqlite_database, "orders", SAMPLE, **GBP))


def test_another_import_or_other_options_make_it_compare_again(
    sqlite_database: Database,
) -> None:
    _import(sqlite_database, "orders", SAMPLE, **GBP)
    assert not _recognised(_import(sqlite_database, "orders", SAMPLE, currency="EUR",
                                   skip_invalid=True))  # fmt: skip
    assert not _recognised(_import(sqlite_database, "customers", CUSTOMERS))
    assert not _recognised(_import(sqlite_database, "orders", SAMPLE, **GBP))
    dry = _import(sqlite_database, "orders", SAMPLE, dry_run=True, **GBP)
    assert (dry.status, _recognised(dry), dry.batch_id) == ("dry_run", False, None)
