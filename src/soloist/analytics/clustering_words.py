"""Turn a cluster's feature profile into a sentence: "spend 3× the median, buy monthly, …".

Each cluster is compared with the whole customer base on medians (robust to a few huge
spenders). How often the members buy is told from their shares, not from the median member:
"bought once" only when every member did, "mostly one-time buyers (72%)" when most did, and
otherwise the rhythm of the members who bought again ("buy monthly"), with "30% bought only
once" when that share is notable. Known feature names get specific phrases; the remaining
features that set the cluster most apart (largest gap in standard deviations) get a generic
"high X" / "low X".

Every phrase is one of :data:`PHRASES`, a printf template with named fields, and a description
is its phrases joined by ``", "``. That closed grammar is what lets another language word the
same description: the web app reads a stored description back phrase by phrase and translates
each template (a test keeps its copy of the templates equal to these).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .customer_features import humanize_days

__all__ = ["PHRASES", "SEPARATOR", "describe_clusters", "rhythm_phrase"]

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

#: between the phrases of a description
SEPARATOR = ", "
#: every phrase a description is made of; fields: ``ratio`` and ``score`` (one decimal),
#: ``ago`` (:func:`~soloist.analytics.customer_features.humanize_days`), ``category`` (a product
#: category), ``feature`` (a feature name with spaces for underscores), ``share`` (a whole
#: percentage with its sign, "72%")
PHRASES = {
    "spend_ratio": "spend %(ratio)s× the median",
    "spend_far_below": "spend far below the median",
    "spend_typical": "typical spend",
    "bought_once": "bought once",
    "mostly_once": "mostly one-time buyers (%(share)s)",
    "some_once": "%(share)s bought only once",
    "weekly": "buy weekly",
    "fortnightly": "buy every two weeks",
    "monthly": "buy monthly",
    "every_few_months": "buy every few months",
    "twice_a_year": "buy about twice a year",
    "yearly_or_less": "buy about once a year or less",
    "orders_ratio": "order count %(ratio)s× the median",
    "orders_far_below": "order count far below the median",
    "mostly": "mostly %(category)s",
    "mixed": "a mix of categories",
    "last_seen": "last seen %(ago)s ago",
    "last_seen_today": "last seen today",
    "new": "new (first order %(ago)s ago)",
    "happier_csat": "happier than most (CSAT %(score)s)",
    "less_happy_csat": "less happy than most (CSAT %(score)s)",
    "happier_nps": "happier than most (NPS answer %(score)s)",
    "less_happy_nps": "less happy than most (NPS answer %(score)s)",
    "many_tickets": "open many support tickets (%(score)s each)",
    "high": "high %(feature)s",
    "low": "low %(feature)s",
    "outliers": "unusual customers who fit no group (outliers)",
    "typical": "typical customers",
}


def _say(key: str, **fields: str) -> str:
    return PHRASES[key] % fields if fields else PHRASES[key]


def _ago(days: float) -> str:
    """How long ago, at least "1 day" (the phrases say "… ago"; "today" has its own phrase)."""
    return humanize_days(max(days, 0.5))


def rhythm_phrase(gap_days: float) -> str:
    """How often someone with this typical gap between orders buys."""
    for limit, key in (
        (10, "weekly"),
        (21, "fortnightly"),
        (45, "monthly"),
        (120, "every_few_months"),
        (250, "twice_a_year"),
    ):
        if gap_days <= limit:
            return _say(key)
    return _say("yearly_or_less")


def _ratio_phrase(what: str, value: float, typical: float) -> str | None:
    """``what`` is ``spend`` or ``orders``; None when the ratio is unremarkable."""
    if typical <= 0 or not np.isfinite(value):
        return None
    ratio = value / typical
    if 0.67 <= ratio <= 1.5:
        return None
    if ratio >= 0.2:
        return _say(f"{what}_ratio", ratio=f"{ratio:.1f}")
    return _say(f"{what}_far_below")


def _first(columns: pd.Index, names: tuple[str, ...]) -> str | None:
    return next((c for c in names if c in columns), None)


#: from this share of one-time buyers on, a cluster is "mostly one-time buyers"
MOSTLY_ONCE = 0.5
#: from this share on, a cluster of repeat buyers says how many bought only once
SOME_ONCE = 0.2


def _percent(share: float) -> str:
    """A whole percentage, rounded down (99.7 % of one-time buyers is not "100%")."""
    return f"{int(np.floor(100.0 * share + 1e-9))}%"


def _buying(profile: pd.Series, overall: pd.Series, once: float, repeat_gap: float) -> list[str]:
    """How often the members buy, from the share who bought once and the repeaters' rhythm."""
    cols = profile.index
    orders = _first(cols, _ORDERS)
    if orders is not None and np.isfinite(once):
        if once >= 1.0:
            return [_say("bought_once")]
        if once >= MOSTLY_ONCE:
            return [_say("mostly_once", share=_percent(once))]
    words: list[str] = []
    if "interpurchase_days" in cols:
        gap = repeat_gap if np.isfinite(repeat_gap) else float(profile["interpurchase_days"])
        words.append(rhythm_phrase(gap))
    elif orders is not None:
        phrase = _ratio_phrase("orders", profile[orders], overall[orders])
        if phrase:
            words.append(phrase)
    if orders is not None and np.isfinite(once) and once >= SOME_ONCE:
        words.append(_say("some_once", share=_percent(once)))
    return words


