"""Small builders shared by the loyalty tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count
from random import Random
from typing import Any

from sqlalchemy.orm import Session

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty.programme import earn_for_order, enrol_customers, redeem_points
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


def old_and_new_lots(session: Session, customer_id: int, rng: Random, key: str) -> int:
    """An old lot (at T0), a newer one and a redemption taken from the oldest first; what the
    expiry a year after T0 must take (the old lot less the redemption, never less than 0)."""
    old, new = rng.randint(1, 300), rng.randint(1, 300)
    spent = rng.randint(0, old + new)
    earn_for_order(session, order(session, customer_id, str(old), T0).id, at=T0)
    later = T0 + days(200)
    earn_for_order(session, order(session, customer_id, str(new), later).id, at=later)
    if spent:
        outcome = redeem_points(session, customer_id, spent, key, "test", now=T0 + days(250))
        assert outcome.redeemed
    return max(old - spent, 0)
