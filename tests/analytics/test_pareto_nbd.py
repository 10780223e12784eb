"""Pareto/NBD: published CDNOW estimates and the numerically stable likelihood."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from soloist.analytics import AnalyticsError, ParetoNBDModel

lifetimes = pytest.importorskip("lifetimes")


def _fit(summary: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(summary["frequency"], summary["recency"], summary["T"])


def _simulate(
    n: int, r: float, alpha: float, s: float, beta: float, horizon: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    big_t = rng.uniform(0.5 * horizon, horizon, n)
    active = np.minimum(rng.exponential(1 / mu), big_t)
    x = rng.poisson(lam * active).astype(float)
    tx = np.where(x > 0, active * rng.uniform(size=n) ** (1 / np.maximum(x, 1)), 0.0)
    return x, tx, big_t


def _naive_log_likelihood(
    theta: np.ndarray, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray
) -> np.ndarray:
    """The literal [FH05n] eq. 22, as lifetimes evaluates it (alpha >= beta branch)."""
    r, alpha, s, beta = theta
    with np.errstate(all="ignore"):
        f1 = special.hyp2f1(r + s + x, s + 1, r + s + x + 1, (alpha - beta) / (alpha + tx))
        f2 = special.hyp2f1(r + s + x, s + 1, r + s + x + 1, (alpha - beta) / (alpha + big_t))
        a0 = f1 / (alpha + tx) ** (r + s + x) - f2 / (alpha + big_t) ** (r + s + x)
        like = (
            special.gamma(r + x)
            * alpha**r
            * beta**s
            / special.gamma(r)
            * (1 / ((alpha + big_t) ** (r + x) * (beta + big_t) ** s) + s / (r + s + x) * a0)
        )
        return np.log(like)


def test_pareto_nbd_reproduces_published_cdnow_estimates(cdnow_summary: pd.DataFrame) -> None:
    model = _fit(cdnow_summary)
    p = model.params_
    # Fader, Hardie & Lee (2005) Table / Fader & Hardie's Pareto/NBD note
    assert p["r"] == pytest.approx(0.553, abs=5e-4)
    assert p["alpha"] == pytest.approx(10.58, abs=5e-3)
    assert p["s"] == pytest.approx(0.606, abs=5e-4)
    assert p["beta"] == pytest.approx(11.67, abs=5e-3)
    assert model.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    assert all(
        0 < se < v for se, v in zip(model.standard_errors_.values(), p.values(), strict=True)
    )


def test_pareto_nbd_from_raw_sample_transactions_gives_the_same_estimates(
    sample_holdout_summary: pd.DataFrame,
) -> None:
    p = _fit(sample_holdout_summary).params_
    assert [round(p[k], 2) for k in ("r", "alpha", "s", "beta")] == [0.55, 10.58, 0.61, 11.67]


def test_stable_likelihood_equals_direct_numerical_integration() -> None:
    # L = Γ(r+x)α^r β^s/Γ(r) [ (α+T)^-(r+x) (β+T)^-s + s ∫_{tx}^{T} (α+τ)^-(r+x) (β+τ)^-(s+1) dτ ]
    rows = [(0, 0.0, 30.0), (3, 12.0, 39.0), (10, 20.0, 25.0), (1, 1.0, 1.5)]
    for theta in ([0.55, 10.6, 0.61, 11.7], [0.9, 3.0, 1.4, 25.0]):
        r, alpha, s, beta = theta
        for x, tx, big_t in rows:
            integral, _ = integrate.quad(
                lambda tau, r=r, a=alpha, s=s, b=beta, x=x: (
                    (a + tau) ** -(r + x) * (b + tau) ** -(s + 1)
                ),
                tx,
                big_t,
                epsabs=0,
                epsrel=1e-12,
            )
            direct = (
                special.gammaln(r + x)
                - special.gammaln(r)
                + r * np.log(alpha)
                + s * np.log(beta)
                + np.log((alpha + big_t) ** -(r + x) * (beta + big_t) ** -s + s * integral)
            )
            ours, _ = ParetoNBDModel()._loglik(
                np.array(theta), np.array([float(x)]), np.array([tx]), np.array([big_t])
            )
            assert ours[0] == pytest.approx(direct, rel=1e-9)


def test_pareto_nbd_is_stable_in_days_where_the_naive_likelihood_overflows() -> None:
    truth = {"r": 2.0, "alpha": 10.0, "s": 1.0, "beta": 400.0}
    x, tx, big_t = _simulate(3000, *truth.values(), horizon=2000.0, seed=7)
    naive = _naive_log_likelihood(np.array(list(truth.values())), x, tx, big_t)
    assert not np.all(np.isfinite(naive))  # the literal formula gives inf/NaN here
    model = ParetoNBDModel().fit(x, tx, big_t)
    assert np.isfinite(model.log_likelihood_)
    for k, v in truth.items():  # recovered within 3 standard errors
        assert abs(model.params_[k] - v) < 3 * model.standard_errors_[k], k
    assert model.params_["r"] / model.params_["alpha"] == pytest.approx(0.2, rel=0.05)


def test_rescaling_time_rescales_alpha_and_beta_only(cdnow_summary: pd.DataFrame) -> None:
    weeks = _fit(cdnow_summary)
    f = cdnow_summary["frequency"]
    days = ParetoNBDModel().fit(f, cdnow_summary["recency"] * 7, cdnow_summary["T"] * 7)
    assert days.params_["r"] == pytest.approx(weeks.params_["r"], rel=1e-4)
    assert days.params_["s"] == pytest.approx(weeks.params_["s"], rel=1e-4)
    assert days.params_["alpha"] == pytest.approx(7 * weeks.params_["alpha"], rel=1e-4)
    assert days.params_["beta"] == pytest.approx(7 * weeks.params_["beta"], rel=1e-4)
    # λ^x scales by 7^-x: LL_days = LL_weeks - Σx log 7
    assert days.log_likelihood_ == pytest.approx(
        weeks.log_likelihood_ - f.sum() * np.log(7), abs=1e-3
    )


def test_pareto_nbd_predictions_match_lifetimes(cdnow_summary: pd.DataFrame, quiet: Any) -> None:
    f, r, t = cdnow_summary["frequency"], cdnow_summary["recency"], cdnow_summary["T"]
    ours = _fit(cdnow_summary)
    with quiet():
        theirs = lifetimes.ParetoNBDFitter()
        theirs.params_ = pd.Series(ours.params_)  # same parameters: compare the formulas only
        their_alive = theirs.conditional_probability_alive(f, r, t)
        their_cond = theirs.conditional_expected_number_of_purchases_up_to_time(39, f, r, t)
        their_curve = theirs.expected_number_of_purchases_up_to_time(np.array([1.0, 39, 78]))
    np.testing.assert_allclose(ours.probability_alive(f, r, t), their_alive, rtol=1e-8)
    np.testing.assert_allclose(ours.expected_purchases(39, f, r, t), their_cond, rtol=1e-8)
    np.testing.assert_allclose(ours.expected_repeat_purchases([1, 39, 78]), their_curve, rtol=1e-10)


def test_pareto_nbd_requires_repeat_purchases() -> None:
    with pytest.raises(AnalyticsError, match="repeat purchase"):
        ParetoNBDModel().fit(np.zeros(20), np.zeros(20), np.ones(20))
