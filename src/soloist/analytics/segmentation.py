"""RFM scores, named RFM segments, segment summaries and movement between two runs.

RFM (recency, frequency, monetary value) scoring goes back to direct marketing (Hughes, *Strategic
Database Marketing*, 1994). Each of R, F and M is scored 1–5 by quintile of its percentile rank
among the customers (5 = best: most recent, most frequent, highest spend). Ties share one score:
the score is ``ceil(5 · pct_rank)`` with the *average* percentile rank of the tied group, so equal
customers are never split arbitrarily between two scores.

A customer who bought once scores F = 1 whatever the rank: where most customers buy once, the
average rank of that tie lies mid-table (F = 3), and a one-time buyer who spent a lot would be
named "champions" or "loyal". With F = 1, ``FM`` of a one-time buyer is at most 3, so no one-time
buyer is ever a champion, loyal or can't lose; and a recent one (R = 4 or 5) is "promising" or
"new", never a "potential loyalist" (a name for customers who came back). One-time buyers
therefore fall into new, promising, about to sleep, need attention, hibernating, at risk and
lost. :func:`rfm_caveats` says when the frequency cannot rank the customers at all (most share
one value), so that the segments rest on recency and spend alone.

The named segments come from the usual R × FM grid, with ``FM = round_half_up((F + M) / 2)``:

=======  ==================  ==================  ===============  ===========  ===========
R \\ FM   1                   2                   3                4            5
=======  ==================  ==================  ===============  ===========  ===========
5        new                 potential loyalist  potential loy.   champions    champions
4        promising           potential loyalist  potential loy.   loyal        loyal
3        about to sleep      about to sleep      need attention   loyal        loyal
2        hibernating         hibernating         at risk          at risk      can't lose
1        lost                lost                at risk          at risk      can't lose
=======  ==================  ==================  ===============  ===========  ===========
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .customer_features import prepare_transactions, to_timestamp
from .errors import AnalyticsError

__all__ = [
    "RFM_SEGMENTS",
    "moved_customers",
    "quintile_scores",
    "rfm_caveats",
    "rfm_scores",
    "rfm_segment",
    "rfm_table",
    "segment_summary",
    "segment_transitions",
]

#: every named segment, from the most to the least valuable relationship
RFM_SEGMENTS = (
    "champions",
    "loyal",
    "potential loyalists",
    "new",
    "promising",
    "need attention",
    "about to sleep",
    "at risk",
    "can't lose",
    "hibernating",
    "lost",
)

#: ``_GRID[r - 1][fm - 1]`` is the segment of a customer with scores R = r and FM = fm
_GRID = (
    ("lost", "lost", "at risk", "at risk", "can't lose"),
    ("hibernating", "hibernating", "at risk", "at risk", "can't lose"),
    ("about to sleep", "about to sleep", "need attention", "loyal", "loyal"),
    ("promising", "potential loyalists", "potential loyalists", "loyal", "loyal"),
    ("new", "potential loyalists", "potential loyalists", "champions", "champions"),
)


def rfm_table(
    transactions: pd.DataFrame,
    observation_end: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Classic (marketing) RFM values per customer from a transaction log.

    Returns one row per customer with ``recency_days`` (days from the last purchase to
    ``observation_end``), ``frequency`` (number of purchase days, the first included) and
    ``monetary`` (total spend). Transactions after ``observation_end`` are ignored. Unlike
    :func:`soloist.analytics.rfm_summary` (the BTYD conventions) this counts the first purchase.
    """
    tx = prepare_transactions(transactions, customer_col, date_col, amount_col)
    end = to_timestamp(observation_end, "observation_end")
    tx = tx[tx["date"] <= end]
    if tx.empty:
        raise AnalyticsError("no transactions on or before observation_end")
    day = tx["date"].dt.floor("D")
    grouped = tx.assign(day=day).groupby("customer", sort=True)
    table = pd.DataFrame(
        {
            "recency_days": (end.floor("D") - grouped["day"].max()) / np.timedelta64(1, "D"),
            "frequency": grouped["day"].nunique().astype(np.float64),
            "monetary": grouped["amount"].sum(),
        }
    )
    table.index.name = customer_col
    return table


