"""``bulk_insert``: the driver's fast path, the column types' own processing, indexes kept."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import pytest
from sqlalchemy import event, func, select

from soloist.domain.bulk import BULK_REINDEX_ROWS, bulk_insert
from soloist.domain.customers import CustomerCreate, create_customer
from soloist.storage.database import Database
from soloist.storage.models import Customer, Order, OrderLine

WHEN = dt.datetime(2025, 3, 1, 10, 30, tzinfo=dt.UTC)
LINE_COLUMNS = ("order_id", "line_no", "sku", "quantity", "unit_price_minor", "amount_minor")


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements SQLAlchemy runs meanwhile."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _order(database: Database) -> int:
    with database.session() as session:
        customer = create_customer(session, CustomerCreate(name="Ana"), actor="test")
        bulk_insert(
            session,
            Order,
            ("external_id", "customer_id", "currency", "total_minor", "ordered_at"),
            pl.DataFrame(
                {
                    "external_id": ["A-1"],
                    "customer_id": [customer.id],
                    "currency": ["EUR"],
                    "total_minor": [0],
                    "ordered_at": [WHEN],
                }
            ),
        )
        return int(session.scalar(select(Order.id)) or 0)


def _lines(order_id: int, count: int, start: int = 1) -> pl.DataFrame:
    numbers = pl.int_range(start, start + count, eager=True)
    return pl.DataFrame(
        {
            "order_id": pl.repeat(order_id, count, eager=True),
            "line_no": numbers,
            "sku": numbers.cast(pl.String),
            "quantity": pl.repeat(2, count, eager=True),
            "unit_price_minor": pl.repeat(150, count, eager=True),
            "amount_minor": pl.repeat(300, count, eager=True),
        }
    )


def test_a_frame_is_inserted_with_its_column_types_processing(database: Database) -> None:
    order_id = _order(database)
    with database.session() as session:
        order = session.get(Order, order_id)
        assert order is not None
        assert order.ordered_at == WHEN  # stored as UTC, read back timezone-aware
        assert order.created_at is not None  # the column's Python-side default was filled in
        bulk_insert(session, OrderLine, LINE_COLUMNS, _lines(order_id, 3))
    with database.session() as session:
        lines = session.scalars(select(OrderLine).order_by(OrderLine.line_no)).all()
        assert [(line.line_no, line.sku, line.amount_minor) for line in lines] == [
            (1, "1", 300),
            (2, "2", 300),
            (3, "3", 300),
        ]


def test_a_large_load_into_a_small_table_rebuilds_its_plain_indexes(
    sqlite_database: Database,
) -> None:
    database = sqlite_database
    order_id = _order(database)
    with statements(database) as seen, database.session() as session:
        bulk_insert(session, OrderLine, LINE_COLUMNS, _lines(order_id, BULK_REINDEX_ROWS))
    assert any(s.startswith("\nDROP INDEX ix_order_lines_product_id") for s in seen)
    assert any(s.startswith("CREATE INDEX ix_order_lines_product_id") for s in seen)
    with database.session() as session:
        names = session.connection().exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'order_lines'"
        )
        assert "ix_order_lines_product_id" in set(names.scalars())
        check = session.connection().exec_driver_sql("PRAGMA integrity_check").scalar()
        assert check == "ok"
        count = session.scalar(select(func.count()).select_from(OrderLine))
        assert count == BULK_REINDEX_ROWS
    # A load smaller than what the table holds keeps the indexes as they are.
    with statements(database) as seen, database.session() as session:
        more = _lines(order_id, BULK_REINDEX_ROWS // 2, start=BULK_REINDEX_ROWS + 1)
        bulk_insert(session, OrderLine, LINE_COLUMNS, more)
    assert not any("DROP INDEX" in s for s in seen)


def test_a_refused_bulk_load_leaves_the_indexes_in_place(sqlite_database: Database) -> None:
    database = sqlite_database
    order_id = _order(database)
    duplicated = pl.concat([_lines(order_id, BULK_REINDEX_ROWS), _lines(order_id, 1)])
    with (
        pytest.raises(sqlite3.IntegrityError, match="UNIQUE"),
        database.session() as session,
    ):
        bulk_insert(session, OrderLine, LINE_COLUMNS, duplicated)
    with database.session() as session:
        names = session.connection().exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'order_lines'"
        )
        assert "ix_order_lines_product_id" in set(names.scalars())
        assert session.scalar(select(func.count()).select_from(OrderLine)) == 0
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
