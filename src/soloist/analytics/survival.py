"""Survival of subscriptions: Kaplan–Meier curves, a right-censored sBG fit and churn risk.

References
----------
.. [KM58] Kaplan, E. L. and Meier, P. (1958). Nonparametric estimation from incomplete
   observations. *Journal of the American Statistical Association* 53(282), 457-481.
.. [G26] Greenwood, M. (1926). The natural duration of cancer. *Reports on Public Health and
   Medical Subjects* 33 — the variance ``S(t)² Σ d_i / (n_i (n_i − d_i))``.
.. [FH07] Fader, P. S. and Hardie, B. G. S. (2007). How to project customer retention.
   *Journal of Interactive Marketing* 21(1), 76-90.

The Kaplan–Meier estimator is ``S(t) = Π_{t_i ≤ t} (1 − d_i / n_i)`` over the distinct event
times ``t_i`` with ``d_i`` events among the ``n_i`` still at risk; censored subjects (still
subscribed) leave the risk set after their last observed time. Confidence bands use Greenwood's
variance on the log(−log) scale, which keeps them inside (0, 1).

The sBG model of [FH07] is fitted here from individual, right-censored lifetimes (subscribers who
started at different dates): a subscription cancelled after ``t`` periods contributes
``log P(T = t) = log B(α+1, β+t−1) − log B(α, β)``, one still active after ``t`` periods
``log S(t) = log B(α, β+t) − log B(α, β)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ._math import betaln
from .errors import AnalyticsError
from .sbg import ShiftedBetaGeometricModel

__all__ = [
    "expected_remaining_periods",
    "fit_sbg_censored",
    "kaplan_meier",
    "median_survival",
]


def kaplan_meier(durations: Any, observed: Any, confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan–Meier survival curve with Greenwood log(−log) confidence bands.

    Parameters
    ----------
    durations : array-like
        Time from the start to the event or to censoring (>= 0).
    observed : array-like of bool
        True when the event (cancellation) happened, False when censored (still active).

    Returns
    -------
    DataFrame with one row per distinct time: ``time``, ``at_risk``, ``events``, ``censored``,
    ``survival``, ``lower``, ``upper``. The first row is time 0 with survival 1.

    Examples
    --------
    >>> kaplan_meier([1, 2, 2, 3], [True, True, False, True])["survival"].round(3).tolist()
    [1.0, 0.75, 0.5, 0.0]
    """
    t = np.asarray(durations, dtype=np.float64)
    e = np.asarray(observed, dtype=bool)
    if t.ndim != 1 or t.size != e.size:
        raise AnalyticsError("durations and observed must be 1-d and of equal length")
    if t.size == 0:
        raise AnalyticsError("kaplan_meier needs at least one duration")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise AnalyticsError("durations must be finite and >= 0")
    times, inverse = np.unique(t, return_inverse=True)
    events = np.bincount(inverse, weights=e.astype(np.float64), minlength=times.size)
    leaving = np.bincount(inverse, minlength=times.size).astype(np.float64)
    at_risk = t.size - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    factor = 1.0 - events / at_risk
    survival = np.cumprod(factor)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(events / (at_risk * (at_risk - events)))
        z = stats.norm.ppf(0.5 + confidence / 2.0)
        log_s = np.log(survival)
        se = np.sqrt(greenwood) / np.abs(log_s)
        lower = np.exp(-np.exp(np.log(-log_s) + z * se))
        upper = np.exp(-np.exp(np.log(-log_s) - z * se))
    undefined = (survival <= 0) | (survival >= 1) | ~np.isfinite(se)
    lower = np.where(undefined, survival, lower)
    upper = np.where(undefined, survival, upper)
    frame = pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk.astype(np.int64),
            "events": events.astype(np.int64),
            "censored": (leaving - events).astype(np.int64),
            "survival": survival,
            "lower": lower,
            "upper": upper,
        }
    )
    if times[0] > 0:
        start = pd.DataFrame(
            {"time": [0.0], "at_risk": [t.size], "events": [0], "censored": [0],
             "survival": [1.0], "lower": [1.0], "upper": [1.0]}
        )  # fmt: skip
        frame = pd.concat([start, frame], ignore_index=True)
    return frame


def median_survival(curve: pd.DataFrame) -> float | None:
    """First time at which the Kaplan–Meier survival drops to 0.5 or below (None if never)."""
    below = curve.loc[curve["survival"] <= 0.5, "time"]
    return float(below.iloc[0]) if len(below) else None


