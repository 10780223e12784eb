"""A workspace's vital counts: what ``soloist status`` prints."""

from __future__ import annotations

import datetime as dt
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


def _count(model: Any, *where: Any) -> Any:
    return select(func.count()).select_from(model.__table__).where(*where).scalar_subquery()


def _counts(session: Session) -> dict[str, Any]:
    """Every count in one statement, on table columns.

    Separate queries would each be compiled, and ORM ones would first configure every mapper;
    for a short-lived ``soloist status`` those are most of what it spends in SQLAlchemy.
    """
    customers, orders = Customer.__table__.c, Order.__table__.c
    counts = {
        "customers": _count(Customer, customers.status == "active"),
        "orders": _count(Order),
        "order_lines": _count(OrderLine),
        "paid_orders": _count(Order, orders.status == "paid"),
        "refunded_orders": _count(Order, orders.status == "refunded"),
        "cancelled_orders": _count(Order, orders.status == "cancelled"),
        "products": _count(Product),
        "subscriptions": _count(Subscription),
        "active_subscriptions": _count(Subscription, Subscription.__table__.c.status == "active"),
        "interactions": _count(Interaction),
        "survey_responses": _count(SurveyResponse),
        "reviews": _count(Review),
        "tickets": _count(Ticket),
        "open_tickets": _count(Ticket, Ticket.__table__.c.status.in_(("open", "pending"))),
        "first_order_at": select(func.min(orders.ordered_at)).scalar_subquery(),
        "last_order_at": select(func.max(orders.ordered_at)).scalar_subquery(),
    }
    row = session.execute(select(*(c.label(name) for name, c in counts.items()))).one()
    return dict(row._mapping)


def _isoformat(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


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
    runs = ModelRun.__table__.c
    latest_run = session.execute(
        select(runs.id, runs.kind, runs.status).order_by(runs.id.desc()).limit(1)
    ).first()
    counts = _counts(session)
    return {
        "customers": counts["customers"],
        "orders": counts["orders"],
        "order_lines": counts["order_lines"],
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
        "paid_orders": counts["paid_orders"],
        "refunded_orders": counts["refunded_orders"],
        "cancelled_orders": counts["cancelled_orders"],
        "products": counts["products"],
        "subscriptions": counts["subscriptions"],
        "active_subscriptions": counts["active_subscriptions"],
        "interactions": counts["interactions"],
        "survey_responses": counts["survey_responses"],
        "reviews": counts["reviews"],
        "tickets": counts["tickets"],
        "open_tickets": counts["open_tickets"],
        "first_order_at": _isoformat(counts["first_order_at"]),
        "last_order_at": _isoformat(counts["last_order_at"]),
        "latest_model_run": None
        if latest_run is None
        else {"id": latest_run.id, "kind": latest_run.kind, "status": latest_run.status},
    }
