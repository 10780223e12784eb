"""Choosing the purchase model by evidence, and fitting it even where the data are thin.

``soloist analyze`` fits BG/NBD (Fader, Hardie & Lee 2005), MBG/NBD (Batislam, Denizel &
Filiztekin 2007) and Pareto/NBD (Schmittlein, Morrison & Colombo 1987) on the calibration
window, predicts each customer's repeat purchases in the holdout window that follows, and keeps
the model whose predictions come closest. Closest means the lowest root mean squared error per
customer: each model predicts the conditional expectation E[X(t) | x, t_x, T], and the
expectation is what minimises squared error, so RMSE is the proper score for it. Models within
2 % of the best RMSE count as tied, and a tie goes to the model that can say whether a one-time
buyer is still active (BG/NBD assumes that nobody leaves before a repeat purchase, so it gives
every one-time buyer P(alive) = 1), then to the higher calibration log-likelihood.

Where the maximum-likelihood fit is not identified — on a year of a growing shop the dropout
parameters run off to the boundary, because the window holds no sign of churn yet — the model is
fitted with the smallest L2 penalty that identifies it, chosen by K-fold cross-validation over
customers on the held-out log-likelihood (``score``), as lifetimes users are told to do by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from sklearn.model_selection import KFold

from soloist.analytics import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    calibration_holdout_table,
)
from soloist.analytics.errors import AnalyticsError
from soloist.errors import ValidationError

PURCHASE_MODELS: dict[str, type[Any]] = {
    "bg-nbd": BetaGeoModel,
    "mbg-nbd": ModifiedBetaGeoModel,
    "pareto-nbd": ParetoNBDModel,
}
PENALTY_GRID = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
MIN_REPEAT_BUYERS = 20  # fewer, and no four-parameter model is worth fitting
POOLED = "pooled-rate"
CV_FOLDS = 3
MAX_FAILED_PENALTIES = 4
#: Customers a purchase model's four parameters are estimated from, at most: a seeded random
#: sample of that many. The customers are independent draws in every BTYD model, so the sample's
#: maximum likelihood estimates the same parameters, with standard errors a third of those of
#: CDNOW's 23,570 customers; every customer is still scored and checked on the holdout. Beyond
#: it a fit (and the penalty's cross-validation) only costs more time, linear in the customers:
#: at a million customers with their own purchase times, minutes.
FIT_AT_MOST = 250_000
#: Customers the penalty is cross-validated on, at most: a seeded random sample of the fitted
#: customers. The penalty weighs the *mean* log-likelihood per customer, so its effect does not
#: depend on how many are fitted and a penalty chosen on a sample means the same on all of
#: them; the model is then fitted with it on every fitted customer. Each penalty tried costs
#: three fits on two thirds of the sample: at 100,000 customers (the demo, where Pareto/NBD is
#: not identified) the cross-validation was most of `soloist analyze`'s longer process.
PENALTY_CV_AT_MOST = 50_000
TIE_TOLERANCE = 0.02
# Models that let a customer leave before a repeat purchase, so P(alive) of a one-time buyer
# is an estimate rather than an assumption.
ALIVE_FOR_ONE_TIME_BUYERS = frozenset({"mbg-nbd", "pareto-nbd"})


@dataclass
class PurchaseFit:
    """A fitted purchase model and how it was fitted."""

    name: str
    model: Any
    penalizer: float = 0.0
    cross_validation: list[dict[str, Any]] = field(default_factory=list)
    not_identified: str | None = None  # why the plain fit failed, when a penalty was needed

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "penalizer": self.penalizer,
            **({"not_identified": self.not_identified} if self.not_identified else {}),
            **({"cross_validation": self.cross_validation} if self.cross_validation else {}),
        }


def purchase_model_class(name: str) -> type[Any]:
    """The class of a stored run's purchase model (the BTYD models, or the pooled rate)."""
    return PooledRateModel if name == POOLED else PURCHASE_MODELS[name]


def _columns(summary: pd.DataFrame) -> tuple[Any, Any, Any]:
    return summary["frequency"], summary["recency"], summary["T"]


