"""Subscription churn on the real Telco table dated as subscriptions, and the leakage guards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.real_data import TELCO_DAY, telco_frame, telco_subscriptions

from soloist.analytics.subscription_churn import score_subscription_churn


@pytest.mark.slow
def test_telco_subscriptions_reach_auc_084_without_the_churn_column() -> None:
    """Tenure, contract and charges from the subscriptions, the services and billing details
    from the customers' fields; the Churn column among those is left out by its name."""
    frame = telco_frame()
    subscriptions, fields = telco_subscriptions(frame)
    result = score_subscription_churn(subscriptions, TELCO_DAY, extra_features=fields)
    summary = result.summary()
    best = result.cross_validation[result.chosen]
    print(
        f"\nTelco, 5-fold: chosen {result.chosen} ROC AUC {best['roc_auc']:.3f} "
        f"± {best['roc_auc_sd']:.3f}; "
        + ", ".join(f"{k} {v['roc_auc']:.3f}" for k, v in result.cross_validation.items())
    )
    assert summary["rows"] == 7043
    assert summary["folds"] == 5
    assert summary["base_rate"] == pytest.approx(1869 / 7043)
    assert summary["left_out"] == {"Churn": "named like the outcome"}
    assert "Churn" not in summary["features"]
    assert set(result.cross_validation) == {"logistic", "random_forest", "gradient_boosting"}
    assert summary["failed"] == {}
    assert best["roc_auc"] >= 0.84
    assert best["top_decile_lift"] > 2.0
    # the 5,174 kept subscriptions are scored at the end; churners are gone
    assert len(result.scores) == 5174
    assert result.scores["churn_risk"].between(0, 1).all()


def test_a_shuffled_churn_label_gives_auc_near_one_half() -> None:
    """Leakage check: with the churn label shuffled among the same subscriptions, nothing the
    model reads (tenure, contract, charges, customer fields) can predict it."""
    frame = telco_frame()
    shuffled = np.random.default_rng(7).permutation((frame["Churn"] == "Yes").to_numpy())
    subscriptions, fields = telco_subscriptions(frame, churned=shuffled)
    result = score_subscription_churn(
        subscriptions, TELCO_DAY, extra_features=fields, models=("logistic",)
    )
    assert result.cross_validation["logistic"]["roc_auc"] == pytest.approx(0.5, abs=0.03)


def _random_subscriptions(n: int, seed: int) -> pd.DataFrame:
    """Subscriptions whose cancellations are pure chance, spread over the last 90 days."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2024-06-30")
    started = end - pd.to_timedelta(rng.integers(0, 720, n), unit="D")
    earliest = np.maximum(started, end - pd.Timedelta(days=90))
    cancelled_at = earliest + (end - earliest) * rng.random(n)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "started_at": started,
            "cancelled_at": np.where(rng.random(n) < 0.3, cancelled_at, pd.NaT),
            "price": rng.choice([9.0, 19.0, 49.0], n),
            "billing_interval": "month",
            "plan": rng.choice(["basic", "pro"], n),
        }
    )


def test_features_never_read_the_cancellation() -> None:
    """Cancellations drawn at random: if the tenure were counted to the cancellation (it is
    counted to the cutoff), cancelled subscriptions would look younger and the AUC would rise."""
    subscriptions = _random_subscriptions(3000, seed=3)
    result = score_subscription_churn(subscriptions, "2024-06-30", models=("logistic",))
    assert result.cross_validation["logistic"]["roc_auc"] == pytest.approx(0.5, abs=0.04)


def test_a_copy_of_the_label_is_left_out_whatever_its_name() -> None:
    subscriptions = _random_subscriptions(2000, seed=4)
    window = pd.Timestamp("2024-07-01") - pd.Timedelta(days=90)
    lost = subscriptions["cancelled_at"].notna() & (subscriptions["cancelled_at"] >= window)
    fields = pd.DataFrame(
        {
            "exit_survey_sent": np.where(lost, "yes", "no"),  # written after the outcome
            "status": np.where(lost, "gone", "here"),
            "region": np.random.default_rng(5).choice(["north", "south"], len(subscriptions)),
        },
        index=subscriptions["customer_id"],
    )
    result = score_subscription_churn(
        subscriptions, "2024-06-30", extra_features=fields, models=("logistic",)
    )
    summary = result.summary()
    assert summary["left_out"]["status"] == "named like the outcome"
    assert summary["left_out"]["exit_survey_sent"].startswith("separates cancelled from kept")
    assert "region" not in summary["left_out"]
    assert result.cross_validation["logistic"]["roc_auc"] < 0.6


def test_a_model_that_cannot_be_fitted_is_reported_and_the_others_still_score(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import soloist.analytics.churn_models as models

    real = models.make_classifier

    def broken(name: str, random_state: int = 0) -> object:
        if name == "random_forest":
            raise ValueError("the forest is on fire")
        return real(name, random_state)

    monkeypatch.setattr(models, "make_classifier", broken)
    result = score_subscription_churn(
        _random_subscriptions(600, seed=6), "2024-06-30", models=("logistic", "random_forest")
    )
    assert result.failed["random_forest"] == "the forest is on fire"
    assert set(result.cross_validation) == {"logistic"}
    assert result.chosen == "logistic"
