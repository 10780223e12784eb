"""Every money figure of the web app says its currency; other currencies count at a rate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from soloist.app import create_app
from soloist.config import Settings
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.users import add_user
from soloist.storage.database import Database
from tests.web.conftest import PASSWORD, csrf_of, sign_in, visible_texts


@pytest.fixture
def gbp_shop(sqlite_database: Database) -> Iterator[TestClient]:
    """A GBP workspace with paid orders in GBP, EUR (rate 0.86) and JPY (no rate)."""
    values = {"currency": "GBP", "rates": {"EUR": "0.86"}}
    sqlite_database.settings = Settings(**{**sqlite_database.settings.model_dump(), **values})
    with sqlite_database.session() as session:
        add_user(session, "owner@example.com", "owner", PASSWORD, "test")
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        for number, (currency, total) in enumerate(
            [("GBP", "100.00"), ("EUR", "50.00"), ("JPY", "900")]
        ):
            record_order(
                session,
                OrderCreate(
                    external_id=f"O-{number}",
                    customer_id=customer_id,
                    ordered_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
                    currency=currency,
                    total=Decimal(total),
                ),
                "t",
            )
    with TestClient(create_app(sqlite_database.settings, sqlite_database)) as client:
        yield client


def test_the_dashboard_revenue_counts_rated_currencies_and_names_the_others(
    gbp_shop: TestClient,
) -> None:
    sign_in(gbp_shop)
    page = gbp_shop.get("/").text
    revenue = page.split('id="kpi-revenue">')[1].split("</strong>")[0]
    assert revenue == "£143.00"  # 100.00 GBP + 50.00 EUR × 0.86
    rates = page.split('id="kpi-revenue-rates">')[1].split("</em>")[0]
    assert "1 EUR = 0.86 GBP" in rates
    left_out = page.split('id="kpi-revenue-unconverted">')[1].split("</em>")[0]
    assert "Not counted, no exchange rate:" in left_out
    assert "¥900" in left_out
    texts = visible_texts(page)
    assert "Revenue (GBP)" in texts  # the chart's series says its currency


def test_the_clv_filter_says_its_currency(gbp_shop: TestClient) -> None:
    sign_in(gbp_shop)
    assert "Min. CLV (GBP)" in visible_texts(gbp_shop.get("/customers").text)


def test_the_wizards_first_orders_in_gbp_make_the_workspace_gbp(
    web: TestClient, sqlite_database: Database, tmp_path: Path
) -> None:
    """The import wizard adopts the file's currency as `soloist import` does, and says so."""
    token = sign_in(web)
    upload = tmp_path / "orders.csv"
    upload.write_text(
        "order_id,email,name,date,total,currency\n"
        "W-1,ada@example.com,Ada,2026-05-01,19.90,GBP\n"
        "W-2,bob@example.com,Bob,2026-05-02,25.00,GBP\n",
        encoding="utf-8",
    )
    with upload.open("rb") as handle:
        preview = web.post(
            "/import/preview",
            data={"kind": "orders", "csrf_token": token},
            files={"file": ("orders.csv", handle, "text/csv")},
        )
    assert preview.status_code == 200
    done = web.post("/import/confirm", data={"csrf_token": csrf_of(preview.text)})
    assert done.status_code == 200
    assert 'id="adopted-currency"' in done.text
    assert "GBP" in done.text
    assert sqlite_database.settings.currency == "GBP"
