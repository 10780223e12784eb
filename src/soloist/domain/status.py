"""A workspace's vital counts: what ``soloist status`` prints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soloist.domain.currencies import Rates, currency_warnings, revenue_by_currency
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


def workspace_status(session: Session, currency: str, rates: Rates | None = None) -> dict[str, Any]:
    """Counts of every kind of record and the paid revenue, as decimal strings.

    ``revenue`` is the paid revenue in the workspace ``currency``: its own orders, and orders
    in other currencies converted at ``rates`` (1 CODE = RATE ``currency``; ``rates`` lists the
    ones used). ``revenue_by_currency`` gives each currency's sum in that currency, and
    ``revenue_parts`` each currency's orders, sum, rate and converted sum;
    ``unconverted`` the currencies with paid orders but no rate, left out of ``revenue`` and
    explained in ``warnings``, never converted silently.
    """
    totals = revenue_by_currency(session, currency, rates or {})
    first, last = session.execute(
        select(func.min(Order.ordered_at), func.max(Order.ordered_at))
    ).one()
    latest_run = session.scalar(select(ModelRun).order_by(ModelRun.id.desc()).limit(1))
    return {
        "customers": _count(session, Customer.id, Customer.status == "active"),
        "orders": _count(session, Order.id),
        "order_lines": _count(session, OrderLine.id),
        "revenue": str(totals.total),
        "currency": currency,
        "revenue_by_currency": totals.by_currency(),
        "revenue_parts": [
            {
                "currency": p.currency,
                "orders": p.orders,
                "amount": str(p.amount),
                "rate": None if p.rate is None else str(p.rate),
                "converted": None
                if p.converted_minor is None
                else str(minor_to_decimal(p.converted_minor, currency)),
            }
            for p in totals.parts
        ],
        "rates": {code: str(rate) for code, rate in totals.rates_used.items()},
        "unconverted": [p.currency for p in totals.unconverted],
        "warnings": currency_warnings(totals),
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
