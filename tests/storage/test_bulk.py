"""``bulk_insert``: the driver's fast path, the column types' own processing, indexes kept."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import pytest
from sqlalchemy import event, func, inspect, select

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.storage.bulk import (
    BULK_REINDEX_ROWS,
    bulk_insert,
    collection_paused,
    core_insert,
    insert_returning_ids,
    read_in_parts,
)
from soloist.storage.database import Database
from soloist.storage.models import Customer, CustomerScore, ModelRun, Order, OrderLine

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


def test_awkward_text_numbers_and_missing_values_come_back_as_they_went_in(
    database: Database,
) -> None:
    """PostgreSQL loads a frame as CSV: a null must stay null and an empty text empty, and
    commas, quotes, line breaks, backslashes and non-ASCII text arrive unchanged."""
    order_id = _order(database)
    descriptions = [None, "", "plain", 'a "quoted", comma', "two\nlines", "back\\slash \\N",
                    "茶叶 100g", " spaced ", "NULL"]  # fmt: skip
    count = len(descriptions)
    frame = _lines(order_id, count).with_columns(
        pl.Series("description", descriptions, dtype=pl.String),
        pl.Series("product_id", [None] * count, dtype=pl.Int64),
    )
    with database.session() as session:
        bulk_insert(session, OrderLine, [*LINE_COLUMNS, "description", "product_id"], frame)
    with database.session() as session:
        stored = session.execute(
            select(OrderLine.description, OrderLine.product_id).order_by(OrderLine.line_no)
        ).all()
    assert [description for description, _ in stored] == descriptions
    assert {product for _, product in stored} == {None}


def _indexes_and_keys(database: Database) -> tuple[set[str], set[str]]:
    with database.session() as session:
        found = inspect(session.connection())
        indexes = {str(index["name"]) for index in found.get_indexes("order_lines")}
        keys = {str(key["name"]) for key in found.get_foreign_keys("order_lines")}
    return indexes, keys


def test_a_large_load_into_a_small_table_rebuilds_its_indexes_and_keys(
    database: Database,
) -> None:
    order_id = _order(database)
    before = _indexes_and_keys(database)
    with statements(database) as seen, database.session() as session:
        bulk_insert(session, OrderLine, LINE_COLUMNS, _lines(order_id, BULK_REINDEX_ROWS))
    dropped = [s for s in seen if "DROP INDEX" in s or "DROP CONSTRAINT" in s]
    engine = database.engine.dialect.name
    if engine == "sqlite":
        assert any("DROP INDEX ix_order_lines_product_id" in s for s in dropped)
    elif engine == "postgresql":
        assert any("DROP CONSTRAINT fk_order_lines_order_id_orders" in s for s in dropped)
    if engine in ("sqlite", "postgresql"):  # the lines' unique key too, checked when made again
        assert any("DROP INDEX uq_order_lines_order_id_line_no" in s for s in dropped)
    else:  # MariaDB commits DDL at once, so nothing may be dropped inside an import
        assert dropped == []
    assert _indexes_and_keys(database) == before
    with database.session() as session:
        count = session.scalar(select(func.count()).select_from(OrderLine))
        assert count == BULK_REINDEX_ROWS
    # A load smaller than what the table holds keeps the indexes as they are.
    with statements(database) as seen, database.session() as session:
        more = _lines(order_id, BULK_REINDEX_ROWS // 2, start=BULK_REINDEX_ROWS + 1)
        bulk_insert(session, OrderLine, LINE_COLUMNS, more)
    assert not any("DROP" in s for s in seen)


def test_a_refused_bulk_load_leaves_indexes_keys_and_data_as_they_were(
    database: Database,
) -> None:
    order_id = _order(database)
    before = _indexes_and_keys(database)
    duplicated = pl.concat([_lines(order_id, BULK_REINDEX_ROWS), _lines(order_id, 1)])
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), database.session() as session:
        bulk_insert(session, OrderLine, LINE_COLUMNS, duplicated)
    assert _indexes_and_keys(database) == before
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OrderLine)) == 0
        assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_encrypted_columns_are_loaded_in_bulk_and_read_back(database: Database) -> None:
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    names = ["name", "email", "birthday", "custom_fields", "status", "first_seen_at"]
    rows = [
        ("李雷", "li@example.com", dt.date(1990, 5, 17), {"tier": "gold", "n": 2}, "active", now),
        ("Ada", None, None, {}, "active", now),
        ("Ada", "ada@example.com", dt.date(1815, 12, 10), {"tier": "金"}, "active", now),
    ]
    with database.session() as session:
        bulk_insert(session, Customer, names, rows)
    with database.session() as session:
        found = session.scalars(select(Customer).order_by(Customer.id)).all()
        assert [(c.name, c.email, c.birthday, c.custom_fields) for c in found] == [
            row[:4] for row in rows
        ]
        raw = session.connection().exec_driver_sql("SELECT name, email FROM customers").all()
    assert all(isinstance(name, bytes | memoryview) for name, _ in raw)
    assert raw[1][1] is None  # a missing value stays NULL, not an encrypted empty text
    assert bytes(raw[1][0]) != bytes(raw[2][0])  # the same name, each with its own nonce


def test_the_garbage_collector_pauses_for_bulk_loads_and_comes_back() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with pytest.raises(ValueError, match="refused"), collection_paused():  # nested, failing
            raise ValueError("refused")
        assert not gc.isenabled()  # the outer load is still under way
    assert gc.isenabled()


def test_a_bulk_load_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_times_from_a_frame_are_stored_as_the_orm_stores_them(database: Database) -> None:
    """A frame's timezone-aware times are made naive UTC (and on SQLite, text) on the whole
    column; what lands must be what an ORM insert of the same times writes, to the digit."""
    china = dt.timezone(dt.timedelta(hours=8))
    times = [
        dt.datetime(2010, 12, 1, 8, 26, tzinfo=dt.UTC),
        dt.datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 1, 23, 59, 59, 999_999, tzinfo=china),  # the day before in UTC
        dt.datetime(2025, 6, 30, 0, 0, 0, 500, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ]
    with database.session() as session:
        customer = create_customer(session, CustomerCreate(name="Ana"), actor="test")
        names = ("external_id", "customer_id", "currency", "total_minor", "ordered_at")
        frame = pl.DataFrame(
            {
                "external_id": [f"F-{n}" for n in range(len(times))],
                "customer_id": [customer.id] * len(times),
                "currency": ["EUR"] * len(times),
                "total_minor": [0] * len(times),
                "ordered_at": pl.Series(times, dtype=pl.Datetime("us", "Asia/Shanghai")),
            }
        )
        bulk_insert(session, Order, names, frame)
        for n, when in enumerate(times):
            session.add(
                Order(
                    external_id=f"O-{n}",
                    customer_id=customer.id,
                    currency="EUR",
                    total_minor=0,
                    ordered_at=when,
                )
            )
    with database.session() as session:
        raw = dict(
            session.connection().exec_driver_sql("SELECT external_id, ordered_at FROM orders").all()
        )
        read = dict(session.execute(select(Order.external_id, Order.ordered_at)).all())
    for n, when in enumerate(times):
        assert raw[f"F-{n}"] == raw[f"O-{n}"]
        assert read[f"F-{n}"] == when


def test_rows_with_varying_missing_values_get_their_own_ids_in_row_order(
    database: Database,
) -> None:
    """The ids answered are the rows' own, whatever mix of missing values the rows have."""
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    with database.session() as session:
        create_customer(session, CustomerCreate(name="Before"), actor="test")  # ids go on from it
    rows = [
        {
            "name": f"Customer {i}",
            "external_id": f"ext-{i}",
            "email": f"c{i}@example.com" if i % 3 else None,
            "birthday": dt.date(1980, 1, 1) + dt.timedelta(days=i) if i % 2 else None,
            "company": None if i % 5 else "Lyon Roasters",
            "custom_fields": {},
            "status": "active",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(257)
    ]
    with database.session() as session:
        ids = insert_returning_ids(session, Customer, rows)
    assert len(set(ids)) == len(rows)
    with database.session() as session:
        stored = {
            customer.id: (customer.external_id, customer.email, customer.birthday, customer.company)
            for customer in session.scalars(select(Customer).where(Customer.id.in_(ids)))
        }
    assert [stored[i] for i in ids] == [
        (row["external_id"], row["email"], row["birthday"], row["company"]) for row in rows
    ]
    with database.session() as session:  # the next customer does not reuse a taken id
        after = create_customer(session, CustomerCreate(name="After"), actor="test")
    assert after.id not in ids


def test_a_row_missing_a_value_its_column_needs_is_refused_not_defaulted(
    database: Database,
) -> None:
    """A None where the column has a default and must not be NULL fails (the ORM's bulk insert
    would have put the default in silently), and nothing is written: in a short batch and in a
    long one (PostgreSQL takes a long batch's ids first and copies the rows in)."""
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    row = {"name": "A", "status": None, "custom_fields": {}, "created_at": now, "updated_at": now}
    refused = r"(?i)not null|null value|cannot be null"
    for good_rows in (1, 400):
        with pytest.raises(Exception, match=refused), database.session() as session:
            insert_returning_ids(
                session, Customer, [row | {"status": "active"}] * good_rows + [row]
            )
        with database.session() as session:
            assert session.scalar(select(func.count(Customer.id))) == 0


def test_reading_in_parts_converts_every_row_once_and_an_empty_read_once(
    database: Database,
) -> None:
    with database.session() as session:
        for n in range(23):
            create_customer(session, CustomerCreate(name=f"P{n}"), "t")
    query = select(Customer.id, Customer.source).order_by(Customer.id)
    with database.read_session() as session:
        parts = read_in_parts(session, query, 2, lambda cols: list(zip(*cols, strict=True)), part=5)
        empty = read_in_parts(session, query.where(Customer.id < 0), 2, list, part=5)
        whole = [tuple(row) for row in session.execute(query)]
    assert [len(part) for part in parts] == [5, 5, 5, 5, 3]
    assert [row for part in parts for row in part] == whole
    assert empty == [[(), ()]]


def test_values_that_do_not_repeat_and_json_values_come_back_as_they_went_in(
    database: Database,
) -> None:
    """Scores (distinct floats), repeated texts and a JSON column's per-row dicts beside the
    column default's one dict: each value is processed once where values repeat and straight
    through where they do not, and every row reads back as written."""
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    with database.session() as session:
        core_insert(
            session, Customer,
            [{"name": f"C{i}", "status": "active", "custom_fields": {}, "created_at": now,
              "updated_at": now} for i in range(3000)],
        )  # fmt: skip
        runs = [ModelRun(kind=kind, params={}, metrics={}) for kind in ("clv", "segments")]
        session.add_all(runs)
        session.flush()
        ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
        risks = [i / 3001 + 1e-9 * (i % 7) for i in range(3000)]
        core_insert(
            session, CustomerScore,
            [{"model_run_id": runs[0].id, "customer_id": cid, "churn_risk": risk}
             for cid, risk in zip(ids, risks, strict=True)],
        )  # fmt: skip
        core_insert(
            session, CustomerScore,
            [{"model_run_id": runs[1].id, "customer_id": cid, "segment": f"s{i % 3}",
              "reasons": {"segment": [{"text": f"reason {i}", "value": i}]}}
             for i, cid in enumerate(ids)],
        )  # fmt: skip
    with database.read_session() as session:
        first = session.execute(
            select(CustomerScore.churn_risk, CustomerScore.reasons)
            .where(CustomerScore.model_run_id == runs[0].id)
            .order_by(CustomerScore.customer_id)
        ).all()
        second = session.execute(
            select(CustomerScore.segment, CustomerScore.reasons)
            .where(CustomerScore.model_run_id == runs[1].id)
            .order_by(CustomerScore.customer_id)
        ).all()
    assert [row.churn_risk for row in first] == risks
    assert all(row.reasons == {} for row in first)
    assert [row.segment for row in second] == [f"s{i % 3}" for i in range(3000)]
    assert [row.reasons["segment"][0]["value"] for row in second] == list(range(3000))
