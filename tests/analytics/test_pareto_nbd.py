"""Pareto/NBD: published CDNOW estimates and the numerically stable likelihood."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from soloist.analytics import AnalyticsError, ParetoNBDModel


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


def test_pareto_nbd_requires_repeat_purchases() -> None:
    with pytest.raises(AnalyticsError, match="repeat purchase"):
        ParetoNBDModel().fit(np.zeros(20), np.zeros(20), np.ones(20))


@pytest.mark.parametrize(
    "theta",
    [
        [0.55, 10.6, 0.61, 11.7],  # alpha < beta, small z: series
        [0.7, 3.0, 1.3, 2.2],  # alpha >= beta
        [2.0, 10.0, 1.0, 400.0],  # alpha << beta: z up to 0.97, SciPy fall-back
        [0.3, 50.0, 0.8, 0.5],  # alpha >> beta: z up to 0.99, SciPy fall-back
    ],
)
def test_analytic_gradient_agrees_with_finite_differences(theta: list[float]) -> None:
    x = np.array([0.0, 1, 2, 5, 30, 3, 1, 7, 4])
    tx = np.array([0.0, 3.5, 10, 30, 38, 39, 0.2, 5, 12.0])
    big_t = np.array([5.0, 20, 38, 39, 39, 39, 40, 6, 12.0])  # last row: tx == T
    th = np.array(theta)
    ll, grad = ParetoNBDModel()._loglik(th, x, tx, big_t)
    assert np.all(np.isfinite(ll))
    assert np.all(np.isfinite(grad))
    for j in range(4):
        h = 1e-6 * th[j]
        e = np.zeros(4)
        e[j] = h
        up, _ = ParetoNBDModel()._loglik(th + e, x, tx, big_t)
        down, _ = ParetoNBDModel()._loglik(th - e, x, tx, big_t)
        np.testing.assert_allclose(grad[:, j], (up - down) / (2 * h), rtol=2e-6, atol=1e-7)


def test_hypergeometric_series_and_its_derivatives_match_scipy() -> None:
    from soloist.analytics._math import hyp2f1_1_with_derivatives

    rng = np.random.default_rng(3)
    d = rng.uniform(0.05, 60, 300)
    c = d + rng.uniform(0.01, 5, 300)
    z = np.r_[rng.uniform(0, 0.99, 296), 0.0, 0.75, 0.7500001, 0.3]
    h, h_d, h_c, h_z = hyp2f1_1_with_derivatives(d, c, z)
    np.testing.assert_allclose(h, special.hyp2f1(1, d, c, z), rtol=1e-14)
    eps = 1e-6
    for got, fun in (
        (h_d, lambda e: special.hyp2f1(1, d + e, c, z)),
        (h_c, lambda e: special.hyp2f1(1, d, c + e, z)),
        (h_z, lambda e: special.hyp2f1(1, d, c, z + e)),
    ):
        np.testing.assert_allclose(got, (fun(eps) - fun(-eps)) / (2 * eps), rtol=1e-6, atol=1e-8)