def fit_sbg_censored(periods: Any, churned: Any, entry: Any = None) -> ShiftedBetaGeometricModel:
    """Fit the sBG model to individual lifetimes in whole periods, with right-censoring and,
    with ``entry``, left truncation.

    ``periods[i]`` is the number of billing periods subscription ``i`` lasted (cancelled) or
    has lasted so far (``churned[i]`` False). Cancellations need ``periods >= 1``.
    ``entry[i]`` is the number of periods the subscription had already lasted when it came
    under observation (0 by default): a book that records only who left in the last month
    observes each subscriber from their last period on, and each likelihood term is then
    conditional on surviving to ``entry`` (divided by ``S(entry)``; Klein & Moeschberger 2003,
    §3.4).

    Returns
    -------
    ShiftedBetaGeometricModel
        With ``params_`` (``alpha``, ``beta``) and ``log_likelihood_`` set, so its predictions
        (``survival``, ``retention_rate``, ``discounted_expected_residual_lifetime`` …) work.
    """
    t = np.asarray(periods, dtype=np.float64)
    c = np.asarray(churned, dtype=bool)
    e = np.zeros_like(t) if entry is None else np.asarray(entry, dtype=np.float64)
    if t.size != c.size or t.size == 0 or e.size != t.size:
        raise AnalyticsError("periods, churned and entry must be non-empty and of equal length")
    if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(t != np.round(t)):
        raise AnalyticsError("periods must be whole numbers >= 0")
    if np.any(e < 0) or np.any(e != np.round(e)) or np.any(e > t) or np.any(c & (e >= t)):
        raise AnalyticsError("entry must be whole numbers from 0 to periods (below it if churned)")
    if np.any(c & (t < 1)):
        raise AnalyticsError("a cancelled subscription must have lasted at least 1 period")
    if not c.any():
        raise AnalyticsError("no subscription was cancelled: the sBG model is not identified")
    (tc, nc), (ta, na) = np.unique(t[c], return_counts=True), np.unique(t[~c], return_counts=True)
    te, ne = np.unique(e[e > 0], return_counts=True)

    def negative_ll(z: Any) -> float:
        a, b = np.exp(z)
        lb = betaln(a, b)
        ll = float(nc @ (betaln(a + 1.0, b + tc - 1.0) - lb))
        if ta.size:
            ll += float(na @ (betaln(a, b + ta) - lb))
        if te.size:
            ll -= float(ne @ (betaln(a, b + te) - lb))
        return -ll if np.isfinite(ll) else np.inf

    best = None
    for start in ((0.0, 0.0), (-0.7, 1.6), (1.0, 2.5)):
        res = optimize.minimize(
            negative_ll,
            np.array(start),
            method="Nelder-Mead",
            options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000},
        )
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    alpha, beta = np.exp(best.x)
    if max(abs(best.x)) > 15:
        raise AnalyticsError("the sBG fit ran off to an extreme: the data do not identify it")
    model = ShiftedBetaGeometricModel()
    model.params_ = {"alpha": float(alpha), "beta": float(beta)}
    model.log_likelihood_ = float(-best.fun)
    model.n_periods_ = int(t.max())
    return model


def expected_remaining_periods(model: ShiftedBetaGeometricModel, renewals: Any) -> Any:
    """Expected further renewals of a subscriber who has renewed ``renewals`` times.

    Their churn probability has the posterior ``Beta(α, β + renewals)``, and the number of
    further renewals is geometric with mean ``(1−θ)/θ``, so ``E = (β + renewals)/(α − 1)``
    (infinite when ``α <= 1``: a heavy tail of near-permanent subscribers).
    """
    alpha, beta = model.params_["alpha"], model.params_["beta"]
    n = np.asarray(renewals, dtype=np.float64)
    out = (beta + n) / (alpha - 1.0) if alpha > 1 else np.full_like(n, np.inf)
    return out if np.ndim(renewals) else float(out)


def sbg_survival_curve(model: ShiftedBetaGeometricModel, periods: int) -> list[float]:
    """``S(t)`` for ``t = 0..periods`` from a fitted sBG model."""
    a, b = model.params_["alpha"], model.params_["beta"]
    t = np.arange(periods + 1, dtype=np.float64)
    return [float(v) for v in np.exp(special.betaln(a, b + t) - special.betaln(a, b))]