def quintile_scores(values: Any, *, higher_is_better: bool = True) -> pd.Series:
    """Score each value 1–5 by the quintile of its (tie-averaged) percentile rank.

    With ``higher_is_better=False`` (recency in days) the smallest values score 5.
    """
    series = pd.Series(values, dtype=np.float64) if not isinstance(values, pd.Series) else values
    series = series.astype(np.float64)
    if series.isna().any():
        raise AnalyticsError("RFM values must not be missing")
    if series.empty:
        return pd.Series([], dtype=np.int64, index=series.index)
    pct = (series if higher_is_better else -series).rank(method="average", pct=True)
    return np.ceil(pct * 5.0).clip(1, 5).astype(np.int64)


def rfm_segment(r: Any, fm: Any) -> Any:
    """The named segment for R and FM scores (each 1–5), scalar or array-like."""
    r_arr = np.asarray(r, dtype=np.int64)
    fm_arr = np.asarray(fm, dtype=np.int64)
    if np.any((r_arr < 1) | (r_arr > 5)) or np.any((fm_arr < 1) | (fm_arr > 5)):
        raise AnalyticsError("R and FM scores must be whole numbers from 1 to 5")
    grid = np.array(_GRID, dtype=object)
    out = grid[r_arr - 1, fm_arr - 1]
    return str(out) if np.ndim(out) == 0 else out


def rfm_scores(
    table: pd.DataFrame,
    *,
    recency_col: str = "recency_days",
    frequency_col: str = "frequency",
    monetary_col: str = "monetary",
) -> pd.DataFrame:
    """R, F, M and FM scores, the three-digit RFM code and the named segment of each customer.

    ``table`` has one row per customer (e.g. from :func:`rfm_table`); recency is *days since the
    last purchase* (smaller is better). Returns a copy with ``r_score``, ``f_score``,
    ``m_score``, ``fm_score``, ``rfm_code`` (e.g. ``"545"``) and ``segment`` added. A customer
    with a frequency of 1 (one purchase) scores F = 1, and with R = 5 or 4 is "new" or
    "promising" whatever the grid says (see the module docstring).
    """
    missing = [c for c in (recency_col, frequency_col, monetary_col) if c not in table.columns]
    if missing:
        raise AnalyticsError(f"the RFM table has no column(s) {missing}")
    out = table.copy()
    out["r_score"] = quintile_scores(table[recency_col], higher_is_better=False)
    out["f_score"] = quintile_scores(table[frequency_col])
    # one purchase is the lowest frequency there is, however many customers share it
    out.loc[table[frequency_col] <= 1, "f_score"] = 1
    out["m_score"] = quintile_scores(table[monetary_col])
    out["fm_score"] = (out["f_score"] + out["m_score"] + 1) // 2  # round half up
    out["rfm_code"] = (
        out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    )
    out["segment"] = rfm_segment(out["r_score"].to_numpy(), out["fm_score"].to_numpy())
    # a recent one-time buyer is new (R = 5) or promising (R = 4), not yet a potential loyalist
    once = (table[frequency_col] <= 1).to_numpy()
    out.loc[once & (out["r_score"] == 5).to_numpy(), "segment"] = "new"
    out.loc[once & (out["r_score"] == 4).to_numpy(), "segment"] = "promising"
    return out


#: when more customers than this share one frequency, F cannot rank them
UNINFORMATIVE_SHARE = 0.8


