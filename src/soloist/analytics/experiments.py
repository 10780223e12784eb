"""A/B and A/B/n tests on conversion rates: the comparison, the Bayesian view and the sample size.

Pure functions on counts (customers who converted out of customers who got each variant).

* The frequentist comparison is the pooled two-proportion z test,
  ``z = (p̂_B − p̂_A) / √(p̂ (1 − p̂)(1/n_A + 1/n_B))`` with ``p̂ = (x_A + x_B)/(n_A + n_B)``,
  and Newcombe's hybrid score interval for ``p_B − p_A`` (Newcombe 1998, method 10): with
  Wilson score limits ``(l_X, u_X)`` of each rate,

      low  = d − √((p̂_B − l_B)² + (u_A − p̂_A)²),   high = d + √((u_B − p̂_B)² + (p̂_A − l_A)²),

  which keeps its coverage at the small counts a small business has, where the textbook Wald
  interval does not.
* The Bayesian comparison gives each rate a Beta(a, b) prior, so its posterior is
  Beta(a + x, b + n − x). ``P(p_B > p_A)`` is Evan Miller's closed-form sum (Miller 2015)

      P(p_B > p_A) = Σ_{i=0}^{α_B−1} B(α_A + i, β_A + β_B) / ((β_B + i) B(1 + i, β_B) B(α_A, β_A)),

  computed in log space (exact whenever the prior's ``a`` or ``b`` is a whole number; the sum
  runs over the smallest of α_A, α_B, β_A, β_B by symmetry). The expected loss of choosing B,
  ``E[max(p_A − p_B, 0)]``, follows exactly from the same sum, because ``x f_A(x)`` is the mean
  of A times the density of ``A' ~ Beta(α_A + 1, β_A)``:

      E[max(p_A − p_B, 0)] = E[p_A]·P(A' > B) − E[p_B]·P(A > B'),   B' ~ Beta(α_B + 1, β_B)

  (Stucchio 2015 stops a test once this loss is below a "threshold of caring").
* For more than two variants, ``P(variant k is best) = ∫ Π_{j≠k} F_j(x) dF_k(x)`` and
  ``E[max_j p_j] = ∫_0^1 (1 − Π_j F_j(x)) dx`` are integrated numerically on a fine grid
  (4,001 points across each posterior's central 1 − 2·10⁻¹² range), so the expected losses
  ``E[max_j p_j] − E[p_k]`` need no simulation; each variant is also compared with the control
  at the Bonferroni-adjusted level ``α/(k − 1)``.
* The sample size per arm of a fixed two-sided test (Fleiss, Levin & Paik 2003, ch. 4),

      n = (z_{α/2} √(2 p̄ q̄) + z_β √(p_1 q_1 + p_2 q_2))² / δ²,

  and, for a group-sequential design with interim looks (see :mod:`.sequential`), the same with
  the drift ``z_{α/2} r + z_β`` replaced by the drift the sequential boundaries need for that
  power, ``r = √(2 p̄ q̄ / (p_1 q_1 + p_2 q_2))`` (Jennison & Turnbull 2000, ch. 7).

References
----------
R. G. Newcombe (1998). Interval estimation for the difference between independent proportions:
comparison of eleven methods. *Statistics in Medicine* 17(8), 873–890.
E. Miller (2015). Formulas for Bayesian A/B testing. https://www.evanmiller.org/bayesian-ab-testing.html
C. Stucchio (2015). Bayesian A/B testing at VWO. VWO technical report.
J. L. Fleiss, B. Levin and M. C. Paik (2003). *Statistical Methods for Rates and Proportions*,
3rd ed. Wiley, ch. 4.
C. Jennison and B. W. Turnbull (2000). *Group Sequential Methods with Applications to Clinical
Trials*. Chapman & Hall/CRC.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from .errors import AnalyticsError
from .sequential import (
    FloatArray,
    SequentialLook,
    SequentialTest,
    check_alpha,
    check_spending,
    drift_for_power,
    is_real,
    sequential_boundaries,
    sequential_power,
)

__all__ = [
    "ProportionComparison",
    "SequentialLook",
    "SequentialTest",
    "VariantComparison",
    "compare_proportions",
    "compare_variants",
    "experiment_power",
    "sample_size_per_arm",
    "sequential_boundaries",
    "sequential_power",
]

_GRID_POINTS = 4001
_TAIL = 1e-12


@dataclass(frozen=True)
class ProportionComparison:
    """Variant B against control A: rates, z test, Newcombe interval of B − A, Bayesian summary.

    ``z`` and ``p_value`` are ``None`` when the pooled test is undefined (no successes at all, or
    nothing but successes). ``probability_b_better`` is P(p_B > p_A) under the posterior;
    ``expected_loss`` is E[max(p_A − p_B, 0)], the conversion rate given up on average by
    choosing B, and ``expected_loss_a`` the same for choosing A. ``significant`` reads the
    interval (it excludes 0); the z test and the interval are different methods and can disagree
    at the margin.
    """

    successes_a: int
    trials_a: int
    successes_b: int
    trials_b: int
    rate_a: float
    rate_b: float
    difference: float
    z: float | None
    p_value: float | None
    ci_low: float
    ci_high: float
    confidence: float
    probability_b_better: float
    expected_loss: float
    expected_loss_a: float
    prior: tuple[float, float] = (1.0, 1.0)
    method: str = "pooled z test; Newcombe hybrid score interval (method 10)"

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def relative_lift(self) -> float | None:
        """``difference / rate_a`` (``None`` when the control converted nobody)."""
        return None if self.rate_a == 0 else self.difference / self.rate_a

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["prior"] = list(self.prior)
        data["significant"] = self.significant
        data["relative_lift"] = self.relative_lift
        return data


@dataclass(frozen=True)
class VariantComparison:
    """An A/B/n test; variant 0 is the control.

    ``probability_best[k]`` is P(variant k has the highest rate) and ``expected_loss[k]`` is
    E[max_j p_j − p_k], both by numerical integration over the Beta posteriors.
    ``comparisons[k − 1]`` is variant k against the control at ``adjusted_confidence``
    (Bonferroni: ``1 − (1 − confidence)/(k − 1)`` for k − 1 comparisons).
    """

    successes: tuple[int, ...]
    trials: tuple[int, ...]
    rates: tuple[float, ...]
    probability_best: tuple[float, ...]
    expected_loss: tuple[float, ...]
    comparisons: tuple[ProportionComparison, ...]
    confidence: float
    adjusted_confidence: float
    prior: tuple[float, float] = (1.0, 1.0)
    method: str = "numerical integration over Beta posteriors; Bonferroni-adjusted comparisons"

    @property
    def best(self) -> int:
        """Index of the variant most likely to be best."""
        return int(np.argmax(self.probability_best))

    def to_dict(self) -> dict[str, Any]:
        return {
            "successes": list(self.successes),
            "trials": list(self.trials),
            "rates": list(self.rates),
            "probability_best": list(self.probability_best),
            "expected_loss": list(self.expected_loss),
            "comparisons": [c.to_dict() for c in self.comparisons],
            "confidence": self.confidence,
            "adjusted_confidence": self.adjusted_confidence,
            "prior": list(self.prior),
            "method": self.method,
            "best": self.best,
        }


# --- input checks -----------------------------------------------------------------------------


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool | np.bool_):
        raise AnalyticsError(f"{name} must be a whole number, got {value!r}.")
    try:
        number = operator.index(value)
    except TypeError:
        if not (is_real(value) and float(value).is_integer()):
            raise AnalyticsError(f"{name} must be a whole number, got {value!r}.") from None
        number = int(value)
    if number < 0:
        raise AnalyticsError(f"{name} must not be negative, got {number}.")
    return number


def _counts(successes: Any, trials: Any, name: str) -> tuple[int, int]:
    x = _count(successes, f"successes{name}")
    n = _count(trials, f"trials{name}")
    if n < 1:
        raise AnalyticsError(f"trials{name} must be at least 1, got {n}.")
    if x > n:
        raise AnalyticsError(f"successes{name} ({x}) exceeds trials{name} ({n}).")
    return x, n


def _check_confidence(confidence: float) -> None:
    if not (is_real(confidence) and 0 < confidence < 1):
        raise AnalyticsError(f"confidence must be between 0 and 1, got {confidence!r}.")


def _check_prior(prior: Sequence[float]) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in prior)
    except (TypeError, ValueError):
        raise AnalyticsError(f"prior must be two positive numbers (a, b), got {prior!r}.") from None
    if not (0 < a < math.inf and 0 < b < math.inf):
        raise AnalyticsError(f"prior must be two positive numbers (a, b), got {prior!r}.")
    return a, b


# --- Beta posteriors --------------------------------------------------------------------------


def _miller_sum(a_x: float, b_x: float, a_y: float, b_y: float) -> float:
    """P(X > Y), X ~ Beta(a_x, b_x), Y ~ Beta(a_y, b_y), whole-numbered ``a_x`` (Miller 2015)."""
    i = np.arange(round(a_x), dtype=float)
    log_terms = (
        special.betaln(a_y + i, b_x + b_y)
        - np.log(b_x + i)
        - special.betaln(1 + i, b_x)
        - special.betaln(a_y, b_y)
    )
    return float(np.exp(special.logsumexp(log_terms)))


def _prob_greater(a_x: float, b_x: float, a_y: float, b_y: float, whole_a: bool) -> float:
    """P(X > Y) by the shortest of Miller's four sums; ``whole_a`` else the b's are whole."""
    if whole_a:
        if a_x <= a_y:
            value = _miller_sum(a_x, b_x, a_y, b_y)
        else:
            value = 1 - _miller_sum(a_y, b_y, a_x, b_x)
    # P(X > Y) = P(1 − Y > 1 − X), and 1 − X ~ Beta(b_x, a_x).
    elif b_y <= b_x:
        value = _miller_sum(b_y, a_y, b_x, a_x)
    else:
        value = 1 - _miller_sum(b_x, a_x, b_y, a_y)
    return min(max(value, 0.0), 1.0)


def _best_and_maximum(alphas: FloatArray, betas: FloatArray) -> tuple[FloatArray, float]:
    """P(variant k is best) for each k, and E[max_k p_k], by integration on a grid."""
    lows = stats.beta.ppf(_TAIL, alphas, betas)
    highs = stats.beta.isf(_TAIL, alphas, betas)
    pieces = [np.linspace(lo, hi, _GRID_POINTS) for lo, hi in zip(lows, highs, strict=True)]
    grid = np.unique(np.concatenate([[0.0, 1.0], *pieces]))
    middle = (grid[1:] + grid[:-1]) / 2
    cdf = stats.beta.cdf(grid[None, :], alphas[:, None], betas[:, None])
    cdf_middle = stats.beta.cdf(middle[None, :], alphas[:, None], betas[:, None])
    best = np.empty(alphas.size)
    for k in range(alphas.size):
        others = np.prod(np.delete(cdf_middle, k, axis=0), axis=0)
        best[k] = float(np.diff(cdf[k]) @ others)  # Σ ΔF_k · Π_{j≠k} F_j at the cell middle
    maximum = float(np.trapezoid(1 - np.prod(cdf, axis=0), grid))
    return np.clip(best, 0.0, 1.0), maximum


def _bayes_pair(
    x_a: int, n_a: int, x_b: int, n_b: int, prior: tuple[float, float]
) -> tuple[float, float, float]:
    """P(p_B > p_A), E[max(p_A − p_B, 0)] and E[max(p_B − p_A, 0)]."""
    a, b = prior
    alpha_a, beta_a = a + x_a, b + n_a - x_a
    alpha_b, beta_b = a + x_b, b + n_b - x_b
    mean_a, mean_b = alpha_a / (alpha_a + beta_a), alpha_b / (alpha_b + beta_b)
    if not (a.is_integer() or b.is_integer()):
        best, maximum = _best_and_maximum(np.array([alpha_a, alpha_b]), np.array([beta_a, beta_b]))
        return float(best[1]), max(maximum - mean_b, 0.0), max(maximum - mean_a, 0.0)
    whole = a.is_integer()
    b_better = _prob_greater(alpha_b, beta_b, alpha_a, beta_a, whole)
    # E[p_A 1(p_A > p_B)] = E[p_A] P(A' > B) with A' ~ Beta(α_A + 1, β_A); likewise for B.
    loss_b = mean_a * _prob_greater(alpha_a + 1, beta_a, alpha_b, beta_b, whole) - mean_b * (
        _prob_greater(alpha_a, beta_a, alpha_b + 1, beta_b, whole)
    )
    loss_a = mean_b * _prob_greater(alpha_b + 1, beta_b, alpha_a, beta_a, whole) - mean_a * (
        _prob_greater(alpha_b, beta_b, alpha_a + 1, beta_a, whole)
    )
    return b_better, max(loss_b, 0.0), max(loss_a, 0.0)


# --- frequentist pieces -----------------------------------------------------------------------


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    """Wilson (1927) score interval of a proportion, without continuity correction."""
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _newcombe(x_a: int, n_a: int, x_b: int, n_b: int, confidence: float) -> tuple[float, float]:
    """Newcombe (1998) method 10 interval of p_B − p_A."""
    z = float(stats.norm.isf((1 - confidence) / 2))
    p_a, p_b = x_a / n_a, x_b / n_b
    low_a, high_a = _wilson(x_a, n_a, z)
    low_b, high_b = _wilson(x_b, n_b, z)
    d = p_b - p_a
    return (
        d - math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2),
        d + math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2),
    )


def compare_proportions(
    successes_a: int,
    trials_a: int,
    successes_b: int,
    trials_b: int,
    confidence: float = 0.95,
    prior: Sequence[float] = (1.0, 1.0),
) -> ProportionComparison:
    """Compare variant B's conversion rate with control A's.

    >>> r = compare_proportions(50, 1000, 65, 1000)
    >>> round(r.z, 4), round(r.p_value, 4), round(r.probability_b_better, 4)
    (1.4408, 0.1496, 0.9245)
    >>> r.significant
    False
    """
    x_a, n_a = _counts(successes_a, trials_a, "_a")
    x_b, n_b = _counts(successes_b, trials_b, "_b")
    _check_confidence(confidence)
    beta_prior = _check_prior(prior)
    p_a, p_b = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = None if se == 0 else (p_b - p_a) / se
    p_value = None if z is None else float(2 * stats.norm.sf(abs(z)))
    low, high = _newcombe(x_a, n_a, x_b, n_b, confidence)
    b_better, loss_b, loss_a = _bayes_pair(x_a, n_a, x_b, n_b, beta_prior)
    return ProportionComparison(
        x_a, n_a, x_b, n_b, p_a, p_b, p_b - p_a, z, p_value, low, high, float(confidence),
        b_better, loss_b, loss_a, beta_prior,
    )  # fmt: skip


def compare_variants(
    successes: Sequence[int],
    trials: Sequence[int],
    confidence: float = 0.95,
    prior: Sequence[float] = (1.0, 1.0),
) -> VariantComparison:
    """Compare k ≥ 2 variants; the first is the control.

    >>> r = compare_variants([50, 65, 52], [1000, 1000, 1000])
    >>> r.best, round(r.adjusted_confidence, 3)
    (1, 0.975)
    """
    if isinstance(successes, str | bytes) or isinstance(trials, str | bytes):
        raise AnalyticsError("successes and trials must be sequences of counts.")
    xs, ns = list(successes), list(trials)
    if len(xs) != len(ns):
        raise AnalyticsError(f"successes ({len(xs)}) and trials ({len(ns)}) differ in length.")
    if len(xs) < 2:
        raise AnalyticsError(f"successes needs at least two variants, got {len(xs)}.")
    pairs = [_counts(x, n, f"[{k}]") for k, (x, n) in enumerate(zip(xs, ns, strict=True))]
    _check_confidence(confidence)
    a, b = _check_prior(prior)
    alphas = np.array([a + x for x, _ in pairs])
    betas = np.array([b + n - x for x, n in pairs])
    best, maximum = _best_and_maximum(alphas, betas)
    means = alphas / (alphas + betas)
    adjusted = 1 - (1 - confidence) / (len(pairs) - 1)
    control = pairs[0]
    comparisons = tuple(
        compare_proportions(*control, x, n, confidence=adjusted, prior=(a, b)) for x, n in pairs[1:]
    )
    return VariantComparison(
        successes=tuple(x for x, _ in pairs),
        trials=tuple(n for _, n in pairs),
        rates=tuple(x / n for x, n in pairs),
        probability_best=tuple(float(v) for v in best),
        expected_loss=tuple(float(max(maximum - m, 0.0)) for m in means),
        comparisons=comparisons,
        confidence=float(confidence),
        adjusted_confidence=adjusted,
        prior=(a, b),
    )


# --- planning ---------------------------------------------------------------------------------


def _design(
    baseline: float, lift: float, alpha: float, looks: int, spending: str
) -> tuple[float, float, float, FloatArray, FloatArray]:
    """Validated rates, then δ, V = p1q1 + p2q2, r = √(2p̄q̄/V), the fractions and z bounds."""
    if not (is_real(baseline) and 0 < baseline < 1):
        raise AnalyticsError(f"baseline must be a rate between 0 and 1, got {baseline!r}.")
    if not (is_real(lift) and lift != 0 and 0 < baseline + lift < 1):
        raise AnalyticsError(
            f"lift is the absolute change of the rate (0.05 → 0.06 is 0.01); it must be non-zero "
            f"and keep baseline + lift between 0 and 1, got {lift!r}."
        )
    check_alpha(alpha)
    check_spending(spending)
    if isinstance(looks, bool) or not isinstance(looks, int | np.integer) or looks < 1:
        raise AnalyticsError(f"looks must be a whole number ≥ 1, got {looks!r}.")
    p1, p2 = float(baseline), float(baseline) + float(lift)
    p_bar = (p1 + p2) / 2
    variance = p1 * (1 - p1) + p2 * (1 - p2)
    ratio = math.sqrt(2 * p_bar * (1 - p_bar) / variance)
    fractions = np.arange(1, int(looks) + 1) / int(looks)
    bounds = np.array(_equal_look_bounds(int(looks), float(alpha), spending))
    return abs(float(lift)), variance, ratio, fractions, bounds


@functools.lru_cache(maxsize=64)
def _equal_look_bounds(looks: int, alpha: float, spending: str) -> tuple[float, ...]:
    """The boundaries of ``looks`` equally spaced looks (computed once per design: planning
    pages ask for them many times)."""
    if looks == 1:
        return (float(stats.norm.isf(alpha / 2)),)
    fractions = np.arange(1, looks + 1) / looks
    return tuple(float(b) for b in sequential_boundaries(fractions, alpha, spending))


def sample_size_per_arm(
    baseline: float,
    lift: float,
    power: float = 0.8,
    alpha: float = 0.05,
    looks: int = 1,
    spending: str = "obrien_fleming",
) -> int:
    """Customers needed in each arm to detect an absolute ``lift`` of ``baseline`` (two-sided).

    With ``looks`` > 1 equally spaced interim analyses under Lan–DeMets ``spending``, this is
    the maximum sample size: the fixed one times (θ_seq / (z_{α/2} r + z_β))², where θ_seq is the
    drift at which the sequential boundaries reach ``power`` (O'Brien–Fleming costs 2–4 % more
    customers at the end, and usually stops earlier when the lift is real).

    >>> sample_size_per_arm(0.05, 0.01)
    8158
    >>> sample_size_per_arm(0.05, 0.01, looks=5) > 8158
    True
    """
    if not (is_real(power) and 0 < power < 1):
        raise AnalyticsError(f"power must be between 0 and 1, got {power!r}.")
    delta, variance, ratio, fractions, bounds = _design(baseline, lift, alpha, looks, spending)
    if looks == 1:
        drift = float(stats.norm.isf(alpha / 2)) * ratio + float(stats.norm.ppf(power))
    else:
        drift = drift_for_power(fractions, bounds * ratio, power)
    n = variance * drift**2 / delta**2
    return max(1, math.ceil(n * (1 - 1e-12)))


def experiment_power(
    baseline: float,
    lift: float,
    n_per_arm: int,
    alpha: float = 0.05,
    looks: int = 1,
    spending: str = "obrien_fleming",
) -> float:
    """Probability that the test rejects (either side) with ``n_per_arm`` customers per arm.

    The pooled z statistic is ``W/r`` for a standardised Brownian motion ``W`` with drift
    ``θ = |δ| √n / √(p1q1 + p2q2)``, so the power is :func:`sequential_power` of the boundaries
    times ``r`` at that drift (with one look: ``Φ(θ − r z_{α/2}) + Φ(−θ − r z_{α/2})``).

    >>> round(experiment_power(0.05, 0.01, 8158), 3)
    0.8
    """
    n = _count(n_per_arm, "n_per_arm")
    if n < 1:
        raise AnalyticsError(f"n_per_arm must be at least 1, got {n}.")
    delta, variance, ratio, fractions, bounds = _design(baseline, lift, alpha, looks, spending)
    drift = delta * math.sqrt(n / variance)
    return sequential_power(fractions, bounds * ratio, drift)