def fit_purchase_model(name: str, summary: pd.DataFrame, *, random_state: int = 0) -> PurchaseFit:
    """Fit ``name`` by maximum likelihood, or with a cross-validated penalty if it must.

    Customers first seen on the last day (T = 0) carry no information and are left out; of
    more than :data:`FIT_AT_MOST` customers, a seeded random sample of that many is fitted.
    The penalty is cross-validated on at most :data:`PENALTY_CV_AT_MOST` of them.
    Raises :class:`AnalyticsError` when no penalty on the grid identifies the model.
    """
    seen = summary[summary["T"] > 0]
    if len(seen) > FIT_AT_MOST:
        seen = seen.sample(n=FIT_AT_MOST, random_state=random_state)
    if name == POOLED:
        return PurchaseFit(POOLED, PooledRateModel().fit(*_columns(seen)))
    cls = PURCHASE_MODELS[name]
    try:
        return PurchaseFit(name, cls().fit(*_columns(seen)))
    except AnalyticsError as exc:
        reason = str(exc)
    judged = seen
    if len(judged) > PENALTY_CV_AT_MOST:
        judged = judged.sample(n=PENALTY_CV_AT_MOST, random_state=random_state)
    splitter = KFold(n_splits=CV_FOLDS, shuffle=True, random_state=random_state)
    folds = list(splitter.split(judged))
    trials: list[dict[str, Any]] = []
    tried = PENALTY_GRID[0]
    for attempt, penalty in enumerate(PENALTY_GRID):
        held_out = _cross_validated_score(cls, penalty, judged, folds)
        if held_out is None:
            # a heavier penalty only pulls harder towards the boundary that failed
            tried = penalty
            if trials or attempt + 1 >= MAX_FAILED_PENALTIES:
                break
            continue
        trials.append({"penalizer": penalty, "held_out_log_likelihood": held_out})
        if len(trials) > 1 and held_out < trials[-2]["held_out_log_likelihood"]:
            break
        tried = penalty
    for trial in sorted(trials, key=lambda t: -t["held_out_log_likelihood"]):
        try:
            model = cls(penalizer_coef=trial["penalizer"]).fit(*_columns(seen))
        except AnalyticsError:
            continue
        rounded = [
            {
                "penalizer": t["penalizer"],
                "held_out_log_likelihood": round(t["held_out_log_likelihood"], 5),
            }
            for t in trials
        ]
        return PurchaseFit(name, model, trial["penalizer"], rounded, _first_sentence(reason))
    raise AnalyticsError(
        f"{_first_sentence(reason)}; no penalty from {PENALTY_GRID[0]:g} to {tried:g} identifies it"
    )


def _cross_validated_score(
    cls: type[Any], penalty: float, seen: pd.DataFrame, folds: list[Any]
) -> float | None:
    """Mean held-out log-likelihood per customer over the folds; None if a fold fails."""
    scores = []
    for train, test in folds:
        try:
            fitted = cls(penalizer_coef=penalty).fit(*_columns(seen.iloc[train]))
        except AnalyticsError:
            return None
        scores.append(fitted.score(*_columns(seen.iloc[test])))
    return float(np.mean(scores))


def _first_sentence(message: str) -> str:
    return message.split(". ")[0].split(" — ", 1)[-1].rstrip(".")


def holdout_metrics(fit: PurchaseFit, summary: pd.DataFrame, holdout_days: int) -> dict[str, Any]:
    """How well ``fit`` (made on the calibration window) predicted the holdout window."""
    model = fit.model
    predicted = np.asarray(
        model.expected_purchases(holdout_days, *_columns(summary)), dtype=np.float64
    )
    actual = summary["frequency_holdout"].to_numpy(dtype=np.float64)
    total_actual, total_predicted = float(actual.sum()), float(predicted.sum())
    by_frequency = calibration_holdout_table(model, summary)
    errors = predicted - actual
    return {
        **fit.describe(),
        "params": {k: round(float(v), 6) for k, v in model.params_.items()},
        "log_likelihood": round(float(model.log_likelihood_), 3),
        "predicted_repeat_purchases": round(total_predicted, 1),
        "actual_repeat_purchases": int(total_actual),
        "aggregate_error_percent": round(100 * (total_predicted - total_actual) / total_actual, 2)
        if total_actual
        else None,
        "rmse": round(float(np.sqrt(np.mean(errors**2))), 4),
        "mean_absolute_error": round(float(np.mean(np.abs(errors))), 4),
        "correlation": round(float(np.corrcoef(predicted, actual)[0, 1]), 4)
        if actual.std() > 0 and predicted.std() > 0
        else None,
        "by_calibration_frequency": [
            {"frequency": str(index), **{k: round(float(v), 4) for k, v in row.items()}}
            for index, row in by_frequency.iterrows()
        ],
    }