def rfm_caveats(table: pd.DataFrame, *, frequency_col: str = "frequency") -> list[dict[str, Any]]:
    """What the data do not support in an RFM segmentation, as ``{"code", "share", "text"}``.

    ``one_time_buyers``: more than 80 % of the customers bought once, so frequency cannot tell
    them apart: the segments rest on recency and spend, and (as always) no one-time buyer is
    named champions, loyal, potential loyalists or can't lose. ``same_frequency``: the same for
    any one frequency shared by more than 80 % (a subscription-like log where everyone buys
    monthly, say).
    """
    if frequency_col not in table.columns:
        raise AnalyticsError(f"the RFM table has no column {frequency_col!r}")
    frequency = table[frequency_col]
    if frequency.empty:
        return []
    counts = frequency.value_counts(normalize=True)
    value, share = float(counts.index[0]), float(counts.iloc[0])
    shown = f"{math.floor(100.0 * share + 1e-9)}%"  # rounded down: 99.95 % is not "100%"
    if share <= UNINFORMATIVE_SHARE:
        return []
    if value <= 1:
        return [
            {
                "code": "one_time_buyers",
                "share": round(share, 4),
                "text": f"{shown} of the customers bought only once: frequency cannot tell "
                "them apart, so these segments rest on recency and spend, and no one-time "
                "buyer is called a champion, loyal, a potential loyalist or can't lose.",
            }
        ]
    return [
        {
            "code": "same_frequency",
            "share": round(share, 4),
            "value": value,
            "text": f"{shown} of the customers bought on {value:.0f} days: frequency cannot "
            "tell them apart, so these segments rest on recency and spend.",
        }
    ]


def segment_summary(
    frame: pd.DataFrame,
    *,
    segment_col: str = "segment",
    revenue_col: str = "monetary",
    clv_col: str | None = None,
    order: tuple[str, ...] | None = RFM_SEGMENTS,
) -> pd.DataFrame:
    """Size, share of customers, revenue, share of revenue and (optionally) mean CLV per segment.

    Segments in ``order`` come first in that order (empty ones with size 0); others follow.
    """
    for col in (segment_col, revenue_col, clv_col):
        if col is not None and col not in frame.columns:
            raise AnalyticsError(f"frame has no column {col!r}")
    grouped = frame.groupby(segment_col, sort=False)
    summary = pd.DataFrame(
        {"customers": grouped.size(), "revenue": grouped[revenue_col].sum().astype(np.float64)}
    )
    if clv_col is not None:
        summary["average_clv"] = grouped[clv_col].mean()
    if order is not None:
        names = list(order) + sorted(str(s) for s in summary.index if s not in order)
        summary = summary.reindex(names)
        summary["customers"] = summary["customers"].fillna(0).astype(np.int64)
        summary["revenue"] = summary["revenue"].fillna(0.0)
    total_customers = max(int(summary["customers"].sum()), 1)
    total_revenue = float(summary["revenue"].sum())
    summary["customer_share"] = summary["customers"] / total_customers
    summary["revenue_share"] = summary["revenue"] / total_revenue if total_revenue else 0.0
    summary.index.name = segment_col
    columns = ["customers", "customer_share", "revenue", "revenue_share"]
    if clv_col is not None:
        columns.append("average_clv")
    return summary[columns]


def segment_transitions(
    before: pd.Series, after: pd.Series, *, absent: str = "(none)"
) -> pd.DataFrame:
    """How customers moved between two segment assignments (both indexed by customer).

    Returns a cross table of counts, rows = segment before, columns = segment after; customers
    present in only one run are counted under ``absent`` on the other side.
    """
    joined = pd.concat(
        [before.rename("before"), after.rename("after")], axis=1, join="outer"
    ).fillna(absent)
    table = pd.crosstab(joined["before"], joined["after"])
    labels = [s for s in RFM_SEGMENTS if s in table.index or s in table.columns]
    labels += sorted(
        str(s) for s in set(table.index) | set(table.columns) if s not in labels and s != absent
    )
    if absent in table.index or absent in table.columns:
        labels.append(absent)
    return table.reindex(index=labels, columns=labels, fill_value=0).astype(np.int64)


def moved_customers(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """One row per customer whose segment changed: ``before``, ``after``."""
    joined = pd.concat([before.rename("before"), after.rename("after")], axis=1, join="inner")
    return joined[joined["before"] != joined["after"]]
