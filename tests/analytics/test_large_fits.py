"""Fits on large data with unrounded times: the fast path must find the ordinary path's optimum.

Above ``WARM_START_ROWS`` distinct rows a purchase model starts from a fit on a sample, polishes
with quasi-Newton steps, sums the customers without repeat purchases in closed form (BG/NBD,
MBG/NBD) and evaluates Pareto/NBD's hypergeometric series on two threads. Each shortcut is
checked here against the plain computation on the same simulated customers.
"""

from __future__ import annotations

import numpy as np
import pytest

import soloist.analytics._math as math_module
from soloist.analytics import BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel, base
from soloist.analytics._rows import compress_rows, mostly_distinct, unique_inverse
from soloist.analytics.base import PurchaseModel

TRUE_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def simulate_bg_nbd(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD customers with continuous ages and purchase times (nothing rounded)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(1.0, 52.0, n)
    lam = rng.gamma(TRUE_BG["r"], 1.0 / TRUE_BG["alpha"], n)
    p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    arrivals = rng.poisson(lam * t)
    x = np.minimum(arrivals, rng.geometric(p))
    buyers = x > 0
    tx = np.zeros(n)
    tx[buyers] = t[buyers] * rng.beta(x[buyers], arrivals[buyers] - x[buyers] + 1)
    return x.astype(np.float64), tx, t


@pytest.fixture(scope="module")
def customers() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_bg_nbd(260_000, seed=7)


@pytest.mark.parametrize("model_class", [BetaGeoModel, ModifiedBetaGeoModel])
def test_one_time_buyers_summed_apart_equal_the_per_row_likelihood(
    model_class: type[BetaGeoModel], customers: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    x, tx, t = customers
    w = np.random.default_rng(1).integers(1, 4, x.size).astype(np.float64)
    model = model_class()
    xs, txs, ts, ws = model._order_rows(x, tx, t, w)
    split = model._prepare_fit(xs, txs, ts)
    assert type(split).__name__ == "_BGSplit"
    assert split.n_zero == np.count_nonzero(x == 0)
    for theta in ([0.3, 5.0, 0.9, 2.2], [1.7, 0.4, 3.0, 0.6]):
        fast_ll, fast_grad = model._loglik_sum(np.array(theta), split, ws)
        plain_ll, plain_grad = PurchaseModel._loglik_sum(
            model, np.array(theta), model._prepare(xs, txs, ts), ws
        )
        assert fast_ll == pytest.approx(plain_ll, rel=1e-12)
        np.testing.assert_allclose(fast_grad, plain_grad, rtol=1e-9, atol=1e-6)


def _ordinary_fit(model_class: type[PurchaseModel], monkeypatch: pytest.MonkeyPatch, *data):
    with monkeypatch.context() as patch:
        patch.setattr(base, "WARM_START_ROWS", 10**9)
        return model_class().fit(*data)


@pytest.mark.slow
@pytest.mark.parametrize("model_class", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_large_fit_reaches_the_ordinary_fits_optimum(
    model_class: type[PurchaseModel],
    customers: tuple[np.ndarray, np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x, tx, t = customers
    fast = model_class().fit(x, tx, t)
    ordinary = _ordinary_fit(model_class, monkeypatch, x, tx, t)
    # the warm start was taken: a few polishing steps, not a fit from the default start
    assert fast.n_iterations_ <= 10 < ordinary.n_iterations_
    assert fast.n_unique_rows_ == x.size  # unrounded rows are not compressed
    assert fast.log_likelihood_ == pytest.approx(ordinary.log_likelihood_, abs=1e-3)
    for name in fast.params_:
        assert fast.params_[name] == pytest.approx(ordinary.params_[name], rel=2e-4)
        assert fast.standard_errors_[name] == pytest.approx(
            ordinary.standard_errors_[name], rel=2e-3
        )
    if model_class is BetaGeoModel:  # the simulation's truth, within a few standard errors
        for name, value in TRUE_BG.items():
            assert abs(fast.params_[name] - value) < 4 * fast.standard_errors_[name]


def test_unique_inverse_lookup_path_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    for values in (
        rng.integers(0, 40, 50_000).astype(np.float64),
        rng.integers(0, 5_000, 60_000),
        np.concatenate([rng.integers(0, 9, 20_000) + 0.5, [3.0]]),  # not whole: sorted path
    ):
        unique, inverse = unique_inverse(values)
        expected, expected_inverse = np.unique(values, return_inverse=True)
        np.testing.assert_array_equal(unique, expected)
        assert unique.dtype == expected.dtype
        np.testing.assert_array_equal(inverse, expected_inverse.reshape(-1))


def test_columns_that_hardly_repeat_are_not_compressed() -> None:
    rng = np.random.default_rng(4)
    days = rng.integers(0, 365, 100_000).astype(np.float64)
    times = rng.uniform(0.0, 52.0, 100_000)
    assert not mostly_distinct(days)
    assert mostly_distinct(times)
    (kept, same), w = compress_rows([times, days], np.ones(100_000))
    np.testing.assert_array_equal(kept, times)
    np.testing.assert_array_equal(same, days)
    assert w.sum() == 100_000
    (d1, _d2), w = compress_rows([days, days * 2], np.ones(100_000))
    assert d1.size == np.unique(days).size
    assert w.sum() == 100_000


def test_threaded_hypergeometric_series_equals_the_single_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    n = 30_001
    d = rng.uniform(0.1, 20.0, n)
    c = d + rng.uniform(0.5, 10.0, n)
    z = rng.uniform(0.0, 0.99, n)
    single = math_module._hyp2f1_1_with_derivatives(d, c, z)
    monkeypatch.setattr(math_module, "THREADED_SIZE", 1_000)
    threaded = math_module.hyp2f1_1_with_derivatives(d, c, z)
    for one, two in zip(single, threaded, strict=True):
        np.testing.assert_array_equal(one, two)
