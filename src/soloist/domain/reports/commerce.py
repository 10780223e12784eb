"""The report's money and customers: revenue and its movements, active customers, CLV.

Revenue is paid order totals less partial refunds, converted into the workspace currency at
its rates (orders in a currency without a rate are left out, as on the dashboard). Its
movements split the period's buyers by their history (a common growth-accounting split):

- **new**: their first paid order ever is in the period;
- **repeat**: they bought in the previous period too;
- **returning**: they bought before, but not in the previous period;
- **lost**: they bought in the previous period and not in this one (their revenue is the
  previous period's, the revenue that did not come back).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from soloist.domain.currencies import Rates, in_currency
from soloist.domain.reports.periods import Period
from soloist.domain.scoring.scores import current_runs
from soloist.storage.models import CustomerScore, Order

ACTIVE_DAYS = 90
MOVEMENTS = ("new", "repeat", "returning", "lost")
HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class Compared:
    """A figure in the report's period and in the one before (None: nothing to measure)."""

    current: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """The relative change (0.12: up 12 %); None without a previous figure above 0."""
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / abs(self.previous)


@dataclass(frozen=True)
class Movement:
    kind: str  # new | repeat | returning | lost
    customers: Compared
    revenue_minor: Compared


@dataclass
class RevenueFigures:
    revenue_minor: Compared
    orders: Compared
    average_order_minor: Compared
    movements: list[Movement]
    trend: list[tuple[str, int]]  # (period label, revenue in minor units), oldest first


@dataclass
class CustomerFigures:
    active: Compared  # bought in the 90 days before the period's end
    new: Compared
    clv_total_minor: int | None = None
    clv_average_minor: int | None = None
    clv_scored: int = 0
    # (lower bound, upper bound, customers) of predicted 12-month CLV, in minor units
    clv_histogram: list[tuple[int, int, int]] = field(default_factory=list)


