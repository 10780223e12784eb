"""A journey's scan for new occasions reads the rows created since the last scan, by their
creation time: it must find the same occasions, and on SQLite walk the creation-time index, not
every active customer or paid order through the status index."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.journeys.triggers import find_occasions
from soloist.domain.orders import OrderCreate, record_order
from soloist.storage.database import Database
from soloist.storage.models import Customer, Journey

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _business(database: Database) -> dict[str, int]:
    """Customers and paid, cancelled and old orders created at known times."""
    with database.session() as session:
        ids = {}
        for name, created in (("old", T0 - dt.timedelta(days=40)), ("new", T0), ("gone", T0)):
            customer = create_customer(session, CustomerCreate(name=name), "t")
            customer.created_at = created
            ids[name] = customer.id
        session.get(Customer, ids["gone"]).status = "merged"  # type: ignore[union-attr]
        for number, (who, status, ordered) in enumerate(
            [
                ("old", "paid", T0 - dt.timedelta(days=30)),  # before the journey started
                ("old", "paid", T0 + dt.timedelta(hours=1)),
                ("new", "cancelled", T0 + dt.timedelta(hours=1)),
                ("new", "paid", T0 + dt.timedelta(hours=2)),
            ]
        ):
            order = record_order(
                session,
                OrderCreate(
                    external_id=f"S{number}",
                    customer_id=ids[who],
                    ordered_at=ordered,
                    currency="USD",
                    total=Decimal("10"),
                    status=status,
                ),
                "t",
            )
            order.created_at = T0 + dt.timedelta(hours=3)  # all of them imported just now
            ids[f"order{number}"] = order.id
    return ids


def test_welcome_and_order_scans_find_the_new_rows_by_their_creation_time(
    sqlite_database: Database,
) -> None:
    ids = _business(sqlite_database)
    since, now = T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=1)
    plans: list[str] = []

    def explain(_connection: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        scanned = "FROM customers" in statement or "FROM orders" in statement
        if statement.startswith("SELECT") and scanned:
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" ".join(str(row[-1]) for row in rows))

    event.listen(sqlite_database.engine, "before_cursor_execute", explain)
    try:
        with sqlite_database.read_session() as session:
            welcome = Journey(name="w", trigger="welcome", wait_hours=0, started_at=T0)
            orders = Journey(name="o", trigger="order", trigger_days=3, wait_hours=0, started_at=T0)
            welcomed = find_occasions(session, welcome, since, now, "USD")
            reviews = find_occasions(session, orders, since, now, "USD")
    finally:
        event.remove(sqlite_database.engine, "before_cursor_execute", explain)
    assert [(o.customer_id, o.key) for o in welcomed] == [(ids["new"], "welcome")]
    assert sorted((o.customer_id, o.key) for o in reviews) == sorted(
        [(ids["old"], f"order:{ids['order1']}"), (ids["new"], f"order:{ids['order3']}")]
    )
    assert len(plans) == 2, plans
    assert "ix_customers_created_at" in plans[0], plans[0]
    assert "ix_orders_created_at" in plans[1], plans[1]
