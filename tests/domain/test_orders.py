from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from soloist.domain.audit import audit_trail
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.orders import (
    OrderCreate,
    OrderLineCreate,
    ProductCreate,
    create_product,
    record_order,
    set_order_status,
)
from soloist.domain.status import workspace_status
from soloist.errors import ConflictError, ValidationError
from soloist.storage.database import Database

WHEN = dt.datetime(2025, 3, 1, 10, 30, tzinfo=dt.UTC)


def _order(customer_id: int, external_id: str = "A-1", **extra: object) -> OrderCreate:
    return OrderCreate(
        external_id=external_id,
        customer_id=customer_id,
        ordered_at=WHEN,
        currency="usd",
        lines=[
            OrderLineCreate(sku="BEAN-1", quantity=2, unit_price=Decimal("12.90")),
            OrderLineCreate(description="Filters", quantity=1, unit_price=Decimal("0.10")),
        ],
        **extra,
    )


def test_record_order_totals_lines_exactly(database: Database) -> None:
    with database.session() as session:
        create_product(
            session,
            ProductCreate(sku="BEAN-1", name="Beans", price=Decimal("12.90"), currency="USD"),
            "t",
        )
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        order = record_order(session, _order(customer_id), "t")
        order_id = order.id
    with database.session() as session:
        from soloist.storage.models import Order

        loaded = session.get(Order, order_id)
        assert loaded is not None
        assert loaded.total == Decimal("25.90")
        assert loaded.currency == "USD"
        assert loaded.ordered_at == WHEN
        assert [line.amount_minor for line in loaded.lines] == [2580, 10]
        assert loaded.lines[0].product_id is not None
        assert loaded.lines[1].product_id is None
        status = workspace_status(session, "USD")
        assert (status["orders"], status["order_lines"], status["revenue"]) == (1, 2, "25.90")


def test_the_same_order_number_twice_is_refused(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        record_order(session, _order(customer_id), "t")
    with pytest.raises(ConflictError), database.session() as session:
        record_order(session, _order(customer_id), "t")


def test_amounts_finer_than_the_currency_allows_are_refused(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
    with pytest.raises(ValidationError, match="decimal places"), database.session() as session:
        record_order(session, _order(customer_id, total=Decimal("1.001")), "t")


def test_refunded_orders_leave_revenue_and_the_change_is_audited(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        first = record_order(session, _order(customer_id, "A-1"), "t").id
        record_order(session, _order(customer_id, "A-2"), "t")
        set_order_status(session, first, "refunded", "user:1")
    with database.session() as session:
        status = workspace_status(session, "USD")
        assert status["revenue"] == "25.90"
        assert status["refunded_orders"] == 1
        entry = audit_trail(session, "order", first)[0]
        assert entry.action == "order.status_changed"
        assert entry.changes == {"status": ["paid", "refunded"]}


def test_naive_order_times_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        OrderCreate(
            external_id="X", customer_id=1, ordered_at=dt.datetime(2025, 1, 1), currency="USD"
        )


def test_yen_amounts_have_no_minor_units(database: Database) -> None:
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        order = record_order(
            session,
            OrderCreate(
                external_id="JP-1",
                customer_id=customer_id,
                ordered_at=WHEN,
                currency="JPY",
                total=Decimal("1500"),
            ),
            "t",
        )
        assert order.total_minor == 1500
        assert workspace_status(session, "USD")["revenue_by_currency"] == {"JPY": "1500"}
