"""Every churn and CLV model is tried on its own: the ones that work report, the others are
named with a one-line reason (the real UCI Online Retail log, and a BG/NBD that cannot fit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.real_data import online_retail_transactions

from soloist.analytics import churn as churn_module
from soloist.analytics.bg_nbd import BetaGeoModel
from soloist.analytics.churn import score_churn
from soloist.analytics.churn_models import one_line
from soloist.analytics.errors import AnalyticsError
from soloist.analytics.next_purchase import compare_clv_models

CLASSIFIERS = {"logistic", "random_forest", "gradient_boosting"}
BASELINES = {"bg_nbd_p_alive", "bg_nbd_no_purchase"}
#: what BetaGeoModel.fit says when the data do not identify it (Online Retail, holdout fit)
LONG_REASON = (
    "BetaGeoModel: the data do not identify the model — the likelihood is flat at the optimum "
    "(r=0.722, alpha=65.9, a=1.5e-07, b=1.08e+04; the information matrix is singular or nearly "
    "so). Typical causes: too few customers, no repeat purchases, or no sign of churn; consider "
    "penalizer_coef > 0"
)


@pytest.fixture(scope="module")
def online_retail() -> pd.DataFrame:
    return online_retail_transactions()


@pytest.mark.slow
def test_online_retail_churn_reports_every_model(online_retail: pd.DataFrame) -> None:
    tx = online_retail
    assert len(tx) == 18532
    assert tx["customer_id"].nunique() == 4338
    result = score_churn(tx, "2011-12-09", horizon_days=90)
    summary = result.summary()
    print(
        f"\nOnline Retail churn, holdout from {result.cutoffs['holdout']}: chosen "
        f"{result.chosen}; "
        + ", ".join(f"{k} {v['roc_auc']:.3f}" for k, v in result.comparison.items())
        + f"; failed {result.failed}; notes {result.notes}"
    )
    assert set(result.comparison) | set(result.failed) == CLASSIFIERS | BASELINES
    assert all(why and "\n" not in why for why in result.failed.values())
    assert result.chosen == max(result.comparison, key=lambda n: result.comparison[n]["roc_auc"])
    assert result.comparison[result.chosen]["roc_auc"] > 0.7
    assert summary["failed"] == result.failed
    assert len(result.scores) == 4338
    assert result.scores["churn_risk"].between(0, 1).all()


@pytest.mark.slow
def test_online_retail_clv_comparison_survives_an_unidentified_bg_nbd(
    online_retail: pd.DataFrame,
) -> None:
    """BG/NBD is not identified on the purchases before the holdout (a → 0: no sign of
    churn); BTYD is named with that reason and the direct regressions still report."""
    result = compare_clv_models(online_retail, "2011-12-09", horizon_days=90)
    print(f"\nOnline Retail CLV: chosen {result['chosen']}; failed {result['failed']}")
    assert result["failed"] == {"btyd": "BetaGeoModel: the data do not identify the model"}
    assert set(result["comparison"]) == {"linear", "decision_tree", "gradient_boosting"}
    rmse = {name: quality["rmse"] for name, quality in result["comparison"].items()}
    assert result["chosen"] == min(rmse, key=rmse.__getitem__)


def _shop(seed: int = 0, n: int = 600) -> pd.DataFrame:
    """Customers buying as Poisson processes who may stop (a small BG/NBD-like shop)."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2023-01-01")
    for customer in range(n):
        first = rng.integers(0, 300)
        rate = rng.gamma(1.0, 1 / 30)
        stop = first + rng.exponential(250)
        day = float(first)
        while day < min(stop, 720):
            rows.append((customer, start + pd.Timedelta(days=day), float(rng.gamma(2, 20))))
            day += rng.exponential(1 / rate)
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def test_an_unfitted_bg_nbd_leaves_the_classifiers_reporting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(self: BetaGeoModel, *args: object, **kwargs: object) -> BetaGeoModel:
        raise AnalyticsError(LONG_REASON)

    monkeypatch.setattr(BetaGeoModel, "fit", refuse)
    tx = _shop()
    result = score_churn(tx, "2024-12-21", horizon_days=90)
    assert set(result.comparison) == CLASSIFIERS
    reason = (
        "BG/NBD cannot be fitted at the training cutoff: "
        "BetaGeoModel: the data do not identify the model"
    )
    assert result.failed == dict.fromkeys(sorted(BASELINES), reason)
    assert result.bg_nbd_params is None
    assert result.scores["p_alive"].isna().all()
    assert result.scores["next_purchase_days"].isna().all()
    features = {r["feature"] for reasons in result.scores["reasons"] for r in reasons}
    assert "p_alive" not in features
    assert result.scores["churn_risk"].between(0, 1).all()
    clv = compare_clv_models(tx, "2024-12-21", horizon_days=90)
    assert clv["failed"] == {"btyd": "BetaGeoModel: the data do not identify the model"}
    assert clv["chosen"] in clv["comparison"]


def test_a_classifier_that_fails_is_named_and_the_best_of_the_rest_is_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = churn_module.make_classifier

    def broken(name: str, random_state: int = 0) -> object:
        if name == "logistic":
            raise ValueError("Input contains NaN")
        return real(name, random_state)

    monkeypatch.setattr(churn_module, "make_classifier", broken)
    result = score_churn(_shop(1), "2024-12-21", horizon_days=90)
    assert result.failed == {"logistic": "Input contains NaN"}
    assert "logistic" not in result.comparison
    assert result.chosen == max(result.comparison, key=lambda n: result.comparison[n]["roc_auc"])


def test_no_working_model_is_one_error_naming_each(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: BetaGeoModel, *args: object, **kwargs: object) -> BetaGeoModel:
        raise AnalyticsError("BetaGeoModel: not identified")

    def broken(name: str, random_state: int = 0) -> object:
        raise ValueError("Input contains NaN")

    monkeypatch.setattr(BetaGeoModel, "fit", refuse)
    monkeypatch.setattr(churn_module, "make_classifier", broken)
    with pytest.raises(AnalyticsError) as caught:
        score_churn(_shop(2), "2024-12-21", horizon_days=90, models=("logistic",))
    assert str(caught.value) == (
        "no churn model could be fitted: logistic: Input contains NaN; "
        "bg_nbd_p_alive: BG/NBD cannot be fitted at the training cutoff: BetaGeoModel: not "
        "identified; bg_nbd_no_purchase: BG/NBD cannot be fitted at the training cutoff: "
        "BetaGeoModel: not identified"
    )


def test_a_long_error_is_cut_to_its_first_clause() -> None:
    short = one_line(AnalyticsError(LONG_REASON))
    assert short == "BetaGeoModel: the data do not identify the model"
    assert one_line(ValueError("short\nand on two lines")) == "short and on two lines"
