"""The workspace's recommender: fitted once, then refitted in the background as orders grow."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

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


def test_offers_the_customer_would_rate_poorly_are_left_out(sqlite_database: Database) -> None:
    """Everyone who reviewed D gave it one star: a customer who bought C (bought with D) is not
    offered D, though the purchases alone would offer it first; A and B come with their
    stars."""
    from soloist.domain.feedback import add_review
    from soloist.domain.recommendations import rating_model, recommend_for_customer

    with sqlite_database.session() as session:
        ids = {
            sku: create_product(
                session, ProductCreate(sku=sku, name=sku, price="5.00", currency="USD"), "t"
            ).id
            for sku in "ABCD"
        }
    _orders(sqlite_database, 0, 40)  # odd customers buy A+B, even ones C+D
    with sqlite_database.session() as session:
        for customer in range(1, 41):
            reviewed = ("A", "B", "D") if customer % 2 == 0 else ("C", "D")  # ids start at 1
            for sku in reviewed:
                stars = 1 if sku == "D" else 5
                add_review(session, stars, "t", customer_id=customer, product_id=ids[sku])
        probe = create_customer(session, CustomerCreate(name="Q", email="q@example.com"), "t")
        record_order(
            session,
            OrderCreate(
                customer_id=probe.id, external_id="probe", currency="USD",
                ordered_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                lines=[{"sku": "C", "quantity": 1, "unit_price": "5.00"}],
            ),
            "t",
        )  # fmt: skip
        probe_id = probe.id
    with sqlite_database.read_session() as session:
        offers = recommend_for_customer(session, probe_id, k=3)
        stars = rating_model(session).predict(
            pd.DataFrame({"customer": probe_id, "item": [ids["A"], ids["D"]]})
        )
    skus = [o.sku for o in offers]
    assert "D" not in skus
    assert set(skus) == {"A", "B"}
    assert stars[1] < 3.0 < stars[0]
    assert [o.predicted_rating for o in offers] == [round(float(stars[0]), 2)] * 2


def test_a_product_not_sold_yet_is_offered_to_buyers_of_its_category(
    sqlite_database: Database,
) -> None:
    from soloist.domain.recommendations import recommend_for_customer

    with sqlite_database.session() as session:
        for sku in "ABCD":
            create_product(
                session,
                ProductCreate(sku=sku, name=sku, price="5.00", currency="USD", category="tea"),
                "t",
            )
        create_product(
            session,
            ProductCreate(sku="NEW", name="New tea", price="5.00", currency="USD", category="tea"),
            "t",
        )
        create_product(
            session,
            ProductCreate(sku="MUG", name="Mug", price="5.00", currency="USD", category="gear"),
            "t",
        )
    _orders(sqlite_database, 0, 20)
    with sqlite_database.read_session() as session:
        offers = recommend_for_customer(session, 1, k=10)  # bought C and D
    fresh = [o for o in offers if o.reason == "new_in_category"]
    assert [o.sku for o in fresh] == ["NEW"]  # not the unsold mug: they buy no gear
    assert fresh[0].category == "tea"
    assert offers[-1].sku == "NEW"  # after what the model offers
