"""Per-customer behaviour features from a transaction log, and plain-word reasons about them.

Every feature is computed from the transactions strictly *before* a cutoff, so the same function
builds the training rows of a time-split model (cutoff in the past, outcome after it) and the
scoring rows (cutoff = today). All of it is vectorised pandas: one group-by per feature family.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .errors import AnalyticsError

__all__ = [
    "TRANSACTION_FEATURES",
    "describe_reason",
    "humanize_days",
    "prepare_transactions",
    "transaction_features",
]

#: the columns :func:`transaction_features` returns, in order
TRANSACTION_FEATURES = (
    "recency_days",
    "orders",
    "total_spent",
    "average_order_value",
    "tenure_days",
    "interpurchase_days",
    "overdue_ratio",
    "orders_90d",
    "orders_prev_90d",
    "spent_90d",
)

_DAY = np.timedelta64(1, "D")


def prepare_transactions(
    transactions: pd.DataFrame, customer_col: str, date_col: str, amount_col: str
) -> pd.DataFrame:
    """Validate a transaction log; return ``customer``, ``date`` (naive UTC) and ``amount``."""
    if not isinstance(transactions, pd.DataFrame):
        raise AnalyticsError(
            f"transactions must be a pandas DataFrame, got {type(transactions).__name__}"
        )
    missing = [c for c in (customer_col, date_col, amount_col) if c not in transactions.columns]
    if missing:
        raise AnalyticsError(f"transactions has no column(s) {missing}")
    dates = pd.to_datetime(transactions[date_col], errors="coerce", utc=True)
    if dates.isna().any():
        raise AnalyticsError(f"column {date_col!r} has {int(dates.isna().sum())} missing dates")
    amounts = pd.to_numeric(transactions[amount_col], errors="coerce")
    if amounts.isna().any():
        raise AnalyticsError(f"column {amount_col!r} has values that are not numbers")
    return pd.DataFrame(
        {
            "customer": transactions[customer_col].to_numpy(),
            "date": dates.dt.tz_localize(None).to_numpy(),
            "amount": amounts.to_numpy(dtype=np.float64),
        }
    )


def to_timestamp(value: Any, name: str) -> pd.Timestamp:
    """A date-like value as a naive (UTC) pandas Timestamp."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise AnalyticsError(f"{name} is not a date: {value!r}") from exc
    if pd.isna(ts):
        raise AnalyticsError(f"{name} is missing")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def transaction_features(
    transactions: pd.DataFrame,
    cutoff: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    prepared: bool = False,
) -> pd.DataFrame:
    """Behaviour features of every customer with a purchase before ``cutoff``.

    Purchases on the same calendar day count as one order (as in the BTYD literature).

    Returns
    -------
    DataFrame indexed by customer with the columns of :data:`TRANSACTION_FEATURES`:
    days since the last order, number of orders, total and average spend, days since the first
    order, mean days between orders (the tenure for one-order customers), ``overdue_ratio`` =
    recency / usual gap, orders in the last 90 days and the 90 days before, spend in the last 90.
    """
    tx = (
        transactions
        if prepared
        else prepare_transactions(transactions, customer_col, date_col, amount_col)
    )
    end = to_timestamp(cutoff, "cutoff")
    tx = tx[tx["date"] < end]
    if tx.empty:
        raise AnalyticsError(f"no transactions before the cutoff {end.date()}")
    day = tx["date"].dt.floor("D")
    daily = (
        pd.DataFrame({"customer": tx["customer"], "day": day, "amount": tx["amount"]})
        .groupby(["customer", "day"], sort=False)["amount"]
        .sum()
        .reset_index()
    )
    grouped = daily.groupby("customer", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    orders = grouped["day"].size().astype(np.float64)
    total = grouped["amount"].sum()
    end_day = end.floor("D")
    recency = (end_day - last) / _DAY
    tenure = (end_day - first) / _DAY
    span = (last - first) / _DAY
    gap = (span / (orders - 1.0)).where(orders > 1, tenure)
    gap = gap.clip(lower=1.0)
    age = (end_day - daily["day"]) / _DAY
    recent = daily[age.to_numpy() <= 90]
    before = daily[(age.to_numpy() > 90) & (age.to_numpy() <= 180)]
    frame = pd.DataFrame(
        {
            "recency_days": recency,
            "orders": orders,
            "total_spent": total,
            "average_order_value": total / orders,
            "tenure_days": tenure,
            "interpurchase_days": gap,
            "overdue_ratio": recency / gap,
        }
    )
    frame["orders_90d"] = recent.groupby("customer").size().reindex(frame.index, fill_value=0)
    frame["orders_prev_90d"] = before.groupby("customer").size().reindex(frame.index, fill_value=0)
    frame["spent_90d"] = (
        recent.groupby("customer")["amount"].sum().reindex(frame.index, fill_value=0.0)
    )
    frame = frame.astype(np.float64)
    frame.index.name = "customer"
    return frame


def humanize_days(days: float) -> str:
    """``3`` → "3 days", ``16`` → "2 weeks", ``75`` → "2 months", ``800`` → "2.2 years"."""
    if not np.isfinite(days):
        return "an unknown time"
    days = max(float(days), 0.0)
    if days < 1.5:
        return "1 day" if days >= 0.5 else "today"
    if days < 14:
        return f"{round(days)} days"
    if days < 60:
        return f"{round(days / 7)} weeks"
    if days < 365:
        return f"{round(days / 30.4)} months"
    return f"{days / 365.25:.1f} years"


def _money(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _plural(v: float) -> str:
    return "s" if v != 1 else ""


# One phrase per known feature, worded only for the feature asked about (a churn run words
# three reasons for each of a hundred thousand customers).
_PHRASES: dict[str, Callable[[float, float], str]] = {
    "recency_days": lambda v, m: f"last order {humanize_days(v)} ago (typical: {humanize_days(m)})",
    "orders": lambda v, m: f"{v:.0f} order{_plural(v)} so far (typical: {m:.0f})",
    "total_spent": lambda v, m: f"spent {_money(v)} in total (typical: {_money(m)})",
    "average_order_value": lambda v, m: f"orders average {_money(v)} (typical: {_money(m)})",
    "tenure_days": lambda v, m: f"customer for {humanize_days(v)} (typical: {humanize_days(m)})",
    "interpurchase_days": lambda v, m: (
        f"usually orders every {humanize_days(v)} (typical: every {humanize_days(m)})"
    ),
    "overdue_ratio": lambda v, m: (
        f"{v:.1f}× their usual gap since the last order (typical: {m:.1f}×)"
    ),
    "orders_90d": lambda v, m: f"{v:.0f} order{_plural(v)} in the last 90 days (typical: {m:.0f})",
    "orders_prev_90d": lambda v, m: (
        f"{v:.0f} order{_plural(v)} in the 90 days before that (typical: {m:.0f})"
    ),
    "spent_90d": lambda v, m: f"spent {_money(v)} in the last 90 days (typical: {_money(m)})",
    "p_alive": lambda v, m: (
        f"BG/NBD probability of still being a customer {v:.0%} (typical: {m:.0%})"
    ),
    "csat": lambda v, m: f"average CSAT {v:.1f} (typical: {m:.1f})",
    "nps": lambda v, m: f"NPS answer {v:.0f} (typical: {m:.0f})",
    "tickets": lambda v, m: f"{v:.0f} support ticket{_plural(v)} (typical: {m:.0f})",
}


def describe_reason(
    feature: str, value: float, typical: float, context: dict[str, float] | None = None
) -> str:
    """One feature of one customer in plain words, next to the typical (median) value.

    ``context`` may hold the customer's ``orders``, so that the gap between orders of a
    one-order customer is worded as what it is (time since that order).
    """
    v, m = float(value), float(typical)
    if feature == "interpurchase_days" and (context or {}).get("orders") == 1.0:
        return f"only one order so far, {humanize_days(v)} ago"
    phrase = _PHRASES.get(feature)
    if phrase is not None:
        return phrase(v, m)
    label = feature.replace("_", " ")
    if {v, m} <= {0.0, 1.0}:
        return f"{label}: {'yes' if v == 1.0 else 'no'}"
    word = "higher" if v > m else "lower" if v < m else "as usual"
    return f"{label} {v:.3g} ({word} than the typical {m:.3g})"