@dataclass
class ModelComparison:
    """Every candidate's holdout figures, the one chosen, and why."""

    chosen: str
    reason: str
    tie_break: str | None  # why a model other than the lowest RMSE was kept
    candidates: dict[str, dict[str, Any]]
    failed: dict[str, str]
    fits: dict[str, PurchaseFit]

    def chosen_metrics(self) -> dict[str, Any]:
        return self.candidates[self.chosen]


def compare_purchase_models(
    summary: pd.DataFrame, holdout_days: int, names: list[str], *, random_state: int = 0
) -> ModelComparison:
    """Fit each named model on the calibration columns of ``summary`` and rank them.

    ``summary`` is :func:`~soloist.analytics.rfm_summary` with ``calibration_end``. With one
    name the comparison is of one (``--model`` forces it) and the reason says so.
    """
    candidates: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    fits: dict[str, PurchaseFit] = {}
    if int((summary[summary["T"] > 0]["frequency"] > 0).sum()) < MIN_REPEAT_BUYERS:
        return _pooled_fallback(summary, holdout_days, failed)
    for name in names:
        try:
            fit = fit_purchase_model(name, summary, random_state=random_state)
        except AnalyticsError as exc:
            failed[name] = str(exc)
            continue
        fits[name] = fit
        candidates[name] = holdout_metrics(fit, summary, holdout_days)
    if not candidates:
        return _pooled_fallback(summary, holdout_days, failed)
    chosen, reason, tie_break = _choose(candidates, forced=len(names) == 1)
    return ModelComparison(chosen, reason, tie_break, candidates, failed, fits)


def _pooled_fallback(
    summary: pd.DataFrame, holdout_days: int, failed: dict[str, str]
) -> ModelComparison:
    """Every customer at the shop's average repeat rate: what the data identify when no BTYD
    model can be fitted (too few repeat buyers, or none identified)."""
    fit = fit_purchase_model(POOLED, summary)
    metrics = holdout_metrics(fit, summary, holdout_days)
    repeaters = int((summary["frequency"] > 0).sum())
    why = (
        f"only {repeaters} customers bought again before the holdout; the BTYD models need "
        f"{MIN_REPEAT_BUYERS}"
        if repeaters < MIN_REPEAT_BUYERS
        else "no BTYD model could be fitted"
    )
    reason = f"{why}: every customer is expected to buy again at the shop's average rate"
    return ModelComparison(POOLED, reason, "fallback", {POOLED: metrics}, failed, {POOLED: fit})


def _choose(candidates: dict[str, dict[str, Any]], *, forced: bool) -> tuple[str, str, str | None]:
    if forced:
        (name,) = candidates
        return name, f"{name} was asked for (--model)", "forced"
    best_rmse = min(c["rmse"] for c in candidates.values())
    best = min(candidates, key=lambda n: candidates[n]["rmse"])
    tied = [n for n, c in candidates.items() if c["rmse"] <= best_rmse * (1 + TIE_TOLERANCE)]
    chosen = max(
        tied,
        key=lambda n: (n in ALIVE_FOR_ONE_TIME_BUYERS, candidates[n]["log_likelihood"]),
    )
    scores = ", ".join(f"{n} {c['rmse']:.4f}" for n, c in candidates.items())
    if chosen == best:
        return chosen, f"{chosen} predicted the holdout best (RMSE per customer: {scores})", None
    tie_break = (
        "one_time_buyers"
        if chosen in ALIVE_FOR_ONE_TIME_BUYERS and best not in ALIVE_FOR_ONE_TIME_BUYERS
        else "log_likelihood"
    )
    why = (
        "it can tell whether a one-time buyer is still active"
        if tie_break == "one_time_buyers"
        else "its calibration log-likelihood is higher"
    )
    return (
        chosen,
        f"{chosen} predicted the holdout within {TIE_TOLERANCE:.0%} of the best ({best}; RMSE "
        f"per customer: {scores}) and is preferred because {why}",
        tie_break,
    )


MIN_CUSTOMERS = 20
MIN_SPEND_REPEATERS = 20
DEFAULT_HOLDOUT_DAYS = 90
MIN_HOLDOUT_DAYS = 7


