"""Subscriptions of subscription businesses: start and cancel, with the reason kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import get_customer
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.money import decimal_to_minor
from soloist.storage.models import BILLING_INTERVALS, Subscription


def start_subscription(
    session: Session,
    customer_id: int,
    plan: str,
    price: Decimal,
    currency: str,
    actor: str,
    *,
    billing_interval: str = "month",
    started_at: dt.datetime | None = None,
    external_id: str | None = None,
) -> Subscription:
    if billing_interval not in BILLING_INTERVALS:
        raise ValidationError(
            f"Unknown interval {billing_interval!r}; use one of {', '.join(BILLING_INTERVALS)}.",
            field="billing_interval",
        )
    get_customer(session, customer_id)
    subscription = Subscription(
        customer_id=customer_id,
        plan=plan,
        price_minor=decimal_to_minor(price, currency.upper()),
        currency=currency.upper(),
        billing_interval=billing_interval,
        status="active",
        started_at=started_at or dt.datetime.now(dt.UTC),
        external_id=external_id,
    )
    session.add(subscription)
    session.flush()
    record_audit(
        session,
        actor,
        "subscription.started",
        "subscription",
        subscription.id,
        {"customer_id": customer_id, "plan": plan},
    )
    return subscription


def cancel_subscription(
    session: Session,
    subscription_id: int,
    actor: str,
    *,
    reason: str | None = None,
    cancelled_at: dt.datetime | None = None,
) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFoundError(f"No subscription with id {subscription_id}.")
    if subscription.status == "cancelled":
        raise ConflictError(f"Subscription {subscription_id} is cancelled already.")
    subscription.status = "cancelled"
    subscription.cancelled_at = cancelled_at or dt.datetime.now(dt.UTC)
    subscription.cancel_reason = reason
    record_audit(
        session,
        actor,
        "subscription.cancelled",
        "subscription",
        subscription.id,
        {"reason": reason},
    )
    return subscription
