"""The workspace's recommender: fitted once, then refitted in the background as orders grow."""

from __future__ import annotations

import datetime as dt
import time

from soloist.domain.customers import CustomerCreate, create_customer
from soloist.domain.orders import OrderCreate, ProductCreate, create_product, record_order
from soloist.domain.recommendations import recommender
from soloist.storage.database import Database


def _orders(database: Database, start: int, count: int) -> None:
    with database.session() as session:
        for n in range(start, start + count):
            person = create_customer(
                session, CustomerCreate(name=f"P{n}", email=f"p{n}@example.com"), "t"
            )
            skus = ["A", "B"] if n % 2 else ["C", "D"]
            record_order(
                session,
                OrderCreate(
                    customer_id=person.id, external_id=f"o{n}", currency="USD",
                    ordered_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
                    lines=[{"sku": s, "quantity": 1, "unit_price": "5.00"} for s in skus],
                ),
                "t",
            )  # fmt: skip


def test_a_page_after_new_orders_gets_the_previous_model_while_the_new_one_fits(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session() as session:
        for sku in "ABCD":
            create_product(
                session, ProductCreate(sku=sku, name=sku, price="5.00", currency="USD"), "t"
            )
    _orders(sqlite_database, 0, 20)
    with sqlite_database.read_session() as session:
        first = recommender(session)
        assert first is recommender(session)  # kept
    assert first.params_["customers"] == 20
    _orders(sqlite_database, 20, 10)  # the lines grow by half
    with sqlite_database.read_session() as session:
        assert recommender(session) is first  # answered at once, from the previous fit
        deadline = time.monotonic() + 60
        newer = first
        while newer is first and time.monotonic() < deadline:
            time.sleep(0.2)
            newer = recommender(session)
    assert newer is not first
    assert newer.params_["customers"] == 30