def _sentence(
    profile: pd.Series,
    overall: pd.Series,
    means: pd.Series,
    all_means: pd.Series,
    buying: tuple[float, float] = (np.nan, np.nan),
) -> list[str]:
    words: list[str] = []
    cols = profile.index
    spend = _first(cols, _SPEND)
    if spend:
        phrase = _ratio_phrase("spend", profile[spend], overall[spend])
        words.append(phrase or _say("spend_typical"))
    words.extend(_buying(profile, overall, *buying))
    shares = [c for c in cols if str(c).startswith("share_")]
    if shares:
        top = max(shares, key=lambda c: means[c])
        if means[top] >= 0.4:
            words.append(_say("mostly", category=str(top)[len("share_") :]))
        elif len(shares) > 1:
            words.append(_say("mixed"))
    if "recency_days" in cols:
        recency = float(profile["recency_days"])
        seen = _say("last_seen", ago=_ago(recency)) if recency >= 0.5 else _say("last_seen_today")
        words.append(seen)
    if "tenure_days" in cols and profile["tenure_days"] < 0.5 * overall["tenure_days"]:
        words.append(_say("new", ago=_ago(float(profile["tenure_days"]))))
    for col in ("csat", "nps"):
        if col in cols and np.isfinite(means[col]) and abs(means[col] - all_means[col]) >= 0.5:
            mood = "happier" if means[col] > all_means[col] else "less_happy"
            words.append(_say(f"{mood}_{col}", score=f"{means[col]:.1f}"))
    if "tickets" in cols and means["tickets"] >= max(2 * all_means["tickets"], 0.2):
        words.append(_say("many_tickets", score=f"{means['tickets']:.1f}"))
    return words


def describe_clusters(
    features: pd.DataFrame, labels: pd.Series
) -> tuple[pd.DataFrame, dict[int, str]]:
    """Profiles (size, share, share of one-time buyers and feature medians per cluster) and one
    sentence per cluster."""
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
    orders = _first(numeric.columns, _ORDERS)
    once = pd.Series(np.nan, index=medians.index)
    repeat_gap = pd.Series(np.nan, index=medians.index)
    if orders is not None:
        once = (numeric[orders] <= 1).groupby(labels.to_numpy()).mean()
        if "interpurchase_days" in numeric.columns:
            repeaters = numeric["interpurchase_days"].where(numeric[orders] > 1)
            repeat_gap = repeaters.groupby(labels.to_numpy()).median()
    if orders is not None:
        profiles.insert(2, "one_time_share", once.reindex(profiles.index))
    descriptions: dict[int, str] = {}
    for cluster in medians.index:
        if cluster < 0:
            descriptions[int(cluster)] = _say("outliers")
            continue
        buying = (float(once.get(cluster, np.nan)), float(repeat_gap.get(cluster, np.nan)))
        words = _sentence(medians.loc[cluster], overall, means.loc[cluster], all_means, buying)
        gaps = ((means.loc[cluster] - all_means) / spread).drop(
            labels=[c for c in numeric.columns if c in _SPECIFIC or str(c).startswith("share_")]
        )
        gaps = gaps.dropna()
        for col in gaps.abs().sort_values(ascending=False).index[:2]:
            if abs(gaps[col]) >= 0.5:
                direction = "high" if gaps[col] > 0 else "low"
                words.append(_say(direction, feature=str(col).replace("_", " ")))
        descriptions[int(cluster)] = SEPARATOR.join(words) if words else _say("typical")
    return profiles, descriptions
