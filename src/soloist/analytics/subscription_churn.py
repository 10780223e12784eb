"""Churn risk of subscribers: a classifier on subscription features, survival curves, lifetime.

* Classifier: the subscriptions active at ``cutoff = now − H`` are the rows; features are the
  tenure at the cutoff, the price, the billing interval and plan (one-hot) and any extra
  per-customer columns; the label is "cancelled in ``[cutoff, now)``". Logistic regression,
  random forest and gradient boosting are compared by stratified 5-fold cross-validated ROC AUC;
  the best is refitted on all rows and scores the subscriptions active at ``now``.
* Kaplan–Meier curve of subscription lifetimes in days ([KM58], :mod:`.survival`).
* sBG model (Fader & Hardie 2007) on lifetimes in billing periods, right-censored, giving each
  active subscriber's expected remaining renewals and discounted expected residual lifetime.

When there are too few cancellations to learn from (fewer than 10 in the window), the risk is
the sBG probability of cancelling within the horizon, ``1 − S(n + k)/S(n)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .churn_models import (
    CLASSIFIERS,
    cross_validate_classifiers,
    encode_frame,
    explain_predictions,
    make_classifier,
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
    cross_validation: dict[str, dict[str, float]]
    kaplan_meier: pd.DataFrame
    sbg_params: dict[str, float]
    message: str | None

    def summary(self) -> dict[str, Any]:
        km = self.kaplan_meier
        step = max(1, len(km) // 40)
        return {
            "chosen": self.chosen,
            "cross_validation": self.cross_validation,
            "kaplan_meier": {
                "median_days": median_survival(km),
                "curve": km.iloc[::step][["time", "survival", "lower", "upper"]].to_dict(
                    orient="records"
                ),
            },
            "sbg": {
                **self.sbg_params,
                "survival_by_period": sbg_survival_curve(_sbg(self.sbg_params), 12),
            },
            "subscriptions_scored": len(self.scores),
            "message": self.message,
        }


def _sbg(params: dict[str, float]) -> Any:
    from .sbg import ShiftedBetaGeometricModel

    model = ShiftedBetaGeometricModel()
    model.params_ = dict(params)
    return model


def _features(subs: pd.DataFrame, at: pd.Timestamp, extra: pd.DataFrame | None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "tenure_days": (at - subs["started_at"]) / _DAY,
            "price": subs["price"].astype(np.float64),
            "billing_interval": subs["billing_interval"].astype("string"),
            "plan": subs["plan"].astype("string"),
        },
        index=subs.index,
    )
    if extra is not None:
        frame = frame.join(extra, on=subs["customer_id"])
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
) -> SubscriptionChurnResult:
    """Risk of cancelling within ``horizon_days`` for every subscription active at the end.

    ``subscriptions`` is indexed by subscription with ``customer_id``, ``started_at``,
    ``cancelled_at`` (missing while active), ``price``, ``billing_interval`` and ``plan``.
    ``discount_rate`` is per billing period, for the discounted residual lifetime.
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
    sbg = fit_sbg_censored(periods, ended.to_numpy())
    active = subs[~ended]
    renewals = np.floor(((now - active["started_at"]) / _DAY).to_numpy() / period_days)
    remaining = expected_remaining_periods(sbg, renewals)
    derl = np.array(
        [sbg.discounted_expected_residual_lifetime(discount_rate, int(n)) for n in renewals]
    )
    cutoff = now - pd.Timedelta(days=horizon_days)
    rows = subs[
        (subs["started_at"] < cutoff)
        & (subs["cancelled_at"].isna() | (subs["cancelled_at"] >= cutoff))
    ]
    label = (rows["cancelled_at"].notna() & (rows["cancelled_at"] < now)).astype(np.int64)
    minority = int(min(label.sum(), len(label) - label.sum()))
    cv: dict[str, dict[str, float]] = {}
    message = None
    if minority >= 10:
        X = _features(rows, cutoff, extra_features)
        cv = cross_validate_classifiers(
            X, label, CLASSIFIERS, folds=min(5, minority), random_state=random_state
        )
        chosen = max(cv, key=lambda n: cv[n]["roc_auc"])
        encoded = encode_frame(X)
        columns = list(encoded.columns)
        matrix = encoded.to_numpy(dtype=np.float64)
        medians = np.nan_to_num(np.nanmedian(matrix, axis=0))
        matrix = np.where(np.isnan(matrix), medians, matrix)
        model = make_classifier(chosen, random_state).fit(matrix, label.to_numpy())
        now_matrix = encode_frame(_features(active, now, extra_features), columns).to_numpy(
            dtype=np.float64
        )
        now_matrix = np.where(np.isnan(now_matrix), medians, now_matrix)
        risk = model.predict_proba(now_matrix)[:, 1]
        reasons = explain_predictions(model, chosen, now_matrix, columns, medians)
    else:
        chosen = "sbg"
        message = (
            f"only {minority} subscriptions in the smaller class (cancelled / kept) in the last "
            f"{horizon_days} days: too few to train a classifier; the risk is the sBG model's"
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
        sbg_params={k: float(v) for k, v in sbg.params_.items()},
        message=message,
    )
