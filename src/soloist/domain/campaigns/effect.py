"""What a campaign or a journey caused: its receivers against a random holdout that received
nothing, on purchases, revenue and churn risk afterwards.

Both groups were drawn by the same seeded lottery from the customers the message could reach,
so the difference of their outcomes estimates the message's effect (an intention-to-treat
comparison: a receiver whose message bounced still counts as a receiver). Each customer is
followed for ``days`` from their own start (the campaign's send, the journey's occasion):

* bought: the share who placed a paid order (two-proportion interval and test);
* revenue per customer: net of refunds, in the workspace currency (Welch interval), and the
  same after removing what each customer's revenue in the ``days`` before predicts (CUPED,
  Deng et al. 2013), which narrows the interval without biasing it;
* churn risk: the mean of the customers' current churn scores (Welch interval).

The incremental revenue is the revenue difference per customer times the receivers, shown
beside the raw attributed revenue (what the receivers spent, caused or not).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.campaigns.authoring import get_campaign
from soloist.domain.scoring.scores import current_runs
from soloist.money import minor_to_decimal, precision
from soloist.storage.bulk import (
    chunks,
    columns_of,
    fetch_raw,
    float_column,
    int_column,
    utc_nanosecond_column,
    utc_nanoseconds,
)
from soloist.storage.models import CustomerScore, Message, Order
from soloist.storage.types import as_utc

RECEIVER_STATUSES = ("queued", "sending", "sent", "failed", "bounced")
CONFIDENCE = 0.95
MINIMUM_GROUP = 2

Start = tuple[int, dt.datetime]  # (customer, when their follow-up starts)


def outcomes(
    session: Session, starts: Sequence[Start], days: int, currency: str
) -> dict[str, np.ndarray]:
    """Per customer start: bought (0/1), revenue and revenue before (major units), churn risk.

    Worked out on whole columns: a journey's effect reads its customers' orders of the weeks
    around their starts, a million rows at a hundred thousand customers."""
    window = days * 86_400 * 10**9  # nanoseconds
    ids = sorted({customer for customer, _ in starts})
    begins = pd.DataFrame(
        {
            "start_no": np.arange(len(starts)),
            "customer": np.array([customer for customer, _ in starts], dtype=np.int64),
            "start": np.array([utc_nanoseconds(at) for _, at in starts], dtype=np.int64),
        }
    )
    parts: list[pd.DataFrame] = []
    if starts:
        earliest = min(as_utc(at) for _, at in starts) - dt.timedelta(days=days)
        latest = max(as_utc(at) for _, at in starts) + dt.timedelta(days=days)
        for part in chunks(ids):
            rows = fetch_raw(
                session,
                select(
                    Order.customer_id, Order.ordered_at, Order.total_minor - Order.refunded_minor
                ).where(
                    Order.customer_id.in_(part),
                    Order.status == "paid",
                    Order.currency == currency,
                    Order.ordered_at >= earliest,
                    Order.ordered_at <= latest,
                ),
            )
            customers, times, nets = columns_of(rows, 3)
            parts.append(
                pd.DataFrame(
                    {
                        "customer": int_column(customers),
                        "t": utc_nanosecond_column(times),
                        "net": np.nan_to_num(float_column(nets)),
                    }
                )
            )
    orders = pd.concat(parts) if parts else pd.DataFrame({"customer": [], "t": [], "net": []})
    joined = begins.merge(orders.astype({"customer": np.int64}), on="customer")
    t, start = joined["t"], joined["start"]
    after = (t >= start) & (t <= start + window)
    prior = (t >= start - window) & (t < start)
    sums = (
        pd.DataFrame(
            {
                "start_no": joined["start_no"],
                "after_n": after.astype(np.int64),
                "after_v": joined["net"].where(after, 0.0),
                "prior_v": joined["net"].where(prior, 0.0),
            }
        )
        .groupby("start_no")
        .sum()
        .reindex(begins["start_no"], fill_value=0)
    )
    risks = _churn_risks(session, ids)
    scale = 10 ** _exponent(currency)
    return {
        "bought": (sums["after_n"].to_numpy() > 0).astype(np.float64),
        "revenue": sums["after_v"].to_numpy(dtype=np.float64) / scale,
        "revenue_before": sums["prior_v"].to_numpy(dtype=np.float64) / scale,
        "churn_risk": np.array([risks.get(customer, np.nan) for customer, _ in starts]),
    }


def compare_groups(
    treated: dict[str, np.ndarray], control: dict[str, np.ndarray], currency: str
) -> dict[str, Any] | None:
    """The receivers' outcomes against the holdout's, with 95 % intervals; None when either
    group has fewer than two customers."""
    from soloist.analytics import compare_proportions
    from soloist.analytics.loyalty_effect import cuped_adjust, welch_difference

    n_treated, n_control = len(treated["bought"]), len(control["bought"])
    if n_treated < MINIMUM_GROUP or n_control < MINIMUM_GROUP:
        return None
    bought = compare_proportions(
        int(control["bought"].sum()), n_control, int(treated["bought"].sum()), n_treated
    )
    revenue = welch_difference(treated["revenue"], control["revenue"], CONFIDENCE)
    adjusted = None
    try:
        both = cuped_adjust(
            np.concatenate([treated["revenue"], control["revenue"]]),
            np.concatenate([treated["revenue_before"], control["revenue_before"]]),
        )
        adjusted = welch_difference(both[:n_treated], both[n_treated:], CONFIDENCE)
    except (ValueError, ArithmeticError):
        adjusted = None
    risk = None
    treated_risk = treated["churn_risk"][~np.isnan(treated["churn_risk"])]
    control_risk = control["churn_risk"][~np.isnan(control["churn_risk"])]
    if treated_risk.size >= MINIMUM_GROUP and control_risk.size >= MINIMUM_GROUP:
        risk = welch_difference(treated_risk, control_risk, CONFIDENCE).to_dict()
    best = adjusted or revenue
    return {
        "receivers": n_treated,
        "holdout": n_control,
        "bought": {
            "receivers_rate": round(bought.rate_b, 4),
            "holdout_rate": round(bought.rate_a, 4),
            "difference": round(bought.difference, 4),
            "ci_low": round(bought.ci_low, 4),
            "ci_high": round(bought.ci_high, 4),
            "p_value": None if bought.p_value is None else round(bought.p_value, 4),
        },
        "revenue_per_customer": _money_effect(revenue.to_dict(), currency),
        "revenue_per_customer_adjusted": None
        if adjusted is None
        else _money_effect(adjusted.to_dict(), currency),
        "churn_risk": risk,
        "incremental_revenue": _money(best.difference * n_treated, currency),
        "incremental_revenue_low": _money(best.ci_low * n_treated, currency),
        "incremental_revenue_high": _money(best.ci_high * n_treated, currency),
        "significant": bool(best.ci_low > 0 or best.ci_high < 0),
    }


def holdout_effect(
    session: Session, campaign_id: int, currency: str, now: dt.datetime
) -> dict[str, Any] | None:
    """The campaign's measured effect, or None when it has no holdout (or has not started)."""
    campaign = get_campaign(session, campaign_id)
    if campaign.started_at is None or campaign.holdout_share <= 0:
        return None
    rows = session.execute(
        select(Message.customer_id, Message.status).where(Message.campaign_id == campaign_id)
    ).all()
    start = as_utc(campaign.started_at)
    receivers = [(int(c), start) for c, status in rows if status in RECEIVER_STATUSES]
    holdout = [(int(c), start) for c, status in rows if status == "holdout"]
    days = campaign.attribution_days
    result = compare_groups(
        outcomes(session, receivers, days, currency),
        outcomes(session, holdout, days, currency),
        currency,
    )
    if result is None:
        return None
    ends = start + dt.timedelta(days=days)
    result.update(
        {
            "days": days,
            "complete": now >= ends,
            "window_ends": ends.isoformat(),
            "holdout_share": campaign.holdout_share,
        }
    )
    return result


def _churn_risks(session: Session, customer_ids: list[int]) -> dict[int, float]:
    run_id = current_runs(session).get("churn_risk")
    if run_id is None:
        return {}
    found: dict[int, float] = {}
    for part in chunks(customer_ids):
        rows = session.execute(
            select(CustomerScore.customer_id, CustomerScore.churn_risk).where(
                CustomerScore.model_run_id == run_id, CustomerScore.customer_id.in_(part)
            )
        )
        found.update({int(c): float(r) for c, r in rows if r is not None})
    return found


def _money_effect(effect: dict[str, Any], currency: str) -> dict[str, Any]:
    return {
        "receivers_mean": _money(effect["treated_mean"], currency),
        "holdout_mean": _money(effect["control_mean"], currency),
        "difference": _money(effect["difference"], currency),
        "ci_low": _money(effect["ci_low"], currency),
        "ci_high": _money(effect["ci_high"], currency),
        "p_value": None if effect["p_value"] is None else round(effect["p_value"], 4),
    }


def _money(value: float, currency: str) -> str:
    scale = 10 ** _exponent(currency)
    return str(minor_to_decimal(round(value * scale), currency))


def _exponent(currency: str) -> int:
    return precision(currency)
