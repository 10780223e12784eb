"""Kaplan–Meier by hand, the sBG fit against Fader & Hardie (2007), subscription churn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soloist.analytics.errors import AnalyticsError
from soloist.analytics.subscription_churn import score_subscription_churn
from soloist.analytics.survival import (
    expected_remaining_periods,
    fit_sbg_censored,
    kaplan_meier,
    median_survival,
)


def test_kaplan_meier_matches_the_hand_computation() -> None:
    # times 1 (event), 2 (event), 2 (censored), 3 (event): S = 3/4, 3/4 * 2/3, then 0
    curve = kaplan_meier([1, 2, 2, 3], [True, True, False, True])
    assert curve["survival"].tolist() == pytest.approx([1.0, 0.75, 0.5, 0.0])
    assert curve["at_risk"].tolist() == [4, 4, 3, 1]
    assert median_survival(curve) == 2.0


def test_kaplan_meier_greenwood_band_contains_the_estimate() -> None:
    rng = np.random.default_rng(0)
    t = rng.exponential(10, 300)
    curve = kaplan_meier(np.minimum(t, 15), t < 15)
    inner = curve[(curve["survival"] > 0) & (curve["survival"] < 1)]
    assert ((inner["lower"] <= inner["survival"]) & (inner["survival"] <= inner["upper"])).all()
    at_ten = curve.loc[curve["time"] <= 10, "survival"].iloc[-1]
    assert at_ten == pytest.approx(np.exp(-1), abs=0.06)


def test_kaplan_meier_refuses_negative_durations() -> None:
    with pytest.raises(AnalyticsError):
        kaplan_meier([-1, 2], [True, False])


def test_censored_sbg_reproduces_fader_hardie_2007_regular_cohort() -> None:
    alive = [1000, 869, 743, 653, 593, 551, 517, 491]
    periods, churned = [], []
    for t in range(1, 8):
        periods += [t] * (alive[t - 1] - alive[t])
        churned += [True] * (alive[t - 1] - alive[t])
    periods += [7] * alive[-1]
    churned += [False] * alive[-1]
    model = fit_sbg_censored(periods, churned)
    assert model.params_["alpha"] == pytest.approx(0.668, abs=0.001)
    assert model.params_["beta"] == pytest.approx(3.806, abs=0.001)
    assert model.survival(7) == pytest.approx(0.491, abs=0.01)
    assert expected_remaining_periods(model, 3) == float("inf")  # alpha < 1


@pytest.mark.slow
def test_subscription_churn_scores_active_subscriptions_with_reasons() -> None:
    rng = np.random.default_rng(3)
    n = 600
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.uniform(0, 600, n), unit="D")
    cheap = rng.random(n) < 0.5
    life = rng.exponential(np.where(cheap, 400, 120))  # the expensive plan churns faster
    cancelled = start + pd.to_timedelta(life, unit="D")
    end = pd.Timestamp("2024-12-31")
    subs = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "started_at": start,
            "cancelled_at": pd.Series(cancelled).where(cancelled <= end),
            "price": np.where(cheap, 9.0, 29.0),
            "billing_interval": "month",
            "plan": np.where(cheap, "basic", "pro"),
        }
    )
    result = score_subscription_churn(subs, end, horizon_days=90)
    assert result.chosen in ("logistic", "random_forest", "gradient_boosting")
    assert result.cross_validation[result.chosen]["roc_auc"] > 0.6
    scores = result.scores
    assert len(scores) == int(subs["cancelled_at"].isna().sum())
    pro = scores["customer_id"].isin(subs.index[~cheap])
    assert scores.loc[pro, "churn_risk"].mean() > scores.loc[~pro, "churn_risk"].mean()
    assert result.summary()["kaplan_meier"]["median_days"] is not None
