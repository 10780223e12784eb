"""Customer-success metrics with their formulas.

Every function validates its input and raises :class:`~soloist.analytics.errors.AnalyticsError`
naming the argument at fault (empty input, out-of-range scores, zero denominators...).
Formulas are given in each docstring and on ``docs/models/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from ._frames import date_expr, to_polars
from ._math import FloatArray, as_float_array
from .errors import AnalyticsError

__all__ = [
    "DEFAULT_LOYALTY_WEIGHTS",
    "average_order_value",
    "ces",
    "churn_rate",
    "cohort_retention",
    "conversion_rate",
    "csat",
    "customer_loyalty_index",
    "discounted_clv",
    "discounted_clv_by_customer",
    "nps",
    "purchase_frequency",
    "repeat_purchase_rate",
    "retention_rate",
]

#: default weights of :func:`customer_loyalty_index` (equal thirds)
DEFAULT_LOYALTY_WEIGHTS: Mapping[str, float] = {
    "repeat_rate": 1 / 3,
    "retention": 1 / 3,
    "recommend": 1 / 3,
}


def _scores(scores: Any, name: str, low: float, high: float) -> FloatArray:
    arr = as_float_array(scores, name)
    if arr.size == 0:
        raise AnalyticsError(f"{name} is empty: need at least one score")
    if not np.all(np.isfinite(arr)):
        raise AnalyticsError(f"{name} contains NaN or infinite values")
    bad = arr[(arr < low) | (arr > high)]
    if bad.size:
        raise AnalyticsError(
            f"{name} must lie in [{low:g}, {high:g}]; found {bad.size} value(s) outside, "
            f"e.g. {bad[0]:g}"
        )
    return arr


def _count(value: float, name: str, *, positive: bool = False) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise AnalyticsError(f"{name} must be a finite number >= 0, got {value!r}")
    if positive and v == 0:
        raise AnalyticsError(f"{name} is 0: the rate is undefined (division by zero)")
    return v


def _ratio(num: float, num_name: str, den: float, den_name: str) -> float:
    n = _count(num, num_name)
    d = _count(den, den_name, positive=True)
    return n / d


def discounted_clv(cashflows: Any, rate: float, costs: Any = None) -> float:
    """Discounted customer lifetime value ``Σ_{t=1..n} CF_t / (1+r)^t``.

    ``CF_t = revenue_t - cost_t`` when ``costs`` is given. The first cash flow is discounted one
    full period (end-of-period convention).

    Examples
    --------
    >>> from soloist.analytics import discounted_clv
    >>> round(discounted_clv([100, 100, 100], rate=0.1), 2)
    248.69
    >>> round(discounted_clv([100, 100, 100], rate=0.1, costs=[20, 20, 20]), 2)
    198.95
    """
    cf = as_float_array(cashflows, "cashflows")
    if cf.size == 0:
        raise AnalyticsError("cashflows is empty")
    if costs is not None:
        c = as_float_array(costs, "costs")
        if c.size != cf.size:
            raise AnalyticsError(f"costs has {c.size} values, cashflows {cf.size}")
        cf = cf - c
    if not np.all(np.isfinite(cf)):
        raise AnalyticsError("cashflows/costs contain NaN or infinite values")
    if not np.isfinite(rate) or rate <= -1:
        raise AnalyticsError(f"rate must be a finite number > -1, got {rate!r}")
    t = np.arange(1, cf.size + 1, dtype=np.float64)
    return float(np.sum(cf / (1.0 + rate) ** t))


def discounted_clv_by_customer(
    frame: Any,
    customer_col: str,
    period_col: str,
    revenue_col: str,
    rate: float,
    cost_col: str | None = None,
) -> pd.Series:
    """Per-customer :func:`discounted_clv` of a long table (customer, period 1..n, revenue).

    ``period_col`` holds whole periods ``t >= 1`` counted from the valuation date; several rows
    in the same period add up.

    Examples
    --------
    >>> import pandas as pd
    >>> from soloist.analytics import discounted_clv_by_customer
    >>> cashflows = pd.DataFrame(
    ...     {"customer": [1, 1, 2, 2], "period": [1, 2, 1, 1], "revenue": [100.0, 100, 50, 25]}
    ... )
    >>> discounted_clv_by_customer(cashflows, "customer", "period", "revenue", rate=0.1).round(2)
    customer
    1    173.55
    2     68.18
    Name: clv, dtype: float64
    """
    if not np.isfinite(rate) or rate <= -1:
        raise AnalyticsError(f"rate must be a finite number > -1, got {rate!r}")
    cols = [customer_col, period_col, revenue_col] + ([cost_col] if cost_col else [])
    df = to_polars(frame, cols)
    if df.height == 0:
        raise AnalyticsError("frame is empty")
    t = df.get_column(period_col).cast(pl.Float64).to_numpy()
    if not np.all(np.isfinite(t)) or np.any(t < 1) or np.any(t != np.round(t)):
        raise AnalyticsError(f"{period_col!r} must hold whole periods >= 1")
    cost = pl.col(cost_col).cast(pl.Float64) if cost_col else pl.lit(0.0)
    out = (
        df.select(
            pl.col(customer_col).alias("_c"),
            (
                (pl.col(revenue_col).cast(pl.Float64) - cost) / (1.0 + rate) ** pl.col(period_col)
            ).alias("_v"),
        )
        .group_by("_c")
        .agg(pl.col("_v").sum())
        .sort("_c")
    )
    return pd.Series(
        out.get_column("_v").to_numpy(),
        index=pd.Index(out.get_column("_c").to_numpy(), name=customer_col),
        name="clv",
    )


def csat(scores: Any, scale: int = 5, mode: str = "mean") -> float:
    """Customer satisfaction on a ``1..scale`` survey.

    ``mode="mean"``: average score. ``mode="percent"``: share of *top-2-box* answers
    (``score >= scale - 1``) × 100.

    Examples
    --------
    >>> from soloist.analytics import csat
    >>> csat([5, 4, 3, 5, 2]), csat([5, 4, 3, 5, 2], mode="percent")
    (3.8, 60.0)
    """
    if int(scale) != scale or scale < 2:
        raise AnalyticsError(f"scale must be a whole number >= 2, got {scale!r}")
    arr = _scores(scores, "scores", 1, scale)
    if mode == "mean":
        return float(arr.mean())
    if mode == "percent":
        return float(100.0 * np.mean(arr >= scale - 1))
    raise AnalyticsError(f"mode must be 'mean' or 'percent', got {mode!r}")


def nps(scores: Any) -> float:
    """Net Promoter Score: % promoters (9-10) − % detractors (0-6), in ``[-100, 100]``.

    Examples
    --------
    >>> from soloist.analytics import nps
    >>> nps([10, 9, 9, 9, 10, 8, 7, 6, 3, 2])  # 5 promoters, 3 detractors out of 10
    20.0
    """
    arr = _scores(scores, "scores", 0, 10)
    if np.any(arr != np.round(arr)):
        raise AnalyticsError("scores must be whole numbers 0-10")
    return float(100.0 * (np.mean(arr >= 9) - np.mean(arr <= 6)))


def ces(scores: Any, scale: int = 7) -> float:
    """Customer Effort Score: mean answer on a ``1..scale`` scale.

    Soloist asks CES 2.0's question, "How easy was it to get your issue resolved?", with 1 =
    very difficult and 7 = very easy, so a higher score means less effort (imported answers
    on the older scale, where 1 meant little effort, should be turned round on import).
    """
    if int(scale) != scale or scale < 2:
        raise AnalyticsError(f"scale must be a whole number >= 2, got {scale!r}")
    return float(_scores(scores, "scores", 1, scale).mean())


def retention_rate(start: float, end: float, new: float) -> float:
    """Customer retention rate ``(end − new) / start`` over a period.

    Examples
    --------
    200 customers at the start, 190 at the end of which 30 were acquired during the period:

    >>> from soloist.analytics import retention_rate
    >>> retention_rate(start=200, end=190, new=30)
    0.8
    """
    s = _count(start, "start", positive=True)
    e = _count(end, "end")
    n = _count(new, "new")
    if n > e:
        raise AnalyticsError(f"new ({n:g}) cannot exceed end ({e:g})")
    if e - n > s:
        raise AnalyticsError(f"end - new ({e - n:g}) cannot exceed start ({s:g})")
    return (e - n) / s


def churn_rate(start: float, end: float, new: float) -> float:
    """Churn rate ``1 − retention_rate = (start − (end − new)) / start`` (lost / start)."""
    return 1.0 - retention_rate(start, end, new)


def repeat_purchase_rate(repeat_customers: float, customers: float) -> float:
    """Share of customers with more than one purchase: ``repeat_customers / customers``."""
    rate = _ratio(repeat_customers, "repeat_customers", customers, "customers")
    if rate > 1:
        raise AnalyticsError("repeat_customers cannot exceed customers")
    return rate


def conversion_rate(converted: float, touched: float) -> float:
    """``converted / touched``, e.g. trials converted to paid over trials started."""
    rate = _ratio(converted, "converted", touched, "touched")
    if rate > 1:
        raise AnalyticsError("converted cannot exceed touched")
    return rate


def average_order_value(revenue: float, orders: float) -> float:
    """``revenue / orders``."""
    if not np.isfinite(revenue):
        raise AnalyticsError("revenue must be finite")
    return float(revenue) / _count(orders, "orders", positive=True)


def purchase_frequency(orders: float, customers: float) -> float:
    """Orders per customer: ``orders / customers``."""
    return _ratio(orders, "orders", customers, "customers")


def customer_loyalty_index(
    repeat_rate: float,
    retention: float,
    nps_score: float,
    weights: Mapping[str, float] | None = None,
) -> float:
    """Customer Loyalty Index on a 0-100 scale.

    ``CLI = 100 · (w_1 · repeat_rate + w_2 · retention + w_3 · (nps_score + 100)/200) / Σw``

    ``repeat_rate`` and ``retention`` are shares in ``[0, 1]``; willingness to recommend enters
    as the NPS mapped from ``[-100, 100]`` to ``[0, 1]``. ``weights`` maps ``repeat_rate``,
    ``retention`` and ``recommend`` to non-negative weights (default: equal thirds,
    :data:`DEFAULT_LOYALTY_WEIGHTS`).

    Examples
    --------
    >>> from soloist.analytics import customer_loyalty_index
    >>> round(customer_loyalty_index(repeat_rate=0.4, retention=0.8, nps_score=20), 6)
    60.0
    """
    w = dict(DEFAULT_LOYALTY_WEIGHTS if weights is None else weights)
    if set(w) != set(DEFAULT_LOYALTY_WEIGHTS):
        raise AnalyticsError(
            f"weights must have exactly the keys {sorted(DEFAULT_LOYALTY_WEIGHTS)}"
        )
    if any(not np.isfinite(v) or v < 0 for v in w.values()) or sum(w.values()) == 0:
        raise AnalyticsError("weights must be finite, >= 0 and not all zero")
    for name, value in (("repeat_rate", repeat_rate), ("retention", retention)):
        if not np.isfinite(value) or not 0 <= value <= 1:
            raise AnalyticsError(f"{name} must be a share in [0, 1], got {value!r}")
    if not np.isfinite(nps_score) or not -100 <= nps_score <= 100:
        raise AnalyticsError(f"nps_score must lie in [-100, 100], got {nps_score!r}")
    parts = {
        "repeat_rate": float(repeat_rate),
        "retention": float(retention),
        "recommend": (float(nps_score) + 100.0) / 200.0,
    }
    total = sum(w.values())
    return 100.0 * sum(w[k] * parts[k] for k in parts) / total


def cohort_retention(
    transactions: Any, customer_col: str, date_col: str, period: str = "M"
) -> pd.DataFrame:
    """Cohort retention matrix.

    Rows: cohorts by first-purchase period (month by default; ``"W"`` weeks, ``"Q"`` quarters,
    ``"D"`` days). Columns: periods since the first (0, 1, 2...). Values: share of the cohort
    that bought in that period (column 0 is always 1.0); cells beyond the data are NaN.
    """
    every = {"D": "1d", "W": "1w", "M": "1mo", "Q": "1q"}.get(period)
    if every is None:
        raise AnalyticsError(f"period must be 'D', 'W', 'M' or 'Q', got {period!r}")
    frame = to_polars(transactions, [customer_col, date_col])
    if frame.height == 0:
        raise AnalyticsError("transactions is empty")
    p = date_expr(frame, date_col).dt.truncate(every)
    if period in ("M", "Q"):
        step = 12 if period == "M" else 4
        div = 1 if period == "M" else 3
        index = p.dt.year() * step + (p.dt.month() - 1) // div
    else:
        days = 1 if period == "D" else 7
        index = (p.dt.epoch("d") // days).cast(pl.Int64)
    lf = (
        frame.lazy()
        .select(pl.col(customer_col).alias("_c"), p.alias("_p"), index.alias("_i"))
        .unique(["_c", "_i"])
        .with_columns(
            pl.col("_p").min().over("_c").alias("_cohort"),
            pl.col("_i").min().over("_c").alias("_i0"),
        )
        .with_columns((pl.col("_i") - pl.col("_i0")).alias("_k"))
    )
    counts = lf.group_by("_cohort", "_k").agg(pl.len().alias("_n"), pl.col("_i0").first()).collect()
    last_index = int(lf.select(pl.col("_i").max()).collect().item())
    long = pd.DataFrame(
        {
            "cohort": counts.get_column("_cohort").to_numpy(),
            "k": counts.get_column("_k").to_numpy(),
            "n": counts.get_column("_n").to_numpy().astype(np.float64),
            "i0": counts.get_column("_i0").to_numpy(),
        }
    )
    table = long.pivot(index="cohort", columns="k", values="n")
    table = table.reindex(columns=range(int(long["k"].max()) + 1)).fillna(0.0)
    out = table.div(table[0], axis=0)
    # periods after the end of the data are unknown (NaN), not zero
    horizon = last_index - long.groupby("cohort")["i0"].first().reindex(out.index).to_numpy()
    unseen = np.arange(out.shape[1])[None, :] > horizon[:, None]
    out = out.mask(unseen)
    out.index.name = "cohort"
    out.columns.name = "periods_since_first"
    return out
