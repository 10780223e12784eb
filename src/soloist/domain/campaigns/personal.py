"""The fields a campaign template sees for one customer, read in bulk for a batch of them.

Only plain values go into the context (strings, numbers, dicts of them), so the sandboxed
template can reach nothing else. ``customer`` offers ``name``, ``first_name``, ``email``,
``language``, ``points`` (the loyalty balance), ``tier`` (its name, or none),
``last_product`` (the product of the newest paid order), ``clv_band`` (``high`` for the top
fifth of the latest CLV run, ``medium`` for the next three tenths, ``low`` for the rest) and
``recommendations`` (up to three products the recommender offers them, each ``name`` and
``sku``, best first; see soloist.domain.recommendations) and ``recommendation`` (the first of
them, or else the best seller of the last year they have not bought, or none). The sender adds
``unsubscribe_url``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from soloist.domain.scoring.scores import current_runs
from soloist.storage.models import (
    Customer,
    CustomerScore,
    LedgerEntry,
    LoyaltyAccount,
    LoyaltyTier,
    Order,
    OrderLine,
    Product,
)

FIELDS = (
    "name",
    "first_name",
    "email",
    "language",
    "points",
    "tier",
    "last_product",
    "clv_band",
    "recommendation",
    "recommendations",
)
POPULAR_DAYS = 365
POPULAR_COUNT = 50


def campaign_language(language: str | None) -> str:
    """The version a customer reads: ``zh-CN`` for any Chinese, else ``en``."""
    code = (language or "").strip().lower().replace("_", "-")
    return "zh-CN" if code.startswith("zh") else "en"


def first_name_of(name: str) -> str:
    """The first word of a Western name; a name written without spaces (王小明) stays whole,
    since its given name cannot be told from the surname safely."""
    parts = name.split()
    return parts[0] if parts else ""


class PersonalFields:
    """Reads what the templates need once per send (CLV bands, best sellers), then the
    customers' own fields batch by batch."""

    def __init__(self, session: Session, now: dt.datetime, *, offers: bool = True) -> None:
        """``offers=False`` skips the recommender (for templates that do not use it)."""
        self.offers = offers
        self.clv_run_id, self.clv_cuts = self._clv_cuts(session)
        self.popular = self._popular(session, now - dt.timedelta(days=POPULAR_DAYS))

    @staticmethod
    def _clv_cuts(session: Session) -> tuple[int | None, tuple[float, float] | None]:
        run_id = current_runs(session).get("clv_12m_minor")
        if run_id is None:
            return None, None
        scored = select(CustomerScore.clv_12m_minor).where(
            CustomerScore.model_run_id == run_id, CustomerScore.clv_12m_minor.is_not(None)
        )
        values = np.array(list(session.scalars(scored)), dtype=float)
        if values.size == 0:
            return run_id, None
        medium, high = np.quantile(values, [0.5, 0.8])
        return run_id, (float(medium), float(high))

    @staticmethod
    def _popular(session: Session, since: dt.datetime) -> list[tuple[int, str, str]]:
        buyers = func.count(distinct(Order.customer_id))
        rows = session.execute(
            select(Product.id, Product.name, Product.sku)
            .join(OrderLine, OrderLine.product_id == Product.id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.status == "paid", Order.ordered_at >= since, Product.active.is_(True))
            .group_by(Product.id, Product.name, Product.sku)
            .order_by(buyers.desc(), Product.id)
            .limit(POPULAR_COUNT)
        ).all()
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def _band(self, clv_minor: int | None) -> str | None:
        if clv_minor is None or self.clv_cuts is None:
            return None
        medium, high = self.clv_cuts
        return "high" if clv_minor >= high else "medium" if clv_minor >= medium else "low"

    def for_customers(
        self, session: Session, customer_ids: Sequence[int]
    ) -> dict[int, dict[str, Any]]:
        """``customer`` dicts keyed by id (customers that do not exist are absent)."""
        ids = list(customer_ids)
        if not ids:
            return {}
        customers = session.scalars(select(Customer).where(Customer.id.in_(ids))).all()
        balances = dict(
            session.execute(
                select(LedgerEntry.customer_id, func.sum(LedgerEntry.points))
                .where(LedgerEntry.customer_id.in_(ids))
                .group_by(LedgerEntry.customer_id)
            ).all()
        )
        tiers = dict(
            session.execute(
                select(LoyaltyAccount.customer_id, LoyaltyTier.name)
                .join(LoyaltyTier, LoyaltyTier.id == LoyaltyAccount.tier_id)
                .where(LoyaltyAccount.customer_id.in_(ids))
            ).all()
        )
        clv: dict[int, int | None] = {}
        if self.clv_run_id is not None:
            clv = dict(
                session.execute(
                    select(CustomerScore.customer_id, CustomerScore.clv_12m_minor).where(
                        CustomerScore.model_run_id == self.clv_run_id,
                        CustomerScore.customer_id.in_(ids),
                    )
                ).all()
            )
        last_products, bought = _purchases(session, ids)
        offers = self._offers(session, ids, bought) if self.offers else {}
        result: dict[int, dict[str, Any]] = {}
        for customer in customers:
            seen = bought.get(customer.id, set())
            pick = next((p for p in self.popular if p[0] not in seen), None)
            personal = offers.get(customer.id, [])
            result[customer.id] = {
                "id": customer.id,
                "name": customer.name,
                "first_name": first_name_of(customer.name),
                "email": customer.email or "",
                "language": campaign_language(customer.language),
                "points": int(balances.get(customer.id) or 0),
                "tier": tiers.get(customer.id),
                "last_product": last_products.get(customer.id),
                "clv_band": self._band(clv.get(customer.id)),
                "recommendation": personal[0]
                if personal
                else ({"name": pick[1], "sku": pick[2]} if pick else None),
                "recommendations": personal,
            }
        return result

    @staticmethod
    def _offers(
        session: Session, ids: list[int], bought: dict[int, set[int]]
    ) -> dict[int, list[dict[str, str]]]:
        from soloist.domain.recommendations import offers_for_customers
        from soloist.errors import AnalyticsInputError

        try:
            return offers_for_customers(session, ids, bought)
        except AnalyticsInputError:  # too little history to learn from: the best sellers
            return {}


def _purchases(session: Session, ids: list[int]) -> tuple[dict[int, str], dict[int, set[int]]]:
    """The newest paid order's first product per customer, and every product bought."""
    rows = session.execute(
        select(
            Order.customer_id,
            Order.ordered_at,
            OrderLine.line_no,
            OrderLine.product_id,
            func.coalesce(Product.name, OrderLine.description, OrderLine.sku),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .where(Order.customer_id.in_(ids), Order.status == "paid")
        .order_by(Order.customer_id, Order.ordered_at.desc(), Order.id.desc(), OrderLine.line_no)
    ).all()
    last: dict[int, str] = {}
    bought: dict[int, set[int]] = {}
    for customer_id, _at, _line, product_id, name in rows:
        if customer_id not in last and name:
            last[customer_id] = str(name)
        if product_id is not None:
            bought.setdefault(customer_id, set()).add(int(product_id))
    return last, bought