def _paid_in(start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    return and_(Order.ordered_at >= start, Order.ordered_at < end)


def _per_customer(
    session: Session, periods: list[Period], currency: str, rates: Rates
) -> dict[int, list[int]]:
    """Customer id → revenue in each of ``periods`` (minor units of ``currency``)."""
    columns = [
        func.sum(
            case((_paid_in(p.start, p.end), Order.total_minor - Order.refunded_minor), else_=0)
        )
        for p in periods
    ]
    rows: Any = session.execute(
        select(Order.customer_id, Order.currency, *columns)
        .where(
            Order.status == "paid",
            Order.currency.in_(sorted({currency, *rates})),
            _paid_in(periods[0].start, periods[-1].end),
        )
        .group_by(Order.customer_id, Order.currency)
    ).all()
    revenue: dict[int, list[int]] = {}
    for customer_id, code, *amounts in rows:
        into = revenue.setdefault(int(customer_id), [0] * len(periods))
        for i, amount in enumerate(amounts):
            into[i] += in_currency(int(amount or 0), str(code), currency, rates) or 0
    return revenue


def _first_orders(session: Session, ids: list[int]) -> dict[int, dt.datetime]:
    firsts: dict[int, dt.datetime] = {}
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        for customer_id, first in session.execute(
            select(Order.customer_id, func.min(Order.ordered_at))
            .where(Order.status == "paid", Order.customer_id.in_(part))
            .group_by(Order.customer_id)
        ):
            firsts[int(customer_id)] = first if first.tzinfo else first.replace(tzinfo=dt.UTC)
    return firsts


def _order_counts(session: Session, periods: list[Period]) -> list[int]:
    columns = [func.sum(case((_paid_in(p.start, p.end), 1), else_=0)) for p in periods]
    row = session.execute(select(*columns).where(Order.status == "paid")).one()
    return [int(value or 0) for value in row]


def revenue_figures(
    session: Session, trend: list[Period], currency: str, rates: Rates
) -> RevenueFigures:
    """``trend``: the periods of the trend chart, the report's period last."""
    current, previous = trend[-1], trend[-2]
    revenue = _per_customer(session, trend, currency, rates)
    totals = [sum(amounts[i] for amounts in revenue.values()) for i in range(len(trend))]
    # The previous period's split looks one period further back ("repeat"): the trend has it.
    buyers = {c for c, a in revenue.items() if a[-1] > 0 or a[-2] > 0}
    firsts = _first_orders(session, sorted(buyers))

    def split(now_i: int, period: Period) -> dict[str, tuple[int, int]]:
        found = {kind: [0, 0] for kind in MOVEMENTS}
        for customer, amounts in revenue.items():
            this, before = amounts[now_i], amounts[now_i - 1] if now_i > 0 else 0
            first = firsts.get(customer)
            if this > 0:
                if first is not None and period.contains(first):
                    kind = "new"
                elif before > 0:
                    kind = "repeat"
                else:
                    kind = "returning"
                found[kind][0] += 1
                found[kind][1] += this
            elif before > 0:
                found["lost"][0] += 1
                found["lost"][1] += before
        return {kind: (n, amount) for kind, (n, amount) in found.items()}

    last = len(trend) - 1
    now_split, before_split = split(last, current), split(last - 1, previous)
    movements = [
        Movement(
            kind,
            Compared(now_split[kind][0], before_split[kind][0]),
            Compared(now_split[kind][1], before_split[kind][1]),
        )
        for kind in MOVEMENTS
    ]
    orders = _order_counts(session, [previous, current])
    average = [
        totals[-2] / orders[0] if orders[0] else None,
        totals[-1] / orders[1] if orders[1] else None,
    ]
    return RevenueFigures(
        revenue_minor=Compared(totals[-1], totals[-2]),
        orders=Compared(orders[1], orders[0]),
        average_order_minor=Compared(average[1], average[0]),
        movements=movements,
        trend=[(p.label, totals[i]) for i, p in enumerate(trend)],
    )


def _active(session: Session, end: dt.datetime) -> int:
    since = end - dt.timedelta(days=ACTIVE_DAYS)
    return int(
        session.scalar(
            select(func.count(func.distinct(Order.customer_id))).where(
                Order.status == "paid", _paid_in(since, end)
            )
        )
        or 0
    )


def _new_customers(session: Session, period: Period) -> int:
    firsts = (
        select(Order.customer_id)
        .where(Order.status == "paid")
        .group_by(Order.customer_id)
        .having(
            and_(
                func.min(Order.ordered_at) >= period.start, func.min(Order.ordered_at) < period.end
            )
        )
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(firsts)) or 0)


def customer_figures(session: Session, current: Period, previous: Period) -> CustomerFigures:
    figures = CustomerFigures(
        active=Compared(_active(session, current.end), _active(session, previous.end)),
        new=Compared(_new_customers(session, current), _new_customers(session, previous)),
    )
    run = current_runs(session).get("clv_12m_minor")
    if run is None:
        return figures
    values = np.array(
        session.scalars(
            select(CustomerScore.clv_12m_minor).where(
                CustomerScore.model_run_id == run, CustomerScore.clv_12m_minor.is_not(None)
            )
        ).all(),
        dtype=float,
    )
    if not values.size:
        return figures
    figures.clv_scored = int(values.size)
    figures.clv_total_minor = int(values.sum())
    figures.clv_average_minor = round(float(values.mean()))
    # Equal-width bins up to the 99th percentile, the long tail gathered in the last one.
    top = float(np.quantile(values, 0.99)) or float(values.max()) or 1.0
    edges = np.linspace(0.0, top, HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(np.clip(values, 0.0, top), bins=edges)
    figures.clv_histogram = [
        (int(edges[i]), int(edges[i + 1]), int(counts[i])) for i in range(HISTOGRAM_BINS)
    ]
    return figures
