"""The segments page says plainly what the latest segmentation's data cannot support."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi.testclient import TestClient

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.scoring.segments import segment_customers
from soloist.storage.database import Database
from tests.web.conftest import sign_in


def test_one_time_buyers_are_named_as_such_on_the_segments_page(
    web: TestClient, sqlite_database: Database
) -> None:
    start = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    with sqlite_database.session() as session:
        for n in range(40):  # 39 buy once, one comes back: 97 % one-time buyers
            cid = create_customer(session, CustomerCreate(name=f"C{n}"), "t").id
            for k in range(2 if n == 0 else 1):
                record_order(
                    session,
                    OrderCreate(external_id=f"o{n}-{k}", customer_id=cid,
                                ordered_at=start + dt.timedelta(days=3 * n + 30 * k),
                                currency="USD", total=Decimal(10 + n)),
                    "t",
                )  # fmt: skip
        metrics = segment_customers(session, "USD", "t").metrics
    assert metrics["warnings"][0]["code"] == "one_time_buyers"
    sign_in(web)
    page = web.get("/segments").text
    assert 'id="segment-warning-1"' in page
    assert "97% of the customers bought only once" in page
    assert "no one-time buyer is called a champion, loyal, a potential loyalist" in page
