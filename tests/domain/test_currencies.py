"""Orders in several currencies: kept in their own, counted in the totals only at given rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from soloist.domain.currencies import (
    currency_warnings,
    explain_missing_orders,
    paid_order_amounts,
    revenue_by_currency,
)
from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.dashboard import build_dashboard
from soloist.domain.orders import OrderCreate, record_order
from soloist.domain.status import workspace_status
from soloist.money import check_currency, check_rate, convert_minor
from soloist.storage.database import Database
from soloist.storage.models import Order

WHEN = dt.datetime(2025, 3, 1, 10, 30, tzinfo=dt.UTC)


def _orders(database: Database, *orders: tuple[str, str, str]) -> int:
    """(external id, currency, total) paid orders of one customer; returns the customer's id."""
    with database.session() as session:
        customer_id = create_customer(session, CustomerCreate(name="Ada"), "t").id
        for external_id, currency, total in orders:
            record_order(
                session,
                OrderCreate(
                    external_id=external_id,
                    customer_id=customer_id,
                    ordered_at=WHEN,
                    currency=currency,
                    total=Decimal(total),
                ),
                "t",
            )
    return customer_id


@pytest.mark.parametrize(
    ("amount", "source", "target", "rate", "expected"),
    [
        (12345, "GBP", "USD", "1.2650", 15616),  # 156.16425 USD: down to .16
        (12355, "GBP", "USD", "1.2650", 15629),  # 156.29075: up to .29
        (1, "USD", "EUR", "0.5", 0),  # half a cent: to the even 0
        (3, "USD", "EUR", "0.5", 2),  # one and a half cents: to the even 2
        (5, "USD", "EUR", "0.5", 2),  # two and a half cents: to the even 2
        (1000, "JPY", "EUR", "0.0061", 610),  # 1,000 JPY (no minor unit) = 6.10 EUR
        (610, "EUR", "JPY", "163.9344", 1000),  # 6.10 EUR = 999.99984 JPY: 1,000
        (1234, "KWD", "USD", "3.25", 401),  # 1.234 KWD (three digits) = 4.0105 USD
        (10**15, "USD", "EUR", "0.9173", 917300000000000),  # no float anywhere
    ],
)
def test_conversion_is_exact_and_rounds_half_to_even_once(
    amount: int, source: str, target: str, rate: str, expected: int
) -> None:
    assert convert_minor(amount, source, target, Decimal(rate)) == expected


def test_bad_codes_and_rates_are_refused_with_what_was_given() -> None:
    with pytest.raises(ValueError, match="'XYZ' is not an ISO 4217 currency code"):
        check_currency("XYZ")
    assert check_currency(" gbp ") == "GBP"
    for bad in ("0", "-1", "abc", "nan", "inf", ""):
        with pytest.raises(ValueError, match=r"rate must be a number above 0|is not a number"):
            check_rate(bad)
    assert check_rate(0.86) == Decimal("0.86")  # a TOML float reads as written


def test_revenue_counts_a_currency_only_at_its_rate_and_names_the_rest(
    database: Database,
) -> None:
    _orders(
        database,
        ("G-1", "GBP", "100.00"),
        ("G-2", "GBP", "23.45"),
        ("E-1", "EUR", "50.00"),
        ("E-2", "EUR", "10.01"),
        ("J-1", "JPY", "12000"),
    )
    with database.session() as session:
        plain = revenue_by_currency(session, "GBP", {})
        rated = revenue_by_currency(session, "GBP", {"EUR": Decimal("0.86")})
    assert plain.total == Decimal("123.45")
    assert [p.currency for p in plain.unconverted] == ["EUR", "JPY"]
    # EUR 60.01 at 0.86 = 51.6086 GBP, converted once as a sum: 51.61.
    assert rated.total == Decimal("175.06")
    assert rated.orders == 4
    assert rated.rates_used == {"EUR": Decimal("0.86")}
    assert rated.by_currency() == {"GBP": "123.45", "EUR": "60.01", "JPY": "12000"}
    (warning,) = currency_warnings(rated)
    assert warning.startswith("1 paid order in JPY (12,000 JPY) not in the GBP total")
    assert "soloist rates set JPY RATE" in warning


