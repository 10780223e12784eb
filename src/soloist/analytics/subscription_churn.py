"""Churn risk of subscribers: a classifier on subscription features, survival curves, lifetime.

* Classifier: the rows are the subscriptions that were active at some time in the window
  ``[cutoff, now)`` with ``cutoff = now − H`` (active at the cutoff, or started after it); the
  label is "cancelled in ``[cutoff, now)``". Features describe each subscription *at the
  cutoff* (or at its start, for one that started later) and never read the cancellation: the
  tenure at the cutoff (0 for a later start), the price, the billing interval and plan
  (one-hot) and the extra per-customer columns that pass the leakage guard (below). Logistic
  regression, random forest and gradient boosting are compared by stratified 5-fold
  cross-validation (each model on its own: one that fails is reported with its reason); the best
  mean ROC AUC is refitted on all rows and scores the subscriptions active at ``now``.
* Leakage guard for the extra columns: a column named like the outcome (churn, cancelled,
  status, end date …) is left out, and so is one that on its own separates cancelled from kept
  subscriptions almost perfectly (ROC AUC ≥ 0.97: a copy of the label, not a predictor), or a
  text column with too many distinct values to be a category. Each is reported with its reason.
* Kaplan–Meier curve of subscription lifetimes in days ([KM58], :mod:`.survival`).
* sBG model (Fader & Hardie 2007) on lifetimes in billing periods, right-censored, giving each
  active subscriber's expected remaining renewals and discounted expected residual lifetime.

When there are too few cancellations to learn from (fewer than 10 in the window), the risk is
the sBG probability of cancelling within the horizon, ``1 − S(n + k)/S(n)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .churn_models import (
    CLASSIFIERS,
    cross_validate_classifiers,
    encode_frame,
    explain_predictions,
    make_classifier,
    one_line,
    one_thread,
)
from .customer_features import to_timestamp
from .errors import AnalyticsError
from .survival import (
    expected_remaining_periods,
    fit_sbg_censored,
    kaplan_meier,
    median_survival,
    sbg_survival_curve,
)

__all__ = ["SubscriptionChurnResult", "score_subscription_churn"]

_DAY = np.timedelta64(1, "D")


@dataclass
class SubscriptionChurnResult:
    scores: pd.DataFrame  # index subscription: customer, churn_risk, reasons, remaining, derl
    chosen: str
    cross_validation: dict[str, dict[str, Any]]
    kaplan_meier: pd.DataFrame
    sbg_params: dict[str, float]
    message: str | None
    failed: dict[str, str] = field(default_factory=dict)
    # the rows the classifiers learned from: ``rows``, ``cutoff``, ``base_rate``, ``folds``,
    # ``features`` (the columns used) and ``left_out`` (extra columns and why)
    training: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        km = self.kaplan_meier
        step = max(1, len(km) // 40)
        return {
            "chosen": self.chosen,
            "cross_validation": self.cross_validation,
            "failed": self.failed,
            **self.training,
            "kaplan_meier": {
                "median_days": median_survival(km),
                "curve": km.iloc[::step][["time", "survival", "lower", "upper"]].to_dict(
                    orient="records"
                ),
            },
            "sbg": (
                {
                    **self.sbg_params,
                    "survival_by_period": sbg_survival_curve(_sbg(self.sbg_params), 12),
                }
                if self.sbg_params
                else None
            ),
            "subscriptions_scored": len(self.scores),
            "message": self.message,
        }


def _sbg(params: dict[str, float]) -> Any:
    from .sbg import ShiftedBetaGeometricModel

    model = ShiftedBetaGeometricModel()
    model.params_ = dict(params)
    return model


#: extra columns with these names (after :func:`_key`) are the outcome, not a predictor
OUTCOME_NAMES = frozenset(
    {"status", "state", "active", "isactive", "left", "exited", "attrition", "enddate",
     "endedat", "ended", "cancelreason", "reason"}
)  # fmt: skip
OUTCOME_WORDS = ("churn", "cancel", "cancelled", "canceled", "attrit")
#: a single extra column separating the classes at least this well is a copy of the label
LEAK_AUC = 0.97
#: a text column with more distinct values than this is an identifier or free text
MAX_LEVELS = 50


def _key(name: Any) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _leak_free(
    extra: pd.DataFrame | None, customers: pd.Series, label: pd.Series
) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """The extra columns safe to learn from, and the others with the reason each is left out."""
    if extra is None or extra.empty:
        return None, {}
    left_out: dict[str, str] = {}
    keep = []
    y = label.to_numpy()
    for col in extra.columns:
        key = _key(col)
        if key in OUTCOME_NAMES or any(word in key for word in OUTCOME_WORDS):
            left_out[str(col)] = "named like the outcome"
            continue
        values = extra[col].reindex(customers.to_numpy())
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            levels = values.nunique()
            if levels > MAX_LEVELS:
                left_out[str(col)] = f"{levels} distinct values: too many for a category"
                continue
        if values.notna().sum() == 0:
            left_out[str(col)] = "empty"
            continue
        encoded = encode_frame(values.to_frame(str(col)).reset_index(drop=True))
        best = 0.5
        if np.unique(y).size == 2:
            for name in encoded.columns:
                column = encoded[name].to_numpy(dtype=np.float64)
                column = np.where(np.isnan(column), np.nanmedian(column), column)
                if np.ptp(column) > 0:
                    auc = float(roc_auc_score(y, column))
                    best = max(best, auc, 1.0 - auc)
        if best >= LEAK_AUC:
            left_out[str(col)] = f"separates cancelled from kept alone (ROC AUC {best:.2f})"
            continue
        keep.append(col)
    return (extra[keep] if keep else None), left_out


def _features(subs: pd.DataFrame, at: pd.Timestamp, extra: pd.DataFrame | None) -> pd.DataFrame:
    """Each subscription as it was at ``at`` (at its start, when that is later)."""
    frame = pd.DataFrame(
        {
            "tenure_days": ((at - subs["started_at"]) / _DAY).clip(lower=0.0),
            "price": subs["price"].astype(np.float64),
            "billing_interval": subs["billing_interval"].astype("string"),
            "plan": subs["plan"].astype("string"),
        },
        index=subs.index,
    )
    if extra is not None:
        joined = extra.reindex(subs["customer_id"].to_numpy())
        joined.index = subs.index
        frame = frame.join(joined)
    return frame


@one_thread
def score_subscription_churn(
    subscriptions: pd.DataFrame,
    observation_end: Any,
    *,
    horizon_days: int = 90,
    period_days: float = 30.4375,
    extra_features: pd.DataFrame | None = None,
    discount_rate: float = 0.01,
    random_state: int = 0,
    models: tuple[str, ...] = CLASSIFIERS,
    folds: int = 5,
) -> SubscriptionChurnResult:
    """Risk of cancelling within ``horizon_days`` for every subscription active at the end.

    ``subscriptions`` is indexed by subscription with ``customer_id``, ``started_at``,
    ``cancelled_at`` (missing while active), ``price``, ``billing_interval`` and ``plan``.
    ``discount_rate`` is per billing period, for the discounted residual lifetime.
    ``extra_features`` are per-customer columns (indexed by customer id), numeric or text; they
    pass the leakage guard of the module docstring first. They must describe what was known
    before the cutoff (a plan detail, a contract term): a column written after the outcome
    (a cancellation survey's answer, say) leaks it however it is named.
    """
    need = ["customer_id", "started_at", "cancelled_at", "price", "billing_interval", "plan"]
    missing = [c for c in need if c not in subscriptions.columns]
    if missing:
        raise AnalyticsError(f"subscriptions has no column(s) {missing}")
    subs = subscriptions.copy()
    for col in ("started_at", "cancelled_at"):
        subs[col] = pd.to_datetime(subs[col], utc=True).dt.tz_localize(None)
    now = to_timestamp(observation_end, "observation_end").floor("D") + pd.Timedelta(days=1)
    subs = subs[subs["started_at"] < now]
    if subs.empty:
        raise AnalyticsError("no subscription started before the end of the data")
    ended = subs["cancelled_at"].notna() & (subs["cancelled_at"] < now)
    stop = subs["cancelled_at"].where(ended, now)
    days = ((stop - subs["started_at"]) / _DAY).clip(lower=0.0)
    km = kaplan_meier(days.to_numpy(), ended.to_numpy())
    periods = np.floor(days.to_numpy() / period_days)
    periods = np.where(ended.to_numpy(), np.maximum(periods, 1.0), periods)
    # Cancellations are watched from the first one recorded (left truncation, as the CLV's
    # retention model): a table of last month's leavers is not years in which nobody left.
    watched_from = subs.loc[ended, "cancelled_at"].min()
    before = ((watched_from - subs["started_at"]) / _DAY).clip(lower=0.0).to_numpy()
    entry = np.floor(before / period_days) if pd.notna(watched_from) else np.zeros(len(subs))
    entry = np.clip(np.minimum(entry, periods - ended.to_numpy()), 0.0, None)
    failed: dict[str, str] = {}
    try:
        sbg: Any = fit_sbg_censored(periods, ended.to_numpy(), entry)
    except (ValueError, ArithmeticError) as exc:
        sbg, failed["sbg"] = None, one_line(exc)
    active = subs[~ended]
    renewals = np.floor(((now - active["started_at"]) / _DAY).to_numpy() / period_days)
    remaining = np.full(len(active), np.nan)
    derl = np.full(len(active), np.nan)
    if sbg is not None:
        remaining = expected_remaining_periods(sbg, renewals)
        derl = np.array(
            [sbg.discounted_expected_residual_lifetime(discount_rate, int(n)) for n in renewals]
        )
    cutoff = now - pd.Timedelta(days=horizon_days)
    rows = subs[subs["cancelled_at"].isna() | (subs["cancelled_at"] >= cutoff)]
    label = (rows["cancelled_at"].notna() & (rows["cancelled_at"] < now)).astype(np.int64)
    minority = int(min(label.sum(), len(label) - label.sum()))
    cv: dict[str, dict[str, Any]] = {}
    message = None
    extra, left_out = _leak_free(extra_features, rows["customer_id"], label)
    training: dict[str, Any] = {
        "rows": len(rows),
        "cutoff": str(cutoff.date()),
        "scored_at": str(now.date()),
        "horizon_days": int(horizon_days),
        "base_rate": float(label.mean()) if len(label) else None,
        "left_out": left_out,
    }
    chosen = "sbg"
    if minority >= 10:
        X = _features(rows, cutoff, extra)
        training["folds"] = min(folds, minority)
        training["features"] = [str(c) for c in X.columns]
        cv = cross_validate_classifiers(
            X, label, models, folds=training["folds"], random_state=random_state, failed=failed
        )
    if cv:
        chosen = max(cv, key=lambda n: cv[n]["roc_auc"])
        encoded = encode_frame(X)
        columns = list(encoded.columns)
        matrix = encoded.to_numpy(dtype=np.float64)
        medians = np.nan_to_num(np.nanmedian(matrix, axis=0))
        matrix = np.where(np.isnan(matrix), medians, matrix)
        model = make_classifier(chosen, random_state).fit(matrix, label.to_numpy())
        now_matrix = encode_frame(_features(active, now, extra), columns).to_numpy(dtype=np.float64)
        now_matrix = np.where(np.isnan(now_matrix), medians, now_matrix)
        risk = model.predict_proba(now_matrix)[:, 1]
        reasons = explain_predictions(model, chosen, now_matrix, columns, medians)
    else:
        if sbg is None:
            raise AnalyticsError(
                "no subscription churn model could be fitted: "
                + "; ".join(f"{name}: {why}" for name, why in failed.items())
            )
        message = (
            f"only {minority} subscriptions in the smaller class (cancelled / kept) in the last "
            f"{horizon_days} days: too few to train a classifier; the risk is the sBG model's"
            if minority < 10
            else "no classifier could be fitted; the risk is the sBG model's"
        )
        k = horizon_days / period_days
        a, b = sbg.params_["alpha"], sbg.params_["beta"]
        from scipy.special import betaln

        risk = 1.0 - np.exp(betaln(a, b + renewals + k) - betaln(a, b + renewals))
        reasons = [
            [{"feature": "renewals", "value": float(n), "effect": 0.0,
              "text": f"{int(n)} renewals so far"}]
            for n in renewals
        ]  # fmt: skip
    scores = pd.DataFrame(
        {
            "customer_id": active["customer_id"].to_numpy(),
            "churn_risk": np.asarray(risk, dtype=np.float64),
            "reasons": reasons,
            "expected_remaining_periods": remaining,
            "discounted_residual_lifetime": derl,
        },
        index=active.index,
    )
    return SubscriptionChurnResult(
        scores=scores,
        chosen=chosen,
        cross_validation=cv,
        kaplan_meier=km,
        sbg_params={} if sbg is None else {k: float(v) for k, v in sbg.params_.items()},
        message=message,
        failed=failed,
        training=training,
    )
