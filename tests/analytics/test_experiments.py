"""A/B statistics: published numbers, independent computations, and simulations of whole tests."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import optimize, stats

from soloist.analytics import (
    SequentialTest,
    compare_proportions,
    compare_variants,
    experiment_power,
    sample_size_per_arm,
    sequential_boundaries,
    sequential_power,
)
from soloist.analytics import sequential as sequential_module
from soloist.analytics.errors import AnalyticsError
from soloist.analytics.sequential import alpha_spending

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def pooled_z(x_a: Any, n_a: Any, x_b: Any, n_b: Any) -> Any:
    """The pooled two-proportion z, vectorised; 0 where it is undefined."""
    pooled = (x_a + x_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, (x_b / n_b - x_a / n_a) / se, 0.0)


# --- two proportions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "z", "p_value", "b_better"),
    [
        ((50, 1000), (65, 1000), 1.4408, 0.1496, 0.9245),
        ((20, 200), (30, 200), 1.5119, 0.1306, 0.9333),
        ((5, 100), (9, 100), 1.1085, 0.2676, 0.8585),
    ],
)
def test_compare_proportions_reproduces_the_reference_vectors(
    a: tuple[int, int], b: tuple[int, int], z: float, p_value: float, b_better: float
) -> None:
    result = compare_proportions(*a, *b)
    assert result.z is not None
    assert result.z == pytest.approx(z, abs=5e-5)
    assert result.p_value == pytest.approx(p_value, abs=5e-5)
    assert result.probability_b_better == pytest.approx(b_better, abs=5e-5)
    assert result.difference == pytest.approx(b[0] / b[1] - a[0] / a[1])
    # The pooled z test is the Pearson chi-square test of the 2×2 table (no continuity correction).
    table = [[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]]
    chi2, p_chi2, _, _ = stats.chi2_contingency(table, correction=False)
    assert result.z**2 == pytest.approx(chi2, rel=1e-10)
    assert result.p_value == pytest.approx(p_chi2, rel=1e-10)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [((48, 80), (56, 70), 0.0524, 0.3339), ((3, 10), (9, 10), 0.1705, 0.8090)],
)
def test_newcombe_interval_matches_newcombe_1998_table_ii(
    a: tuple[int, int], b: tuple[int, int], low: float, high: float
) -> None:
    result = compare_proportions(*a, *b)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), abs=5e-5)


def wilson_by_root_finding(x: int, n: int, z: float) -> tuple[float, float]:
    """The Wilson limits as the roots of |x/n − p| = z √(p(1 − p)/n), found numerically."""

    def score(p: float) -> float:
        return (x / n - p) ** 2 - z * z * p * (1 - p) / n

    low = 0.0 if x == 0 else optimize.brentq(score, 1e-15, x / n)
    high = 1.0 if x == n else optimize.brentq(score, max(x / n, 1e-12), 1 - 1e-15)
    return low, high


@pytest.mark.parametrize(
    ("counts", "confidence"),
    [
        ((5, 56, 0, 29), 0.95),
        ((2, 7, 6, 7), 0.9),
        ((130, 2000, 101, 1900), 0.99),
        ((0, 10, 0, 20), 0.95),
    ],
)
def test_newcombe_interval_agrees_with_an_independent_computation(
    counts: tuple[int, int, int, int], confidence: float
) -> None:
    x_a, n_a, x_b, n_b = counts
    z = stats.norm.ppf(0.5 + confidence / 2)
    low_a, high_a = wilson_by_root_finding(x_a, n_a, z)
    low_b, high_b = wilson_by_root_finding(x_b, n_b, z)
    p_a, p_b = x_a / n_a, x_b / n_b
    expected = (
        p_b - p_a - math.hypot(p_b - low_b, high_a - p_a),
        p_b - p_a + math.hypot(high_b - p_b, p_a - low_a),
    )
    result = compare_proportions(x_a, n_a, x_b, n_b, confidence=confidence)
    assert (result.ci_low, result.ci_high) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("counts", "prior"),
    [
        ((50, 1000, 65, 1000), (1, 1)),
        ((5, 100, 9, 100), (1, 1)),
        ((3, 40, 1, 35), (1, 1)),
        ((20, 200, 30, 200), (1, 3.5)),  # whole b: the sums run over the β's
        ((20, 200, 30, 200), (0.5, 0.5)),  # Jeffreys: numerical integration
    ],
)
def test_bayesian_summary_agrees_with_monte_carlo(
    counts: tuple[int, int, int, int], prior: tuple[float, float]
) -> None:
    x_a, n_a, x_b, n_b = counts
    a, b = prior
    rng = np.random.default_rng(20261201)
    draws = 400_000
    p_a = rng.beta(a + x_a, b + n_a - x_a, draws)
    p_b = rng.beta(a + x_b, b + n_b - x_b, draws)
    result = compare_proportions(x_a, n_a, x_b, n_b, prior=prior)
    assert result.probability_b_better == pytest.approx(np.mean(p_b > p_a), abs=2e-3)
    loss_b, loss_a = np.maximum(p_a - p_b, 0), np.maximum(p_b - p_a, 0)
    for ours, sample in [(result.expected_loss, loss_b), (result.expected_loss_a, loss_a)]:
        assert ours == pytest.approx(sample.mean(), abs=5 * sample.std() / math.sqrt(draws))
    # The two losses differ by the difference of the posterior means.
    mean_a, mean_b = (a + x_a) / (a + b + n_a), (a + x_b) / (a + b + n_b)
    assert result.expected_loss_a - result.expected_loss == pytest.approx(mean_b - mean_a, abs=1e-6)


def test_exact_sums_and_numerical_integration_agree() -> None:
    exact = compare_proportions(130, 2000, 101, 1900)
    integrated = compare_proportions(130, 2000, 101, 1900, prior=(1 + 1e-9, 1 + 1e-9))
    assert integrated.probability_b_better == pytest.approx(exact.probability_b_better, abs=1e-6)
    assert integrated.expected_loss == pytest.approx(exact.expected_loss, rel=1e-5)
    assert integrated.expected_loss_a == pytest.approx(exact.expected_loss_a, rel=1e-5)


def test_undefined_z_is_none_and_the_rest_is_still_reported() -> None:
    result = compare_proportions(0, 10, 0, 20)
    assert result.z is None
    assert result.p_value is None
    # Beta(1, 11) vs Beta(1, 21): P(p_B > p_A) = 11 / (11 + 21), Miller's sum with one term.
    assert result.probability_b_better == pytest.approx(11 / 32, abs=1e-12)
    assert result.relative_lift is None
    data = json.loads(json.dumps(result.to_dict()))
    assert data["z"] is None
    assert data["significant"] is False


def test_large_counts_stay_finite_and_fast() -> None:
    result = compare_proportions(50_000, 1_000_000, 50_600, 1_000_000)
    # The posteriors are nearly normal here.
    posterior = [stats.beta(1 + x, 1 + 1_000_000 - x) for x in (50_000, 50_600)]
    spread = math.hypot(posterior[0].std(), posterior[1].std())
    normal = stats.norm.cdf((posterior[1].mean() - posterior[0].mean()) / spread)
    assert result.probability_b_better == pytest.approx(normal, abs=1e-3)
    assert 0 <= result.expected_loss < 1e-4


# --- A/B/n -----------------------------------------------------------------------------------


def test_compare_variants_agrees_with_monte_carlo_and_the_pairwise_tests() -> None:
    successes, trials = [50, 65, 52, 40], [1000, 1000, 1000, 900]
    result = compare_variants(successes, trials)
    rng = np.random.default_rng(7)
    draws = rng.beta(
        1 + np.array(successes)[:, None],
        1 + np.array(trials)[:, None] - np.array(successes)[:, None],
        (4, 400_000),
    )
    best = np.bincount(draws.argmax(axis=0), minlength=4) / draws.shape[1]
    loss = (draws.max(axis=0) - draws).mean(axis=1)
    assert result.probability_best == pytest.approx(best, abs=3e-3)
    assert result.expected_loss == pytest.approx(loss, abs=2e-4)
    assert sum(result.probability_best) == pytest.approx(1, abs=1e-6)
    assert result.best == 1
    assert result.adjusted_confidence == pytest.approx(1 - 0.05 / 3)
    for k, comparison in enumerate(result.comparisons, start=1):
        assert comparison.confidence == pytest.approx(1 - 0.05 / 3)
        single = compare_proportions(50, 1000, successes[k], trials[k], confidence=1 - 0.05 / 3)
        assert comparison == single
    json.dumps(result.to_dict())


def test_two_variants_reduce_to_compare_proportions() -> None:
    pair = compare_proportions(20, 200, 30, 200)
    variants = compare_variants([20, 30], [200, 200])
    assert variants.probability_best[1] == pytest.approx(pair.probability_b_better, abs=1e-6)
    assert variants.expected_loss == pytest.approx(
        (pair.expected_loss_a, pair.expected_loss), rel=1e-5
    )
    assert variants.adjusted_confidence == pytest.approx(0.95)


# --- sample size and fixed-design power ------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "lift", "n"), [(0.05, 0.01, 8158), (0.02, 0.005, 13809), (0.20, 0.02, 6510)]
)
def test_sample_size_per_arm_matches_the_reference_values(
    baseline: float, lift: float, n: int
) -> None:
    assert sample_size_per_arm(baseline, lift) == n
    assert sample_size_per_arm(baseline + lift, -lift) == n  # a drop needs as many
    assert experiment_power(baseline, lift, n) == pytest.approx(0.8, abs=2e-4)
    assert experiment_power(baseline, lift, n) >= 0.8 > experiment_power(baseline, lift, n - 1)


def test_sequential_designs_need_a_little_more_and_keep_their_power() -> None:
    fixed = sample_size_per_arm(0.05, 0.01)
    previous = fixed
    for looks in (2, 5, 10):
        n = sample_size_per_arm(0.05, 0.01, looks=looks)
        assert previous < n < 1.05 * fixed  # O'Brien–Fleming: a few per cent more
        assert experiment_power(0.05, 0.01, n, looks=looks) == pytest.approx(0.8, abs=5e-4)
        previous = n
    pocock = sample_size_per_arm(0.05, 0.01, looks=5, spending="pocock")
    assert 1.15 * fixed < pocock < 1.25 * fixed


def test_fixed_design_power_agrees_with_simulation() -> None:
    n = sample_size_per_arm(0.05, 0.01)
    reported = experiment_power(0.05, 0.01, n)
    rng = np.random.default_rng(11)
    runs = 10_000
    z = pooled_z(rng.binomial(n, 0.05, runs), n, rng.binomial(n, 0.06, runs), n)
    simulated = float(np.mean(z >= stats.norm.isf(0.025)))
    assert reported == pytest.approx(0.80, abs=0.005)
    assert simulated == pytest.approx(reported, abs=0.03)


# --- group-sequential boundaries -------------------------------------------------------------


def test_obrien_fleming_boundaries_match_published_values() -> None:
    # Lan–DeMets O'Brien–Fleming type, 5 equally spaced looks, two-sided 0.05 (gsDesign, ldbounds)
    bounds = sequential_boundaries(np.arange(1, 6) / 5, 0.05, "obrien_fleming")
    assert bounds == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=1e-3)
    assert sequential_power(np.arange(1, 6) / 5, bounds, 0.0) == pytest.approx(0.05, abs=1e-7)


def monte_carlo_boundaries(fractions: FloatArray, alpha: float, spending: str) -> FloatArray:
    """Each boundary as the empirical quantile of |Z_k| on simulated paths not yet stopped."""
    rng = np.random.default_rng(3)
    paths = 1_000_000
    increments = rng.standard_normal((paths, fractions.size)) * np.sqrt(
        np.diff(fractions, prepend=0)
    )
    z = np.cumsum(increments, axis=1) / np.sqrt(fractions)
    alive = np.ones(paths, dtype=bool)
    bounds, spent = [], 0.0
    for k, t in enumerate(fractions):
        cumulative = alpha_spending(float(t), alpha, spending)
        crossing = round((cumulative - spent) * paths)
        spent = cumulative
        values = np.sort(np.abs(z[alive, k]))[::-1]
        c = math.inf if crossing == 0 else (values[crossing - 1] + values[crossing]) / 2
        bounds.append(c)
        alive &= np.abs(z[:, k]) < c
    return np.array(bounds)


def test_pocock_boundaries_match_published_values_and_monte_carlo() -> None:
    fractions = np.arange(1, 6) / 5
    bounds = sequential_boundaries(fractions, 0.05, "pocock")
    assert bounds == pytest.approx([2.44, 2.43, 2.41, 2.40, 2.39], abs=6e-3)
    assert bounds == pytest.approx(monte_carlo_boundaries(fractions, 0.05, "pocock"), abs=0.02)


def test_unequal_obrien_fleming_boundaries_match_monte_carlo() -> None:
    fractions = np.array([0.15, 0.45, 0.6, 0.8, 1.0])
    bounds = sequential_boundaries(fractions, 0.05, "obrien_fleming")
    simulated = monte_carlo_boundaries(fractions, 0.05, "obrien_fleming")
    # The first look spends 1.4·10⁻⁸: too little to simulate, but its boundary is closed-form.
    assert bounds[0] == pytest.approx(stats.norm.isf(alpha_spending(0.15) / 2), abs=1e-8)
    assert bounds[1:] == pytest.approx(simulated[1:], abs=0.02)


def test_sequential_power_agrees_with_monte_carlo() -> None:
    fractions = np.array([0.25, 0.5, 0.75, 1.0])
    bounds = sequential_boundaries(fractions, 0.05, "pocock")
    rng = np.random.default_rng(5)
    drift = 2.5
    steps = np.diff(fractions, prepend=0)
    paths = rng.standard_normal((400_000, 4)) * np.sqrt(steps) + drift * steps
    z = np.cumsum(paths, axis=1) / np.sqrt(fractions)
    simulated = np.mean(np.any(np.abs(z) >= bounds, axis=1))
    assert sequential_power(fractions, bounds, drift) == pytest.approx(simulated, abs=3e-3)


def test_the_grid_is_fine_enough() -> None:
    fractions = np.array([0.1, 0.3, 0.35, 0.7, 1.0])
    coarse = sequential_boundaries(fractions, 0.05, "pocock")
    default = sequential_module._MIN_POINTS
    try:
        sequential_module._MIN_POINTS = 1201
        fine = sequential_boundaries(fractions, 0.05, "pocock")
    finally:
        sequential_module._MIN_POINTS = default
    assert coarse == pytest.approx(fine, abs=1e-6)


# --- the live monitor ------------------------------------------------------------------------


def test_sequential_test_reproduces_the_planned_boundaries() -> None:
    test = SequentialTest(alpha=0.05, spending="pocock", max_information=500)
    looks = [test.look(100 * k, 0.5, final=k == 5) for k in range(1, 6)]
    planned = sequential_boundaries(np.arange(1, 6) / 5, 0.05, "pocock")
    assert [look.boundary for look in looks] == pytest.approx(planned, abs=1e-8)
    assert looks[-1].alpha_spent == pytest.approx(0.05)
    assert test.stopped
    with pytest.raises(AnalyticsError, match="final look"):
        test.look(600, 0.1)


def test_sequential_test_at_unplanned_information_levels_keeps_alpha() -> None:
    test = SequentialTest(alpha=0.05, max_information=1000)
    informations = [130, 410, 640, 880]
    for information in informations:
        test.look(information, 0.0)
    last = test.look(1100, 0.0, final=True)  # ran over the plan: spend what is left
    assert last.fraction == 1.0
    fractions = np.array([*informations, 1100]) / 1100
    bounds = [look.boundary for look in test.looks]
    assert sequential_power(fractions, bounds, 0.0) == pytest.approx(0.05, abs=1e-6)
    assert [look.alpha_spent for look in test.looks[:-1]] == pytest.approx(
        [alpha_spending(i / 1000) for i in informations]
    )


def test_sequential_test_survives_json_and_resumes_identically() -> None:
    straight = SequentialTest(alpha=0.05, max_information=400)
    stored = SequentialTest(alpha=0.05, max_information=400)
    for information, z in [(90, 1.1), (170, 0.4)]:
        straight.look(information, z)
        stored.look(information, z)
    resumed = SequentialTest.from_dict(json.loads(json.dumps(stored.to_dict())))
    assert resumed.to_dict() == stored.to_dict()
    assert resumed.look(300, 2.0) == straight.look(300, 2.0)


def test_sequential_test_stops_after_a_crossing_and_spends_nothing_past_the_end() -> None:
    test = SequentialTest(alpha=0.05, max_information=100)
    test.look(100, 1.0)  # all of alpha spent at the planned end without calling it final
    extra = test.look(120, 5.0)
    assert math.isinf(extra.boundary)
    assert not extra.crossed
    assert json.loads(json.dumps(test.to_dict()))["looks"][1]["boundary"] is None
    crossing = SequentialTest(alpha=0.05, max_information=100)
    assert crossing.look(50, -3.5).crossed
    with pytest.raises(AnalyticsError, match="crossed"):
        crossing.look(60, 0.0)


# --- simulations of whole experiments --------------------------------------------------------


LOOKS = 10


def simulate_z(
    runs: int, sizes: np.ndarray[Any, Any], p_a: float, p_b: float, seed: int
) -> FloatArray:
    """Pooled z at each look (columns) of ``runs`` experiments with cumulative ``sizes`` per arm."""
    rng = np.random.default_rng(seed)
    steps = np.diff(sizes, prepend=0).astype(int)
    x_a = rng.binomial(steps, p_a, (runs, steps.size)).cumsum(axis=1)
    x_b = rng.binomial(steps, p_b, (runs, steps.size)).cumsum(axis=1)
    return np.asarray(pooled_z(x_a, sizes, x_b, sizes), dtype=float)


@pytest.mark.slow
def test_aa_tests_keep_the_false_positive_rate_and_naive_peeking_does_not() -> None:
    # 10,000 runs rather than the 2,000 of the issue: they cost milliseconds, and with 2,000 the
    # standard error (0.005) would make a correct method exceed 0.055 one time in eight.
    max_n = 3000
    sizes = np.arange(1, LOOKS + 1) * (max_n // LOOKS)
    z = simulate_z(10_000, sizes, 0.05, 0.05, seed=2026)
    bounds = sequential_boundaries(sizes / max_n, 0.05, "obrien_fleming")
    sequential_rejects = np.any(np.abs(z) >= bounds, axis=1)
    naive_rejects = np.any(np.abs(z) > 1.96, axis=1)
    assert sequential_rejects.mean() <= 0.055
    assert naive_rejects.mean() > 0.12  # the problem the boundaries solve (≈ 0.19)
    # The live monitor, fed the same runs look by look, draws the same lines and verdicts.
    for run in range(300):
        test = SequentialTest(alpha=0.05, spending="obrien_fleming", max_information=max_n)
        for k in range(LOOKS):
            look = test.look(int(sizes[k]), float(z[run, k]), final=k == LOOKS - 1)
            assert look.boundary == pytest.approx(bounds[k], abs=1e-8)
            if look.crossed:
                break
        assert look.crossed == sequential_rejects[run]


def test_reported_sequential_power_matches_simulation() -> None:
    n = sample_size_per_arm(0.05, 0.02, looks=LOOKS)
    reported = experiment_power(0.05, 0.02, n, looks=LOOKS)
    sizes = np.round(np.arange(1, LOOKS + 1) * n / LOOKS)
    z = simulate_z(10_000, sizes, 0.05, 0.07, seed=99)
    bounds = sequential_boundaries(np.arange(1, LOOKS + 1) / LOOKS, 0.05, "obrien_fleming")
    crossed = np.abs(z) >= bounds
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    b_better = np.mean((first >= 0) & (z[np.arange(z.shape[0]), first] > 0))
    assert reported == pytest.approx(0.8, abs=1e-3)
    assert b_better == pytest.approx(reported, abs=0.03)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: compare_proportions(-1, 10, 1, 10), "successes_a"),
        (lambda: compare_proportions(1, 10, 11, 10), "successes_b"),
        (lambda: compare_proportions(1, 0, 1, 10), "trials_a"),
        (lambda: compare_proportions(1.5, 10, 1, 10), "successes_a"),  # type: ignore[arg-type]
        (lambda: compare_proportions(1, 10, 1, "ten"), "trials_b"),  # type: ignore[arg-type]
        (lambda: compare_proportions(1, 10, 1, 10, confidence=95), "confidence"),
        (lambda: compare_proportions(1, 10, 1, 10, prior=(0, 1)), "prior"),
        (lambda: compare_variants([1], [10]), "successes"),
        (lambda: compare_variants([1, 2], [10]), "successes"),
        (lambda: compare_variants([1, 20], [10, 10]), "successes[1]"),
        (lambda: sample_size_per_arm(0, 0.01), "baseline"),
        (lambda: sample_size_per_arm(0.05, 0), "lift"),
        (lambda: sample_size_per_arm(0.95, 0.06), "lift"),
        (lambda: sample_size_per_arm(0.05, 0.01, power=1.2), "power"),
        (lambda: sample_size_per_arm(0.05, 0.01, alpha=0), "alpha"),
        (lambda: sample_size_per_arm(0.05, 0.01, looks=0), "looks"),
        (lambda: sample_size_per_arm(0.05, 0.01, looks=2.5), "looks"),  # type: ignore[arg-type]
        (lambda: sample_size_per_arm(0.05, 0.01, spending="haybittle"), "spending"),
        (lambda: experiment_power(0.05, 0.01, 0), "n_per_arm"),
        (lambda: sequential_boundaries([0.5, 0.4]), "information_fractions"),
        (lambda: sequential_boundaries([0.5, 1.2]), "information_fractions"),
        (lambda: sequential_power([0.5, 1.0], [2.0], 1.0), "boundaries"),
        (lambda: sequential_power([0.5, 1.0], [2.0, 2.0], math.nan), "drift"),
        (lambda: SequentialTest(max_information=0), "max_information"),
        (lambda: SequentialTest(alpha=1.5), "alpha"),
        (lambda: SequentialTest().look(0, 1.0), "information"),
        (lambda: SequentialTest().look(0.5, math.inf), "z"),
        (lambda: SequentialTest.from_dict({"alpha": 0.05}), "max_information"),
    ],
)
def test_bad_input_raises_an_error_naming_the_argument(
    call: Callable[[], object], name: str
) -> None:
    with pytest.raises(AnalyticsError, match=re.escape(name)):
        call()


def test_looks_must_bring_new_information() -> None:
    test = SequentialTest(max_information=100)
    test.look(40, 0.3)
    with pytest.raises(AnalyticsError, match="information"):
        test.look(40, 0.5)


def test_a_final_look_with_nothing_new_spends_the_rest_of_alpha_and_no_more() -> None:
    """A campaign's clicks stop coming before its last look: the last look sees the same data.
    Its boundary must spend what is left of alpha on the same statistic (simulated: the
    overall false-positive rate is at most, and close to, 5 %)."""
    rng = np.random.default_rng(11)
    infos = np.array([0.3, 0.6, 0.8])
    runs = 40_000
    paths = np.cumsum(rng.normal(size=(runs, 3)) * np.sqrt(np.diff(infos, prepend=0)), axis=1)
    z = paths / np.sqrt(infos)
    test = SequentialTest(alpha=0.05, max_information=1.0)
    bounds = [test.look(i, 0.0).boundary for i in infos]
    last = test.look(0.8, 0.0, final=True)
    assert last.final
    assert last.alpha_spent == 0.05
    assert bounds[-1] > last.boundary > 1.9
    rejected = (np.abs(z) >= bounds).any(axis=1) | (np.abs(z[:, 2]) >= last.boundary)
    without_final = (np.abs(z) >= bounds).mean(axis=0).sum()
    assert 0.044 <= rejected.mean() <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / runs)
    assert rejected.mean() > without_final + 0.005  # the rest of alpha was used
