"""Small builders shared by the loyalty tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty.programme import enrol_customers
from soloist.domain.loyalty.rules import update_programme_settings
from soloist.domain.orders import OrderCreate, record_order
from soloist.storage.models import Order

T0 = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.UTC)
_numbers = count(1)


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def programme(session: Session, **rules: Any) -> None:
    """Rules for a test: no holdout, no sign-up bonus unless asked."""
    base: dict[str, Any] = {"holdout_share": 0.0, "launched_at": T0.isoformat()}
    base["bonus_points"] = {
        "signup": 0,
        "birthday": 200,
        "review": 50,
        "referrer": 500,
        "referred": 250,
    }
    update_programme_settings(session, base | rules, "test")


def member(session: Session, name: str = "Ada", *, at: dt.datetime = T0, **fields: Any) -> int:
    customer = create_customer(session, CustomerCreate(name=name, **fields), "test")
    enrol_customers(session, "test", customer_ids=[customer.id], now=at)
    return customer.id


def order(
    session: Session, customer_id: int, amount: str, at: dt.datetime, status: str = "paid"
) -> Order:
    return record_order(
        session,
        OrderCreate(
            external_id=f"T-{next(_numbers)}",
            customer_id=customer_id,
            ordered_at=at,
            currency="USD",
            total=Decimal(amount),
            status=status,
        ),
        "test",
    )