def choose_holdout_days(span_days: int, requested: int | None) -> int:
    """The holdout length: as asked, or 90 days when the data span three times that, else a
    third of the span. Raises with the figures a user needs when the data are too short."""
    if requested is not None and requested < MIN_HOLDOUT_DAYS:
        raise ValidationError(
            f"The holdout must be at least {MIN_HOLDOUT_DAYS} days.", field="holdout_days"
        )
    if span_days < 3 * MIN_HOLDOUT_DAYS:
        raise ValidationError(
            f"The orders span {span_days} days; the models need at least "
            f"{3 * MIN_HOLDOUT_DAYS} (two parts to fit on, one to check against).",
            field="end_date",
        )
    longest = span_days // 2
    if requested is None:
        return min(DEFAULT_HOLDOUT_DAYS, span_days // 3)
    if requested > longest:
        raise ValidationError(
            f"The orders span {span_days} days, too short for a {requested}-day holdout: use "
            f"--holdout-days {min(DEFAULT_HOLDOUT_DAYS, span_days // 3)} (at most {longest}).",
            field="holdout_days",
        )
    return requested


def check_enough_purchases(summary: pd.DataFrame, what: str) -> None:
    """One line saying what is missing, before any fitting, when the data cannot teach."""
    seen = summary[summary["T"] > 0]
    if len(seen) < MIN_CUSTOMERS:
        raise ValidationError(
            f"Only {len(seen)} customers bought before the last day of {what}; "
            f"the purchase models need at least {MIN_CUSTOMERS}."
        )
    if not (seen["frequency"] > 0).any():
        raise ValidationError(
            f"None of the {len(seen):,} customers of {what} bought again on a later day; the "
            "purchase models learn from repeat purchases."
        )


class PooledRateModel:
    """One repeat-purchase rate for everyone, no dropout: ``x_i ~ Poisson(λ T_i)`` over each
    customer's time since the first purchase, so ``λ̂ = Σ x / Σ T`` and
    ``E[X(t) | x, T] = λ̂ t``. The fallback when too few customers bought again for the
    heterogeneity and dropout of the BTYD models to be learnt; it says nothing about who is
    still active (P(alive) is unknown)."""

    def __init__(self) -> None:
        self.params_: dict[str, float] = {}
        self.log_likelihood_ = float("nan")

    def fit(self, frequency: Any, recency: Any, age: Any) -> PooledRateModel:
        x, t = np.asarray(frequency, dtype=np.float64), np.asarray(age, dtype=np.float64)
        rate = float(x.sum() / t.sum()) if t.sum() > 0 else 0.0
        self.params_ = {"rate_per_day": rate}
        mean = rate * t
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(x > 0, x * np.log(mean), 0.0) - mean - special.gammaln(x + 1)
        self.log_likelihood_ = float(terms.sum())
        return self

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, age: Any) -> Any:
        shape = np.broadcast(np.asarray(t), np.asarray(frequency)).shape
        return np.broadcast_to(self.params_["rate_per_day"] * np.asarray(t, float), shape)

    def expected_repeat_purchases(self, t: Any) -> Any:
        return self.params_["rate_per_day"] * np.asarray(t, dtype=np.float64)

    def probability_alive(self, frequency: Any, recency: Any, age: Any) -> Any:
        return np.full(np.shape(frequency), np.nan)


class PooledSpend:
    """Everyone's expected spend per purchase is the mean order value: the fallback when too
    few customers bought twice for Gamma-Gamma (Fader, Hardie & Lee 2005b) to be fitted."""

    def __init__(self, mean_spend: float = 0.0) -> None:
        self.params_: dict[str, float] = {"mean_spend": mean_spend}
        self.log_likelihood_ = float("nan")

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any) -> Any:
        return np.full(np.shape(frequency), self.params_["mean_spend"], dtype=np.float64)


def fit_spend_model(
    summary: pd.DataFrame, orders: pd.DataFrame
) -> tuple[Any, dict[str, Any] | None]:
    """Gamma-Gamma on the repeat buyers, or :class:`PooledSpend` and a note saying why."""
    repeaters = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    mean_order = float(orders.loc[orders["amount"] > 0, "amount"].mean())
    if len(repeaters) < MIN_SPEND_REPEATERS:
        return PooledSpend(mean_order), {
            "code": "pooled_spend",
            "count": len(repeaters),
            "text": f"only {len(repeaters)} customers bought twice (Gamma-Gamma needs "
            f"{MIN_SPEND_REPEATERS}): everyone's spend per purchase is the mean order value",
        }
    try:
        return GammaGammaModel().fit(repeaters["frequency"], repeaters["monetary_value"]), None
    except AnalyticsError as exc:
        return PooledSpend(mean_order), {
            "code": "pooled_spend",
            "count": len(repeaters),
            "text": f"Gamma-Gamma could not be fitted ({_first_sentence(str(exc))}): everyone's "
            "spend per purchase is the mean order value",
        }