def test_status_shows_each_currency_the_converted_total_and_warns(database: Database) -> None:
    _orders(database, ("G-1", "GBP", "100.00"), ("E-1", "EUR", "50.00"), ("J-1", "JPY", "900"))
    with database.session() as session:
        status = workspace_status(session, "GBP", {"EUR": Decimal("0.86")})
    assert status["revenue"] == "143.00"
    assert status["currency"] == "GBP"
    assert status["revenue_by_currency"] == {"GBP": "100.00", "EUR": "50.00", "JPY": "900"}
    assert status["rates"] == {"EUR": "0.86"}
    assert status["unconverted"] == ["JPY"]
    eur = next(p for p in status["revenue_parts"] if p["currency"] == "EUR")
    assert eur == {
        "currency": "EUR",
        "orders": 1,
        "amount": "50.00",
        "rate": "0.86",
        "converted": "43.00",
    }
    assert len(status["warnings"]) == 1
    assert "JPY" in status["warnings"][0]


def test_orders_all_in_another_currency_advise_init_or_a_rate(database: Database) -> None:
    _orders(database, ("G-1", "GBP", "10.00"), ("G-2", "GBP", "5.00"))
    with database.session() as session:
        status = workspace_status(session, "USD")
        message = explain_missing_orders(session, "USD", {})
    assert status["revenue"] == "0.00"
    assert status["revenue_by_currency"] == {"GBP": "15.00"}
    (warning,) = status["warnings"]
    assert "All 2 paid orders are in GBP, none in the workspace currency USD" in warning
    assert "soloist init --currency GBP" in warning
    assert "2 in GBP" in message
    assert "soloist init --currency GBP" in message
    assert "soloist rates set GBP RATE" in message


def test_paid_order_amounts_convert_each_order_and_leave_out_those_without_a_rate(
    database: Database,
) -> None:
    customer_id = _orders(
        database,
        ("G-1", "GBP", "20.00"),
        ("E-1", "EUR", "10.05"),
        ("J-1", "JPY", "500"),
        ("E-2", "EUR", "3.00"),
    )
    with database.session() as session:
        refunded = session.scalars(select(Order).where(Order.external_id == "E-2")).one()
        refunded.refunded_minor = 100  # 1.00 EUR given back
        refunded.cost_minor = 150
    with database.session() as session:
        rows = paid_order_amounts(session, "GBP", {"EUR": Decimal("0.86")})
        mine = paid_order_amounts(session, "GBP", {"EUR": Decimal("0.86")}, customer_id=customer_id)
    by_amount = sorted((r.amount_minor, r.cost_minor) for r in rows)
    # 10.05 EUR = 8.643 GBP → 864; (3.00 − 1.00) EUR = 1.72 GBP; cost 1.50 EUR = 1.29 GBP.
    assert by_amount == [(172, 129), (864, None), (2000, None)]
    assert {r.customer_id for r in rows} == {customer_id}
    assert len(mine) == 3
    with database.session() as session:
        assert [r.amount_minor for r in paid_order_amounts(session, "GBP", {})] == [2000]


def test_dashboard_revenue_counts_converted_orders_and_lists_the_rest(database: Database) -> None:
    _orders(database, ("G-1", "GBP", "100.00"), ("E-1", "EUR", "50.00"), ("J-1", "JPY", "900"))
    with database.session() as session:
        board = build_dashboard(session, "GBP", {"EUR": Decimal("0.86")})
        plain = build_dashboard(session, "GBP")
    assert board.revenue_12m_minor == 14300
    assert board.orders_12m == 2
    assert [m.revenue_minor for m in board.revenue_trend] == [14300]
    assert board.unconverted_12m == {"JPY": 900}
    assert plain.revenue_12m_minor == 10000
    assert plain.unconverted_12m == {"EUR": 5000, "JPY": 900}


def test_a_partial_refund_leaves_the_revenue(database: Database) -> None:
    """A Shopify or WooCommerce order refunded in part stays paid; what was refunded is not
    revenue in the totals, the dashboard or the customer's figures."""
    customer_id = _orders(database, ("R-1", "GBP", "100.00"), ("R-2", "GBP", "40.00"))
    with database.session() as session:
        order = session.scalars(select(Order).where(Order.external_id == "R-1")).one()
        order.refunded_minor = 2500
    with database.session() as session:
        totals = revenue_by_currency(session, "GBP", {})
        status = workspace_status(session, "GBP")
    assert totals.total == Decimal("115.00")
    assert status["revenue"] == "115.00"
    assert customer_id
