"""Turn a cluster's feature profile into a sentence: "spend 3× the median, buy monthly, …".

Each cluster is compared with the whole customer base on medians (robust to a few huge
spenders). Known feature names get specific phrases; the remaining features that set the
cluster most apart (largest gap in standard deviations) get a generic "high X" / "low X".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .customer_features import humanize_days

__all__ = ["describe_clusters", "rhythm_phrase"]

_SPEND = ("total_spent", "monetary")
_ORDERS = ("orders", "frequency")
_SPECIFIC = {
    *_SPEND,
    *_ORDERS,
    "recency_days",
    "interpurchase_days",
    "tenure_days",
    "csat",
    "nps",
    "tickets",
    "average_order_value",
}


def rhythm_phrase(gap_days: float) -> str:
    """How often someone with this typical gap between orders buys."""
    if gap_days <= 10:
        return "buy weekly"
    if gap_days <= 21:
        return "buy every two weeks"
    if gap_days <= 45:
        return "buy monthly"
    if gap_days <= 120:
        return "buy every few months"
    if gap_days <= 250:
        return "buy about twice a year"
    return "buy about once a year or less"


def _ratio_phrase(what: str, value: float, typical: float) -> str | None:
    if typical <= 0 or not np.isfinite(value):
        return None
    ratio = value / typical
    if 0.67 <= ratio <= 1.5:
        return None
    if ratio >= 1.5:
        return f"{what} {ratio:.1f}× the median"
    return f"{what} {ratio:.1f}× the median" if ratio >= 0.2 else f"{what} far below the median"


def _first(columns: pd.Index, names: tuple[str, ...]) -> str | None:
    return next((c for c in names if c in columns), None)


def _sentence(
    profile: pd.Series, overall: pd.Series, means: pd.Series, all_means: pd.Series
) -> list[str]:
    words: list[str] = []
    cols = profile.index
    spend = _first(cols, _SPEND)
    if spend:
        phrase = _ratio_phrase("spend", profile[spend], overall[spend])
        words.append(phrase or "typical spend")
    orders = _first(cols, _ORDERS)
    if orders is not None and profile[orders] <= 1:
        words.append("bought once")
    elif "interpurchase_days" in cols:
        words.append(rhythm_phrase(float(profile["interpurchase_days"])))
    elif orders is not None:
        phrase = _ratio_phrase("order", profile[orders], overall[orders])
        if phrase:
            words.append(phrase.replace("order", "order count", 1))
    shares = [c for c in cols if str(c).startswith("share_")]
    if shares:
        top = max(shares, key=lambda c: means[c])
        if means[top] >= 0.4:
            words.append(f"mostly {str(top)[len('share_') :]}")
        elif len(shares) > 1:
            words.append("a mix of categories")
    if "recency_days" in cols:
        words.append(f"last seen {humanize_days(float(profile['recency_days']))} ago")
    if "tenure_days" in cols and profile["tenure_days"] < 0.5 * overall["tenure_days"]:
        words.append(f"new (first order {humanize_days(float(profile['tenure_days']))} ago)")
    for col, label in (("csat", "CSAT"), ("nps", "NPS answer")):
        if col in cols and np.isfinite(means[col]) and abs(means[col] - all_means[col]) >= 0.5:
            mood = "happier" if means[col] > all_means[col] else "less happy"
            words.append(f"{mood} than most ({label} {means[col]:.1f})")
    if "tickets" in cols and means["tickets"] >= max(2 * all_means["tickets"], 0.2):
        words.append(f"open many support tickets ({means['tickets']:.1f} each)")
    return words


def describe_clusters(
    features: pd.DataFrame, labels: pd.Series
) -> tuple[pd.DataFrame, dict[int, str]]:
    """Profiles (size, share and feature medians per cluster) and one sentence per cluster."""
    numeric = features.select_dtypes(include=[np.number, "bool"]).astype(np.float64)
    overall = numeric.median()
    all_means = numeric.mean()
    spread = numeric.std(ddof=0).replace(0.0, np.nan)
    grouped = numeric.groupby(labels.to_numpy())
    medians = grouped.median()
    means = grouped.mean()
    sizes = grouped.size()
    profiles = medians.copy()
    profiles.insert(0, "share", sizes / sizes.sum())
    profiles.insert(0, "customers", sizes)
    profiles.index.name = "cluster"
    descriptions: dict[int, str] = {}
    for cluster in medians.index:
        if cluster < 0:
            descriptions[int(cluster)] = "unusual customers who fit no group (outliers)"
            continue
        words = _sentence(medians.loc[cluster], overall, means.loc[cluster], all_means)
        gaps = ((means.loc[cluster] - all_means) / spread).drop(
            labels=[c for c in numeric.columns if c in _SPECIFIC or str(c).startswith("share_")]
        )
        gaps = gaps.dropna()
        for col in gaps.abs().sort_values(ascending=False).index[:2]:
            if abs(gaps[col]) >= 0.5:
                direction = "high" if gaps[col] > 0 else "low"
                words.append(f"{direction} {str(col).replace('_', ' ')}")
        descriptions[int(cluster)] = ", ".join(words) if words else "typical customers"
    return profiles, descriptions
