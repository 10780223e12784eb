"""Scores kept current between fits: one customer scored again from the stored fit.

When a customer's orders change (a new order, a refund, a cancellation), their P(alive),
expected purchases, spend estimate and CLV are worked out again from the newest CLV run's fitted
parameters — the models' conditional expectations given the customer's new (frequency, recency,
T, monetary value), as of now. Nothing is refitted: that is the nightly refit's job (the worker's
``refit`` job). The score row stays marked with the run whose fit made it, and ``rescored_at``
says when it was brought up to date.

The churn risk, its next-purchase estimate and its reasons are worked out again the same way
from the newest churn run's stored scorer (the logistic model, or a BG/NBD baseline, with its
BG/NBD fit and typical values); a run that chose a tree ensemble stores no scorer, and its
churn scores are refreshed by the refit only.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from soloist.analytics import GammaGammaModel, rescore_churn, rfm_summary
from soloist.domain.scoring.clv import (
    latest_run,
    load_paid_orders,
    score_summary,
)
from soloist.domain.scoring.model_choice import PooledSpend, purchase_model_class
from soloist.domain.scoring.reasons import FEEDBACK_FEATURE, Reason, stored_reasons
from soloist.money import minor_units_per_unit
from soloist.storage.models import CustomerScore
from soloist.storage.types import utcnow


def _fitted(model: Any, params: dict[str, float]) -> Any:
    model.params_ = {name: float(value) for name, value in params.items()}
    return model


OrdersOf = Callable[..., pd.DataFrame]


def _orders_of(session: Session, customer_id: int) -> OrdersOf:
    """The customer's paid orders in a currency (and those converted at ``rates``, as the run
    that made the fit counted them), read once however many scores need them."""

    @functools.cache
    def orders(currency: str, rates: tuple[tuple[str, str], ...] = ()) -> pd.DataFrame:
        converted = {code: Decimal(rate) for code, rate in rates}
        return load_paid_orders(session, currency, customer_id=customer_id, rates=converted)

    return orders


def _score_row(session: Session, run_id: int, customer_id: int) -> CustomerScore | None:
    return session.scalar(
        select(CustomerScore).where(
            CustomerScore.model_run_id == run_id, CustomerScore.customer_id == customer_id
        )
    )


def rescore_scores(session: Session, customer_id: int, *, now: dt.datetime | None = None) -> None:
    """Every score of the customer that a stored fit can give again: CLV, then churn risk."""
    when, orders = now or utcnow(), _orders_of(session, customer_id)
    rescore_customer(session, customer_id, now=when, orders_of=orders)
    rescore_churn_risk(session, customer_id, now=when, orders_of=orders)


def rescore_customer(
    session: Session,
    customer_id: int,
    *,
    now: dt.datetime | None = None,
    orders_of: OrdersOf | None = None,
) -> CustomerScore | None:
    """Score one customer again from the newest CLV run's fit; ``None`` when there is no fit.

    A customer left with no paid order in the run's currency drops out of the run's scores.
    """
    run = latest_run(session, "clv")
    fit = (run.params or {}).get("fit") if run is not None else None
    if run is None or not fit or run.params.get("basis") == "subscriptions":
        return None  # a subscription book is valued from its subscriptions, not orders
    currency = str(run.params["currency"])
    rates = tuple(sorted((run.params.get("rates") or {}).items()))
    orders = (orders_of or _orders_of(session, customer_id))(currency, rates)
    existing = _score_row(session, run.id, customer_id)
    if orders.empty:
        if existing is not None:
            session.execute(delete(CustomerScore).where(CustomerScore.id == existing.id))
        return None
    when = now or utcnow()
    end = max(
        pd.Timestamp(when.astimezone(dt.UTC).replace(tzinfo=None)), orders["ordered_at"].max()
    )
    summary = rfm_summary(orders, "customer_id", "ordered_at", "amount", observation_end=end)
    purchase = _fitted(purchase_model_class(str(run.params["purchase_model"]))(), fit["purchase"])
    spend_model = _fitted(
        PooledSpend() if run.params.get("spend_model") == "pooled-mean" else GammaGammaModel(),
        fit["spend"],
    )
    scores = score_summary(
        purchase,
        spend_model,
        summary,
        int(run.params["horizon_months"]),
        (1.0 + float(run.params["annual_discount_rate"])) ** (1 / 12) - 1.0,
        float(run.params["margin"]),
    )
    per_unit = minor_units_per_unit(currency)
    values = {
        "p_alive": None
        if run.params.get("p_alive_blank") or not np.isfinite(scores["p_alive"][0])
        else float(scores["p_alive"][0]),
        "expected_purchases_90d": float(scores["expected_90"][0]),
        "clv_12m_minor": round(float(scores["clv"][0]) * per_unit),
        "spend_estimate_minor": round(float(scores["spend"][0]) * per_unit),
        "rescored_at": when,
    }
    if existing is None:
        existing = CustomerScore(model_run_id=run.id, customer_id=customer_id, reasons={}, **values)
        session.add(existing)
    else:
        for name, value in values.items():
            setattr(existing, name, value)
    session.flush()
    return existing


def rescore_churn_risk(
    session: Session,
    customer_id: int,
    *,
    now: dt.datetime | None = None,
    orders_of: OrdersOf | None = None,
) -> CustomerScore | None:
    """The customer's churn risk again from the newest churn run's stored scorer; ``None``
    when there is none (no run, or one that chose a tree ensemble) or no paid order left."""
    run = latest_run(session, "churn")
    params = (run.params or {}) if run is not None else {}
    state, currency = params.get("scorer"), params.get("currency")
    if run is None or not state or not currency:
        return None
    orders = (orders_of or _orders_of(session, customer_id))(str(currency))
    if orders.empty:
        return None
    when = now or utcnow()
    scored = rescore_churn(
        state,
        orders.rename(columns={"ordered_at": "date"}),
        pd.Timestamp(when.astimezone(dt.UTC).replace(tzinfo=None)),
    )
    row = scored.iloc[0]
    existing = _score_row(session, run.id, customer_id)
    if existing is None:
        existing = CustomerScore(model_run_id=run.id, customer_id=customer_id, reasons={})
        session.add(existing)
    reasons = dict(existing.reasons or {})
    # What the customer wrote is not in the model: the run's reason about it stays until the
    # next run reads their feedback again.
    said = [r for r in reasons.get("churn", []) if r.get("feature") == FEEDBACK_FEATURE]
    reasons.update(stored_reasons({"churn": [Reason.from_stored(r) for r in row["reasons"]]}))
    reasons["churn"] = [*reasons["churn"], *said]
    existing.churn_risk = round(float(row["churn_risk"]), 6)
    next_days = float(row["next_purchase_days"])
    existing.next_purchase_days = next_days if math.isfinite(next_days) else None
    existing.reasons = reasons
    existing.rescored_at = when
    session.flush()
    return existing
