"""Subscriptions of subscription businesses: start and cancel, with the reason kept; upsert by
external id for a billing system's webhooks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import get_customer
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.money import decimal_to_minor
from soloist.storage.models import BILLING_INTERVALS, SUBSCRIPTION_STATUSES, Subscription


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


def upsert_subscription(
    session: Session,
    external_id: str,
    customer_id: int,
    plan: str,
    price: Decimal,
    currency: str,
    actor: str,
    *,
    billing_interval: str = "month",
    status: str = "active",
    started_at: dt.datetime | None = None,
    cancelled_at: dt.datetime | None = None,
    cancel_reason: str | None = None,
) -> str:
    """Bring the subscription keyed ``external_id`` to these values (a billing system's own
    record of it): ``"created"``, ``"updated"`` (audited with what changed) or ``"unchanged"``."""
    if status not in SUBSCRIPTION_STATUSES:
        raise ValidationError(
            f"Unknown status {status!r}; use one of {', '.join(SUBSCRIPTION_STATUSES)}.",
            field="status",
        )
    subscription = session.scalars(
        select(Subscription).where(Subscription.external_id == external_id)
    ).first()
    if subscription is None:
        subscription = start_subscription(
            session,
            customer_id,
            plan,
            price,
            currency,
            actor,
            billing_interval=billing_interval,
            started_at=started_at,
            external_id=external_id,
        )
        if status != "active":
            subscription.status = status
            subscription.cancelled_at = cancelled_at
            subscription.cancel_reason = cancel_reason
        return "created"
    if billing_interval not in BILLING_INTERVALS:
        raise ValidationError(f"Unknown interval {billing_interval!r}.", field="billing_interval")
    values: dict[str, object] = {
        "customer_id": customer_id,
        "plan": plan,
        "price_minor": decimal_to_minor(price, currency.upper()),
        "currency": currency.upper(),
        "billing_interval": billing_interval,
        "status": status,
        "cancelled_at": cancelled_at,
        "cancel_reason": cancel_reason,
    }
    if started_at is not None:
        values["started_at"] = started_at
    changed = {
        name: value for name, value in values.items() if getattr(subscription, name) != value
    }
    if not changed:
        return "unchanged"
    for name, value in changed.items():
        setattr(subscription, name, value)
    record_audit(
        session,
        actor,
        "subscription.updated",
        "subscription",
        subscription.id,
        {name: str(value) if value is not None else None for name, value in changed.items()},
    )
    return "updated"
