"""A workspace's vital counts: what ``soloist status`` prints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.money import minor_to_decimal
from soloist.storage.models import (
    Customer,
    Interaction,
    ModelRun,
    Order,
    OrderLine,
    Product,
    Review,
    Subscription,
    SurveyResponse,
    Ticket,
)


def _count(session: Session, column: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count(column)).where(*where)) or 0)


def workspace_status(session: Session, currency: str) -> dict[str, Any]:
    """Counts of every kind of record and the paid revenue, as decimal strings per currency.

    ``revenue`` is the total of paid orders in the workspace's own ``currency``; orders in
    other currencies are listed under ``revenue_by_currency`` and never converted silently.
    """
    by_currency = dict(
        session.execute(
            select(Order.currency, func.sum(Order.total_minor))
            .where(Order.status == "paid")
            .group_by(Order.currency)
        ).all()
    )
    revenue_by_currency = {
        code: str(minor_to_decimal(int(total or 0), code)) for code, total in by_currency.items()
    }
    first, last = session.execute(
        select(func.min(Order.ordered_at), func.max(Order.ordered_at))
    ).one()
    latest_run = session.scalar(select(ModelRun).order_by(ModelRun.id.desc()).limit(1))
    return {
        "customers": _count(session, Customer.id, Customer.status == "active"),
        "orders": _count(session, Order.id),
        "order_lines": _count(session, OrderLine.id),
        "revenue": revenue_by_currency.get(currency, str(minor_to_decimal(0, currency))),
        "currency": currency,
        "revenue_by_currency": revenue_by_currency,
        "paid_orders": _count(session, Order.id, Order.status == "paid"),
        "refunded_orders": _count(session, Order.id, Order.status == "refunded"),
        "cancelled_orders": _count(session, Order.id, Order.status == "cancelled"),
        "products": _count(session, Product.id),
        "subscriptions": _count(session, Subscription.id),
        "active_subscriptions": _count(session, Subscription.id, Subscription.status == "active"),
        "interactions": _count(session, Interaction.id),
        "survey_responses": _count(session, SurveyResponse.id),
        "reviews": _count(session, Review.id),
        "tickets": _count(session, Ticket.id),
        "open_tickets": _count(session, Ticket.id, Ticket.status.in_(("open", "pending"))),
        "first_order_at": first.isoformat() if first else None,
        "last_order_at": last.isoformat() if last else None,
        "latest_model_run": None
        if latest_run is None
        else {"id": latest_run.id, "kind": latest_run.kind, "status": latest_run.status},
    }
