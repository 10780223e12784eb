"""Equivalence with lifetimes 0.11.3 (a test-only dependency): fits, predictions, rfm summary.

Everything that needs lifetimes lives here, so the published-estimate (golden) tests in the
other modules run without it; this module is skipped when lifetimes is not installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from soloist.analytics import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    rfm_summary,
)

lifetimes = pytest.importorskip("lifetimes")
lifetimes_utils = pytest.importorskip("lifetimes.utils")


def _fit(model: Any, summary: pd.DataFrame) -> Any:
    return model.fit(summary["frequency"], summary["recency"], summary["T"])


@pytest.fixture(scope="module")
def repeat_buyers(sample_holdout_summary: pd.DataFrame) -> pd.DataFrame:
    s = sample_holdout_summary
    return s[s["frequency"] > 0]


# --------------------------------------------------------------------------- BG/NBD, MBG/NBD
def test_bg_nbd_standard_errors_match_lifetimes_autograd_hessian(
    cdnow_summary: pd.DataFrame, quiet: Any
) -> None:
    ours = _fit(BetaGeoModel(), cdnow_summary)
    with quiet():
        theirs = _fit(lifetimes.BetaGeoFitter(), cdnow_summary)
    for k in ("r", "alpha", "a", "b"):
        assert ours.standard_errors_[k] == pytest.approx(theirs.standard_errors_[k], rel=1e-3)


@pytest.mark.parametrize(
    ("ours_cls", "theirs_name"),
    [(BetaGeoModel, "BetaGeoFitter"), (ModifiedBetaGeoModel, "ModifiedBetaGeoFitter")],
)
def test_predictions_match_lifetimes_on_cdnow(
    cdnow_summary: pd.DataFrame, quiet: Any, ours_cls: type[BetaGeoModel], theirs_name: str
) -> None:
    f, r, t = cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"]
    ours = _fit(ours_cls(), cdnow_summary)
    with quiet():
        theirs = _fit(getattr(lifetimes, theirs_name)(), cdnow_summary)
        their_cond = theirs.conditional_expected_number_of_purchases_up_to_time(39, f, r, t)
        their_alive = theirs.conditional_probability_alive(f, r, t)
        their_curve = theirs.expected_number_of_purchases_up_to_time(np.array([1.0, 39, 78]))
    for k, v in theirs.params_.items():
        assert ours.params_[k] == pytest.approx(v, rel=1e-4)
    np.testing.assert_allclose(ours.expected_purchases(39, f, r, t), their_cond, rtol=1e-4)
    np.testing.assert_allclose(ours.probability_alive(f, r, t), their_alive, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.expected_repeat_purchases([1, 39, 78]), their_curve, rtol=1e-4)


# --------------------------------------------------------------------------- Gamma-Gamma
def test_gamma_gamma_matches_lifetimes_on_its_bundled_example(quiet: Any) -> None:
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    data = load_cdnow_summary_data_with_monetary_value()
    data = data[data["frequency"] > 0]
    ours = GammaGammaModel().fit(data["frequency"], data["monetary_value"])
    with quiet():
        theirs = lifetimes.GammaGammaFitter().fit(data["frequency"], data["monetary_value"])
    for k, v in theirs.params_.items():
        assert ours.params_[k] == pytest.approx(v, rel=1e-3)


def test_customer_lifetime_value_matches_lifetimes(
    repeat_buyers: pd.DataFrame, sample_holdout_summary: pd.DataFrame, quiet: Any
) -> None:
    s = sample_holdout_summary.head(200)
    args = (s["frequency"], s["recency"], s["T"], s["monetary_value"])
    bg = BetaGeoModel().fit(
        sample_holdout_summary["frequency"],
        sample_holdout_summary["recency"],
        sample_holdout_summary["T"],
    )
    gg = GammaGammaModel().fit(repeat_buyers["frequency"], repeat_buyers["monetary_value"])
    ours = gg.customer_lifetime_value(bg, *args, time=12, discount_rate=0.01, freq="W")
    with quiet():
        their_bg = lifetimes.BetaGeoFitter()
        their_bg.params_ = pd.Series(bg.params_)
        their_bg.predict = their_bg.conditional_expected_number_of_purchases_up_to_time
        their_gg = lifetimes.GammaGammaFitter()
        their_gg.params_ = pd.Series(gg.params_)
        theirs = their_gg.customer_lifetime_value(
            their_bg, *args, time=12, discount_rate=0.01, freq="W"
        )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert (ours >= 0).all()


# --------------------------------------------------------------------------- Pareto/NBD
def test_pareto_nbd_predictions_match_lifetimes(cdnow_summary: pd.DataFrame, quiet: Any) -> None:
    f, r, t = cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"]
    ours = _fit(ParetoNBDModel(), cdnow_summary)
    with quiet():
        theirs = lifetimes.ParetoNBDFitter()
        theirs.params_ = pd.Series(ours.params_)  # same parameters: compare the formulas only
        their_alive = theirs.conditional_probability_alive(f, r, t)
        their_cond = theirs.conditional_expected_number_of_purchases_up_to_time(39, f, r, t)
        their_curve = theirs.expected_number_of_purchases_up_to_time(np.array([1.0, 39, 78]))
    np.testing.assert_allclose(ours.probability_alive(f, r, t), their_alive, rtol=1e-8)
    np.testing.assert_allclose(ours.expected_purchases(39, f, r, t), their_cond, rtol=1e-8)
    np.testing.assert_allclose(ours.expected_repeat_purchases([1, 39, 78]), their_curve, rtol=1e-10)


# --------------------------------------------------------------------------- rfm_summary
def test_rfm_summary_matches_lifetimes_on_cdnow_master(
    cdnow_master: pd.DataFrame, quiet: Any
) -> None:
    ours = rfm_summary(cdnow_master, "customer_id", "date", "dollar_value", "1997-09-30")
    with quiet():
        theirs = lifetimes_utils.summary_data_from_transaction_data(
            cdnow_master, "customer_id", "date", "dollar_value", observation_period_end="1997-09-30"
        ).sort_index()
    assert list(ours.index) == list(theirs.index)
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy())
    np.testing.assert_allclose(ours["monetary_value"], theirs["monetary_value"], rtol=1e-12)


def test_rfm_summary_holdout_matches_lifetimes_calibration_and_holdout(
    cdnow_master: pd.DataFrame, quiet: Any
) -> None:
    ours = rfm_summary(
        cdnow_master,
        "customer_id",
        "date",
        "dollar_value",
        "1998-06-30",
        calibration_end="1997-09-30",
    )
    with quiet():
        theirs = lifetimes_utils.calibration_and_holdout_data(
            cdnow_master,
            "customer_id",
            "date",
            calibration_period_end="1997-09-30",
            observation_period_end="1998-06-30",
            monetary_value_col="dollar_value",  # without it lifetimes fails on pandas 3
        ).sort_index()
    np.testing.assert_array_equal(ours["frequency"], theirs["frequency_cal"])
    np.testing.assert_array_equal(ours["T"], theirs["T_cal"])
    np.testing.assert_array_equal(ours["frequency_holdout"], theirs["frequency_holdout"])
    np.testing.assert_array_equal(ours["duration_holdout"], theirs["duration_holdout"])
