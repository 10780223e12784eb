"""Choosing the purchase model by evidence, and fitting where the maximum likelihood is not
identified: simulations with known truth, then the real logs that broke the old `analyze`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from soloist.analytics import BetaGeoModel, rfm_summary
from soloist.analytics.errors import AnalyticsError
from soloist.domain.scoring.model_choice import (
    ALIVE_FOR_ONE_TIME_BUYERS,
    check_enough_purchases,
    choose_holdout_days,
    compare_purchase_models,
    fit_purchase_model,
    fit_spend_model,
)
from soloist.errors import ValidationError

START = pd.Timestamp("2024-01-01")


def simulate(
    customers: int, days: int, *, r: float, alpha: float, dropout: float, seed: int
) -> pd.DataFrame:
    """Purchases of a Poisson-gamma population (rate ~ Gamma(r, alpha) per day); after each
    purchase a customer leaves with probability ``dropout`` (BG/NBD's story; 0: the NBD)."""
    rng = np.random.default_rng(seed)
    rows = []
    for cid in range(customers):
        first = rng.uniform(0, days / 2)
        rate = rng.gamma(r, 1 / alpha)
        t = first
        rows.append((cid, t))
        while True:
            if dropout and rng.random() < dropout:
                break
            t += rng.exponential(1 / rate) if rate > 0 else days
            if t > days:
                break
            rows.append((cid, t))
    frame = pd.DataFrame(rows, columns=["customer_id", "day"])
    frame["ordered_at"] = START + pd.to_timedelta(frame["day"], unit="D")
    frame["amount"] = 20.0
    return frame


def split(orders: pd.DataFrame, days: int, holdout: int) -> pd.DataFrame:
    end = START + pd.Timedelta(days=days)
    return rfm_summary(
        orders,
        "customer_id",
        "ordered_at",
        "amount",
        observation_end=end,
        calibration_end=end - pd.Timedelta(days=holdout),
    )


@pytest.mark.slow
def test_without_any_churn_the_plain_fit_fails_and_the_penalised_one_predicts_the_holdout() -> None:
    """No one ever leaves: BG/NBD's dropout runs off to the boundary. The cross-validated
    penalty still gives a model whose holdout prediction is right within 5 %."""
    summary = split(simulate(3000, 365, r=0.8, alpha=60, dropout=0, seed=3), 365, 90)
    seen = summary[summary["T"] > 0]
    with pytest.raises(AnalyticsError, match="do not identify"):
        BetaGeoModel().fit(seen["frequency"], seen["recency"], seen["T"])
    fit = fit_purchase_model("bg-nbd", summary)
    assert fit.penalizer > 0
    assert fit.not_identified
    assert fit.cross_validation  # the held-out likelihood of each penalty tried
    predicted = fit.model.expected_purchases(
        90, summary["frequency"], summary["recency"], summary["T"]
    )
    actual = summary["frequency_holdout"].sum()
    assert float(np.sum(predicted)) == pytest.approx(actual, rel=0.05)


@pytest.mark.slow
def test_the_comparison_keeps_the_model_that_predicted_the_holdout_best() -> None:
    summary = split(simulate(3000, 540, r=0.5, alpha=30, dropout=0.15, seed=9), 540, 180)
    comparison = compare_purchase_models(summary, 180, ["bg-nbd", "mbg-nbd", "pareto-nbd"])
    assert set(comparison.candidates) | set(comparison.failed) == {
        "bg-nbd",
        "mbg-nbd",
        "pareto-nbd",
    }
    best = min(c["rmse"] for c in comparison.candidates.values())
    chosen = comparison.chosen_metrics()
    assert chosen["rmse"] <= best * 1.02
    assert comparison.chosen in comparison.reason
    # data made by BG/NBD's own story, with churn: the holdout is predicted within 10 %, and
    # the dropout probability per purchase comes out near the truth (0.15)
    assert abs(chosen["aggregate_error_percent"]) < 10
    if "a" in chosen["params"]:
        a, b = chosen["params"]["a"], chosen["params"]["b"]
        assert a / (a + b) == pytest.approx(0.15, abs=0.03)
    # a tie goes to a model that can say whether a one-time buyer is still active
    tied = [n for n, c in comparison.candidates.items() if c["rmse"] <= best * 1.02]
    if any(n in ALIVE_FOR_ONE_TIME_BUYERS for n in tied):
        assert comparison.chosen in ALIVE_FOR_ONE_TIME_BUYERS


def test_forcing_one_model_says_so() -> None:
    summary = split(simulate(800, 400, r=0.5, alpha=30, dropout=0.15, seed=1), 400, 90)
    comparison = compare_purchase_models(summary, 90, ["pareto-nbd"])
    assert comparison.chosen == "pareto-nbd"
    assert "--model" in comparison.reason


def test_the_holdout_shrinks_to_a_third_of_short_data_and_refuses_what_cannot_fit() -> None:
    assert choose_holdout_days(365, None) == 90
    assert choose_holdout_days(30, None) == 10
    assert choose_holdout_days(30, 14) == 14
    with pytest.raises(ValidationError, match=r"span 30 days.*--holdout-days 10"):
        choose_holdout_days(30, 90)
    with pytest.raises(ValidationError, match="at least 21"):
        choose_holdout_days(12, None)
    with pytest.raises(ValidationError, match="at least 7"):
        choose_holdout_days(365, 3)


def test_data_without_repeat_purchases_are_refused_in_one_line_before_fitting() -> None:
    once = pd.DataFrame(
        {
            "customer_id": range(50),
            "ordered_at": [START + pd.Timedelta(days=i) for i in range(50)],
            "amount": 10.0,
        }
    )
    summary = rfm_summary(
        once, "customer_id", "ordered_at", "amount", observation_end=START + pd.Timedelta(days=60)
    )
    with pytest.raises(ValidationError, match="bought again") as raised:
        check_enough_purchases(summary, "the data")
    assert "\n" not in raised.value.message
    with pytest.raises(ValidationError, match="Only 5 customers"):
        check_enough_purchases(summary.head(5), "the data")


def test_too_few_repeat_buyers_for_gamma_gamma_fall_back_to_the_mean_order_value() -> None:
    orders = simulate(300, 200, r=0.1, alpha=200, dropout=0.5, seed=2)
    orders["amount"] = np.random.default_rng(0).gamma(2.0, 15.0, len(orders))
    summary = rfm_summary(
        orders,
        "customer_id",
        "ordered_at",
        "amount",
        observation_end=START + pd.Timedelta(days=200),
    )
    model, note = fit_spend_model(summary, orders)
    repeaters = int(((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).sum())
    assert repeaters < 20
    assert note is not None
    assert note["code"] == "pooled_spend"
    assert f"only {repeaters} customers bought twice" in note["text"]
    spend = model.conditional_expected_average_profit(
        summary["frequency"], summary["monetary_value"]
    )
    assert np.allclose(spend, orders["amount"].mean())


def test_end_dates_outside_the_data_are_refused_with_both_dates() -> None:
    from soloist.domain.scoring.clv import observation_end

    orders = pd.DataFrame(
        {"ordered_at": [pd.Timestamp("1997-01-01 10:00"), pd.Timestamp("1998-06-30 12:00")]}
    )
    with pytest.raises(
        ValidationError, match=r"1996-05-01 is before the first paid order \(1997-01-01\)"
    ):
        observation_end(orders, dt.date(1996, 5, 1))
    with pytest.raises(ValidationError, match="in the future"):
        observation_end(orders, dt.date.today() + dt.timedelta(days=30))
    assert observation_end(orders, dt.date(1997, 9, 30)) > pd.Timestamp("1997-09-30 23:59")


def test_a_large_population_is_fitted_on_a_sample_that_estimates_the_same_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond FIT_AT_MOST customers the model is fitted on a seeded sample: its estimates agree
    with the whole population's (within their standard errors; the dropout's mean where only
    the mean is identified), and it saw only the sample."""
    from soloist.domain.scoring import model_choice

    orders = simulate(9_000, 365, r=0.9, alpha=25.0, dropout=0.15, seed=8)
    end = START + pd.Timedelta(days=365)
    summary = rfm_summary(orders, "customer_id", "ordered_at", "amount", observation_end=end)
    whole = fit_purchase_model("bg-nbd", summary).model
    monkeypatch.setattr(model_choice, "FIT_AT_MOST", 3_000)
    sampled = fit_purchase_model("bg-nbd", summary).model
    assert whole.n_customers_ == int((summary["T"] > 0).sum())
    assert sampled.n_customers_ == 3_000
    for name in ("r", "alpha"):
        value = whole.params_[name]
        assert abs(sampled.params_[name] - value) < 3 * sampled.standard_errors_[name], name
    # Everyone here drops out with the same probability (0.15), so a and b run off together
    # along a ridge (to the millions, by the optimiser's version) and only their mean is
    # identified.
    dropout = [m.params_["a"] / (m.params_["a"] + m.params_["b"]) for m in (whole, sampled)]
    assert dropout[0] == pytest.approx(0.15, abs=0.02)
    assert dropout[1] == pytest.approx(dropout[0], abs=0.02)
    again = fit_purchase_model("bg-nbd", summary).model
    assert again.params_ == sampled.params_  # the same seeded sample every run


@pytest.mark.slow
def test_the_penalty_is_cross_validated_on_a_sample_and_the_model_fitted_on_everyone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No one ever leaves (BG/NBD not identified), 6,000 customers, the penalty's
    cross-validation limited to 1,500 of them: each fold's fit learns from 1,000, the chosen
    penalty's model from all, and it still predicts the holdout within 5 %."""
    from soloist.domain.scoring import model_choice

    sizes: list[int] = []

    class Counted(BetaGeoModel):
        def fit(self, frequency: Any, recency: Any, age: Any, *args: Any, **kwargs: Any) -> Any:
            sizes.append(len(frequency))
            return super().fit(frequency, recency, age, *args, **kwargs)

    summary = split(simulate(6000, 365, r=0.8, alpha=60, dropout=0, seed=3), 365, 90)
    fitted = int((summary["T"] > 0).sum())
    monkeypatch.setattr(model_choice, "PENALTY_CV_AT_MOST", 1_500)
    monkeypatch.setitem(model_choice.PURCHASE_MODELS, "bg-nbd", Counted)
    fit = fit_purchase_model("bg-nbd", summary)
    assert fit.penalizer > 0
    assert fit.cross_validation
    # the plain fit on everyone; up to three folds per penalty tried (a penalty whose fold
    # fails is dropped there); the chosen penalty on everyone
    assert sizes[0] == sizes[-1] == fitted == fit.model.n_customers_
    folds = sizes[1:-1]
    assert len(folds) >= 3 * len(fit.cross_validation)
    assert set(folds) == {1_000}
    predicted = fit.model.expected_purchases(
        90, summary["frequency"], summary["recency"], summary["T"]
    )
    assert float(np.sum(predicted)) == pytest.approx(summary["frequency_holdout"].sum(), rel=0.05)
