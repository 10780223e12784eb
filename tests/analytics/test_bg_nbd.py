"""BG/NBD and MBG/NBD: published CDNOW estimates, gradients, predictions, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from soloist.analytics import AnalyticsError, BetaGeoModel, ModifiedBetaGeoModel, NotFittedError


def _fit(model: Any, summary: pd.DataFrame) -> Any:
    return model.fit(summary["frequency"], summary["recency"], summary["T"])


def test_bg_nbd_reproduces_published_cdnow_estimates(cdnow_summary: pd.DataFrame) -> None:
    model = _fit(BetaGeoModel(), cdnow_summary)
    p = model.params_
    # Fader, Hardie & Lee (2005), section 4
    assert p["r"] == pytest.approx(0.243, abs=5e-4)
    assert p["alpha"] == pytest.approx(4.414, abs=5e-3)
    assert p["a"] == pytest.approx(0.793, abs=5e-4)
    assert p["b"] == pytest.approx(2.426, abs=5e-3)
    assert model.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert model.n_customers_ == 2357
    assert model.n_unique_rows_ < 2357  # identical rows were compressed


def test_bg_nbd_fitted_on_rfm_summary_of_raw_sample_gives_the_same_estimates(
    sample_holdout_summary: pd.DataFrame,
) -> None:
    p = _fit(BetaGeoModel(), sample_holdout_summary).params_
    assert [round(p[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]


@pytest.mark.parametrize("model_cls", [BetaGeoModel, ModifiedBetaGeoModel])
def test_analytic_gradient_agrees_with_finite_differences(model_cls: type[BetaGeoModel]) -> None:
    x = np.array([0.0, 1, 2, 5, 30])
    tx = np.array([0.0, 3.5, 10, 30, 38])
    big_t = np.array([5.0, 20, 38, 39, 39])
    theta = np.array([0.7, 3.0, 1.3, 2.2])
    _, grad = model_cls()._loglik(theta, x, tx, big_t)
    h = 1e-6
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        up, _ = model_cls()._loglik(theta + e, x, tx, big_t)
        down, _ = model_cls()._loglik(theta - e, x, tx, big_t)
        np.testing.assert_allclose(grad[:, j], (up - down) / (2 * h), rtol=1e-6, atol=1e-8)


def test_predictions_keep_a_pandas_index(cdnow_summary: pd.DataFrame) -> None:
    model = _fit(BetaGeoModel(), cdnow_summary)
    out = model.probability_alive(
        cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"]
    )
    assert isinstance(out, pd.Series)
    assert out.index.equals(cdnow_summary.index)
    assert ((out > 0) & (out <= 1)).all()
    assert out[cdnow_summary["frequency"] == 0].eq(1.0).all()  # BG/NBD: no repeat => alive


def test_conditional_expectation_stays_finite_for_huge_frequencies(
    cdnow_summary: pd.DataFrame,
) -> None:
    model = _fit(BetaGeoModel(), cdnow_summary)
    out = model.expected_purchases(10, [2000.0, 5000.0, 2000.0], [39.0, 39.0, 38.0], 39.0)
    assert np.all(np.isfinite(out))
    # a heavy buyer seen on the last day keeps buying at roughly his observed rate, less the
    # small per-purchase dropout probability a/(b+x)
    assert out[0] == pytest.approx((0.243 + 2000) / (4.414 + 39) * 10, rel=0.15)
    assert out[1] > out[0]
    # silent for a week after buying 50 times a week: almost surely gone
    assert out[2] < 1e-6


def test_predicting_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        BetaGeoModel().probability_alive([1], [1], [2])


def test_data_without_repeat_purchases_cannot_identify_the_model() -> None:
    with pytest.raises(AnalyticsError, match="repeat purchase"):
        BetaGeoModel().fit(np.zeros(50), np.zeros(50), np.full(50, 10.0))


def test_too_few_customers_are_rejected() -> None:
    with pytest.raises(AnalyticsError, match="at least"):
        BetaGeoModel().fit([1, 2], [1, 2], [3, 3])


def test_data_with_no_dropout_signal_raises_instead_of_returning_garbage() -> None:
    # everybody buys at a steady rate right up to T: churn is not identified (b -> infinity)
    rng = np.random.default_rng(1)
    x = rng.integers(5, 15, size=200).astype(float)
    with pytest.raises(AnalyticsError, match="identify"):
        BetaGeoModel().fit(x, np.full(200, 40.0), np.full(200, 40.0))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1, 2], [1, 5], [3, 4]), "recency is larger than T"),
        (([0, 2], [1, 1], [3, 4]), "recency must be 0"),
        (([-1, 2], [0, 1], [3, 4]), "frequency contains negative"),
        (([1.5, 2], [1, 1], [3, 4]), "whole numbers"),
        (([1, np.nan], [1, 1], [3, 4]), "NaN"),
        (([], [], []), "empty"),
    ],
)
def test_invalid_inputs_raise_named_errors(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(AnalyticsError, match=message):
        BetaGeoModel().fit(*args)


def test_mbg_nbd_reproduces_the_cdnow_log_likelihood(cdnow_summary: pd.DataFrame) -> None:
    model = _fit(ModifiedBetaGeoModel(), cdnow_summary)
    assert model.log_likelihood_ == pytest.approx(-9582.13, abs=0.05)
    alive = model.probability_alive([0], [0], [39])
    assert 0 < alive[0] < 1  # MBG/NBD lets non-repeaters be dead


def test_penalizer_shrinks_parameters(cdnow_summary: pd.DataFrame) -> None:
    free = _fit(BetaGeoModel(), cdnow_summary).params_
    shrunk = _fit(BetaGeoModel(penalizer_coef=0.1), cdnow_summary).params_
    assert shrunk["alpha"] < free["alpha"]
    assert "penalizer_coef=0.1" in repr(BetaGeoModel(penalizer_coef=0.1))


@pytest.mark.parametrize("flat_curvature", [1e-5, -1e-5])
def test_a_flat_ridge_has_no_standard_error_whatever_the_sign_of_its_curvature(
    flat_curvature: float,
) -> None:
    """On a ridge the numerical Hessian's smallest eigenvalue is noise of either sign; a
    positive one once let an unidentified fit through with a log-SE of 175."""
    z = np.log(np.array([0.7, 65.0, 1e-7, 1e4]))
    ridge = np.diag([300.0, 3000.0, 400.0, flat_curvature])
    model = BetaGeoModel()
    ses = model._standard_errors(lambda zz: ridge @ (zz - z), z)
    assert all(np.isnan(v) for v in ses.values())
    identified = np.diag([300.0, 3000.0, 400.0, 2.0])
    ses = model._standard_errors(lambda zz: identified @ (zz - z), z)
    assert ses["b"] == pytest.approx(1e4 / np.sqrt(2.0), rel=1e-6)
    assert ses["r"] == pytest.approx(0.7 / np.sqrt(300.0), rel=1e-6)
