"""Analyses run one after the other share one read of the paid orders while they are unchanged
(``soloist analyze``, the nightly refit), not changed by what the analyses store, and read again
after any change of the orders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import event, select

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.intake.orders import refund_order
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.scoring.clv import load_paid_orders
from soloist.domain.scoring.shared_orders import paid_orders_shared
from soloist.storage.database import Database
from soloist.storage.models import Order

WHEN = dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC)


@contextmanager
def order_reads(database: Database) -> Iterator[list[str]]:
    """The statements that read every customer's paid orders meanwhile (not one customer's, as
    recording an order does to rescore its customer)."""
    seen: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])
        amounts = "total_minor - orders.refunded_minor" in statement
        one_customer = "orders.customer_id =" in statement
        if statement.startswith("SELECT") and amounts and not one_customer:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _orders(database: Database, customer_id: int, *numbers: int) -> None:
    with database.session() as session:
        for n in numbers:
            order = OrderCreate(
                external_id=f"o{n}",
                customer_id=customer_id,
                ordered_at=WHEN + dt.timedelta(days=n),
                currency="USD",
                total=Decimal("10.00") * n,
            )
            record_order(session, order, "t")


def test_analyses_share_one_read_of_unchanged_orders(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ana"), "t").id
    _orders(database, customer_id, 1, 2, 3)
    with order_reads(database) as reads, paid_orders_shared():
        with database.read_session() as session:
            first = load_paid_orders(session, "USD")
            first["amount"] = 0.0  # a caller's own copy: the next one does not see this
        with database.session() as session:  # an analysis stored meanwhile: no change
            record_audit(session, "t", "model_run.finished", "model_run", 1, {"kind": "clv"})
        with database.read_session() as session:
            second = load_paid_orders(session, "USD")
        assert len(reads) == 1
        assert sorted(second["amount"]) == [10.0, 20.0, 30.0]
        _orders(database, customer_id, 4)  # a new order: read again
        with database.read_session() as session:
            third = load_paid_orders(session, "USD")
        assert len(reads) == 2
        assert sorted(third["amount"]) == [10.0, 20.0, 30.0, 40.0]
        with database.session() as session:  # a refund: read again
            order_id = session.scalar(select(Order.id).where(Order.external_id == "o2"))
            assert order_id is not None
            refund_order(session, order_id, Decimal("5.00"), "t")
        with database.read_session() as session:
            fourth = load_paid_orders(session, "USD")
        assert len(reads) == 3
        assert sorted(fourth["amount"]) == [10.0, 15.0, 30.0, 40.0]  # in no set order
    with order_reads(database) as reads, database.read_session() as session:
        load_paid_orders(session, "USD")
        load_paid_orders(session, "USD")
    assert len(reads) == 2  # outside, every analysis reads for itself
