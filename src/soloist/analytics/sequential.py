"""Group-sequential tests: look at a running experiment without inflating the false positives.

Checking a running A/B test every day and stopping the first time ``|z| > 1.96`` declares a
winner in about 19% of experiments where nothing differs (ten looks; Armitage, McPherson & Rowe
1969). A group-sequential design keeps the overall false-positive rate at ``alpha`` by raising the
bar at each look. The bars here come from the alpha-spending approach of Lan & DeMets (1983): a
spending function ``α(t)`` says how much of the false-positive budget may have been used once a
share ``t`` of the planned information has been seen, and each look's boundary ``c_k`` solves

    P₀(|Z_1| < c_1, …, |Z_{k−1}| < c_{k−1}, |Z_k| ≥ c_k) = α(t_k) − α(t_{k−1}),

so the looks need neither be planned in number nor equally spaced. Two spending functions
(Lan & DeMets 1983), for a two-sided test that spends ``α/2`` on each side:

    O'Brien–Fleming type  α(t) = 2 · [2 − 2 Φ(z_{α/4} / √t)]
    Pocock type           α(t) = α ln(1 + (e − 1) t)

The O'Brien–Fleming form is Lan & DeMets' ``2 − 2Φ(z_{α'/2}/√t)`` applied to each side with the
one-sided level ``α' = α/2``, the convention of the reference software (DeMets' ``ldbounds``,
``gsDesign``, EAST); it reproduces the published boundaries 4.877, 3.357, 2.680, 2.290, 2.031
for five equally spaced looks at α = 0.05. (Spending ``2 − 2Φ(z_{α/2}/√t)`` in total instead
would put the first of those at 1.96/√0.2 = 4.383.)

The probabilities are computed by the recursive numerical integration of Armitage, McPherson &
Rowe (1969) in the form of Jennison & Turnbull (2000, ch. 19) on the score scale
``S_k = Z_k √I_k``, a Brownian motion: with information in units of the planned maximum,
``S_k − S_{k−1} ~ N(θ Δ_k, Δ_k)``, ``Δ_k = t_k − t_{k−1}``, where θ is the drift (the mean of
``Z`` at full information). The sub-density of ``S_k`` on the paths not yet stopped is

    g_1(s) = φ((s − θ t_1)/√t_1) / √t_1,
    g_k(s) = ∫_{|u| < c_{k−1} √t_{k−1}} g_{k−1}(u) φ((s − u − θ Δ_k)/√Δ_k) / √Δ_k du

evaluated by Simpson's rule on an equally spaced grid (at least 201 points, finer when looks are
close together, over the continuation region cut to ±8 standard deviations of ``S_k``), and the
probability of crossing at look ``k`` is the integral of ``g_{k−1}`` against the two normal tails.
Each boundary is found with Brent's method.

References
----------
P. Armitage, C. K. McPherson and B. C. Rowe (1969). Repeated significance tests on accumulating
data. *Journal of the Royal Statistical Society A* 132(2), 235–244.
K. K. G. Lan and D. L. DeMets (1983). Discrete sequential boundaries for clinical trials.
*Biometrika* 70(3), 659–663.
C. Jennison and B. W. Turnbull (2000). *Group Sequential Methods with Applications to Clinical
Trials*. Chapman & Hall/CRC, ch. 7 (error spending) and ch. 19 (numerical computations).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike
from scipy import optimize, stats

from .errors import AnalyticsError

__all__ = [
    "SPENDING_FUNCTIONS",
    "SequentialLook",
    "SequentialTest",
    "alpha_spending",
    "sequential_boundaries",
    "sequential_power",
]

FloatArray = npt.NDArray[np.float64]
SPENDING_FUNCTIONS = ("obrien_fleming", "pocock")
_MIN_POINTS = 201  # Simpson grid points per look (odd)
_MAX_POINTS = 1601
_WIDTH = 8.0  # standard deviations of S_k either side of its mean kept on the grid
_MAX_BOUNDARY = 50.0
_SQRT_2PI = math.sqrt(2 * math.pi)


def check_spending(spending: str) -> None:
    if spending not in SPENDING_FUNCTIONS:
        raise AnalyticsError(f"spending must be one of {SPENDING_FUNCTIONS}, got {spending!r}.")


def is_real(value: object) -> bool:
    """A real number that is not a bool (NumPy scalars included)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_alpha(alpha: float) -> None:
    if not (is_real(alpha) and 0 < alpha < 1):
        raise AnalyticsError(f"alpha must be between 0 and 1, got {alpha!r}.")


def alpha_spending(fraction: float, alpha: float = 0.05, spending: str = "obrien_fleming") -> float:
    """Cumulative false-positive probability ``α(t)`` allowed at information fraction ``t``.

    ``t`` is capped to [0, 1]; ``α(1) = alpha`` for both functions (Lan & DeMets 1983).

    >>> round(alpha_spending(0.5, 0.05, "obrien_fleming"), 5)
    0.00305
    >>> round(alpha_spending(0.5, 0.05, "pocock"), 5)
    0.03101
    """
    check_alpha(alpha)
    check_spending(spending)
    t = min(max(float(fraction), 0.0), 1.0)
    if t == 0:
        return 0.0
    if spending == "obrien_fleming":
        return float(min(alpha, 4 * stats.norm.sf(stats.norm.isf(alpha / 4) / math.sqrt(t))))
    return float(alpha * math.log1p((math.e - 1) * t))


# --- the recursion (Jennison & Turnbull 2000, ch. 19) ---------------------------------------


@dataclass(frozen=True)
class _Stage:
    """Grid points ``s`` of ``S_k`` and the Simpson weight times the sub-density ``g_k(s)``."""

    information: float
    grid: FloatArray
    mass: FloatArray


_START = _Stage(0.0, np.zeros(1), np.ones(1))


def _points_needed(fractions: FloatArray) -> int:
    """Grid points so that the spacing at look k is at most half the next increment's sd."""
    t = np.asarray(fractions, dtype=float)
    if t.size < 2:
        return _MIN_POINTS
    ratio = float(np.max(np.sqrt(t[:-1] / np.diff(t))))
    points = min(max(_MIN_POINTS, math.ceil(4 * _WIDTH * ratio) + 1), _MAX_POINTS)
    return points + 1 - points % 2


def _simpson_weights(low: float, high: float, points: int) -> FloatArray:
    weights = np.full(points, 2.0)
    weights[1::2] = 4.0
    weights[0] = weights[-1] = 1.0
    return weights * (high - low) / (points - 1) / 3


def _crossing(stage: _Stage, information: float, bound: float, drift: float) -> tuple[float, float]:
    """P(cross above, cross below at this look, not before) for boundary ``bound`` on Z."""
    if not math.isfinite(bound) or stage.mass.size == 0:
        return 0.0, 0.0
    sd = math.sqrt(information - stage.information)
    b = bound * math.sqrt(information)
    shifted = stage.grid + drift * (information - stage.information)
    upper = float(stage.mass @ stats.norm.sf((b - shifted) / sd))
    lower = float(stage.mass @ stats.norm.cdf((-b - shifted) / sd))
    return upper, lower


def _advance(stage: _Stage, information: float, bound: float, drift: float, points: int) -> _Stage:
    """The sub-density of ``S_k`` on the paths that have not crossed by look ``k`` (JT ch. 19)."""
    centre, half = drift * information, _WIDTH * math.sqrt(information)
    b = bound * math.sqrt(information)
    low, high = max(-b, centre - half), min(b, centre + half)
    if low >= high or stage.mass.size == 0:
        return _Stage(information, np.zeros(0), np.zeros(0))
    delta = information - stage.information
    sd = math.sqrt(delta)
    grid = np.linspace(low, high, points)
    x = (grid[:, None] - stage.grid[None, :] - drift * delta) / sd
    density = (np.exp(-0.5 * x * x) @ stage.mass) / (sd * _SQRT_2PI)
    return _Stage(information, grid, _simpson_weights(low, high, points) * density)


def _solve_boundary(stage: _Stage, information: float, target: float) -> float:
    """The ``c`` with P₀(cross at this look, not before) = ``target`` (∞ when nothing to spend)."""
    if target <= 1e-300:
        return math.inf
    if stage.information == 0:
        return float(stats.norm.isf(target / 2))

    def excess(c: float) -> float:
        return sum(_crossing(stage, information, c, 0.0)) - target

    return float(optimize.brentq(excess, 0.0, _MAX_BOUNDARY, xtol=1e-10))


def _fractions(values: ArrayLike, name: str = "information_fractions") -> FloatArray:
    try:
        t = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise AnalyticsError(f"{name} must be numbers, got {values!r}.") from exc
    if t.size == 0 or not np.all(np.isfinite(t)) or t[0] <= 0 or t[-1] > 1:
        raise AnalyticsError(f"{name} must be fractions in (0, 1], got {t.tolist()}.")
    if np.any(np.diff(t) <= 0):
        raise AnalyticsError(f"{name} must increase strictly, got {t.tolist()}.")
    return t


def sequential_boundaries(
    information_fractions: ArrayLike, alpha: float = 0.05, spending: str = "obrien_fleming"
) -> FloatArray:
    """Two-sided Lan–DeMets boundaries on the z scale: stop at look ``k`` when ``|Z_k| ≥ c_k``.

    Parameters
    ----------
    information_fractions : increasing shares of the planned information (for equal arms, the
        sample size so far over the planned maximum), in (0, 1].
    alpha : overall two-sided false-positive rate.
    spending : ``"obrien_fleming"`` (strict early, close to 1.96 at the end) or ``"pocock"``
        (about the same bar at every look).

    >>> sequential_boundaries([0.2, 0.4, 0.6, 0.8, 1.0]).round(3).tolist()
    [4.877, 3.357, 2.68, 2.29, 2.031]
    """
    check_alpha(alpha)
    check_spending(spending)
    t = _fractions(information_fractions)
    points = _points_needed(t)
    stage, spent = _START, 0.0
    bounds = np.empty(t.size)
    for k, fraction in enumerate(t):
        cumulative = alpha_spending(float(fraction), alpha, spending)
        bounds[k] = _solve_boundary(stage, float(fraction), cumulative - spent)
        spent = max(spent, cumulative)
        stage = _advance(stage, float(fraction), bounds[k], 0.0, points)
    return bounds


def sequential_power(
    information_fractions: ArrayLike, boundaries: ArrayLike, drift: float
) -> float:
    """Probability that ``|Z_k| ≥ c_k`` at some look when ``Z_k`` has mean ``drift·√t_k``.

    ``drift`` is the standardised effect at full information (``E[Z]`` of a fixed test run to
    the maximum); ``drift = 0`` gives the overall false-positive rate of the boundaries.

    >>> c = sequential_boundaries([0.5, 1.0])
    >>> round(sequential_power([0.5, 1.0], c, 0.0), 4)
    0.05
    """
    t = _fractions(information_fractions)
    c = np.asarray(boundaries, dtype=float).ravel()
    if c.shape != t.shape or np.any(np.isnan(c)) or np.any(c <= 0):
        raise AnalyticsError(
            f"boundaries must be {t.size} positive numbers (one per look), got {c.tolist()}."
        )
    if not (is_real(drift) and math.isfinite(drift)):
        raise AnalyticsError(f"drift must be a finite number, got {drift!r}.")
    points = _points_needed(t)
    stage, total = _START, 0.0
    for fraction, bound in zip(t, c, strict=True):
        total += sum(_crossing(stage, float(fraction), float(bound), drift))
        stage = _advance(stage, float(fraction), float(bound), drift, points)
    return min(total, 1.0)


def drift_for_power(information_fractions: ArrayLike, boundaries: ArrayLike, power: float) -> float:
    """The drift θ at which :func:`sequential_power` equals ``power``."""
    zero = sequential_power(information_fractions, boundaries, 0.0)
    if not zero < power < 1:
        raise AnalyticsError(f"power must be between {zero:.4g} (alpha) and 1, got {power!r}.")

    def shortfall(drift: float) -> float:
        return sequential_power(information_fractions, boundaries, drift) - power

    high = 40.0
    while shortfall(high) < 0:  # a tiny alpha or a huge power needs a larger drift
        high *= 2
        if high > 1e4:
            raise AnalyticsError(f"no drift reaches power {power!r} with these boundaries.")
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-8))


# --- a monitor for a live experiment -------------------------------------------------------


@dataclass(frozen=True)
class SequentialLook:
    """One interim (or final) analysis of a :class:`SequentialTest`.

    ``fraction`` is the share of the planned information, capped at 1 (the argument of the
    spending function); ``boundary`` is ``inf`` when no false-positive budget was left to spend;
    ``alpha_spent`` is cumulative.
    """

    look: int
    information: float
    fraction: float
    boundary: float
    z: float
    crossed: bool
    alpha_spent: float
    final: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not math.isfinite(self.boundary):
            data["boundary"] = None  # JSON has no infinity
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequentialLook:
        try:
            boundary = data["boundary"]
            return cls(
                look=int(data["look"]),
                information=float(data["information"]),
                fraction=float(data["fraction"]),
                boundary=math.inf if boundary is None else float(boundary),
                z=float(data["z"]),
                crossed=bool(data["crossed"]),
                alpha_spent=float(data["alpha_spent"]),
                final=bool(data.get("final", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AnalyticsError(f"a stored look is incomplete or malformed: {exc!r}.") from exc


class SequentialTest:
    """Monitor a live experiment whose looks come at information levels not known in advance.

    Each :meth:`look` spends ``α(min(1, I/I_max))`` cumulatively (``final=True`` spends all that
    is left) and finds the new boundary from the joint distribution of the z statistics at the
    information levels actually seen (``corr(Z_j, Z_k) = √(I_j/I_k)``); earlier boundaries never
    move. Information is anything proportional to ``1/Var`` of the estimate — for two equal arms
    the customers per arm will do. Once a look crosses its boundary, or after the final look,
    the test has stopped and further looks raise :class:`AnalyticsError` (start a new test).
    :meth:`to_dict` / :meth:`from_dict` store the state as JSON and resume it.

    >>> test = SequentialTest(alpha=0.05, max_information=1000)
    >>> first = test.look(200, z=2.5)
    >>> round(first.boundary, 3), first.crossed
    (4.877, False)
    >>> test.look(1000, z=2.1, final=True).crossed
    True
    """

    def __init__(
        self,
        alpha: float = 0.05,
        spending: str = "obrien_fleming",
        max_information: float = 1.0,
    ) -> None:
        check_alpha(alpha)
        check_spending(spending)
        if not (is_real(max_information) and 0 < max_information < math.inf):
            raise AnalyticsError(
                f"max_information must be a positive number, got {max_information!r}."
            )
        self.alpha = float(alpha)
        self.spending = spending
        self.max_information = float(max_information)
        self.looks: list[SequentialLook] = []
        self._stages: list[_Stage] = []  # null-hypothesis densities after each look (a cache)
        self._points = _MIN_POINTS

    @property
    def stopped(self) -> bool:
        """True once a boundary was crossed or the final look was taken."""
        return bool(self.looks) and (self.looks[-1].crossed or self.looks[-1].final)

    @property
    def alpha_spent(self) -> float:
        return self.looks[-1].alpha_spent if self.looks else 0.0

    def _last_stage(self, ratio: float) -> _Stage:
        ratios = [look.information / self.max_information for look in self.looks]
        points = _points_needed(np.array([*ratios, ratio]))
        if points > self._points or len(self._stages) != len(self.looks):
            self._points = max(points, self._points)
            stage, self._stages = _START, []
            for look, r in zip(self.looks, ratios, strict=True):
                stage = _advance(stage, r, look.boundary, 0.0, self._points)
                self._stages.append(stage)
        return self._stages[-1] if self._stages else _START

    def look(self, information: float, z: float, final: bool = False) -> SequentialLook:
        """Analyse the data so far: ``z`` is the test statistic at ``information``."""
        if self.stopped:
            last = self.looks[-1]
            why = "crossed its boundary" if last.crossed else "had its final look"
            raise AnalyticsError(f"the test {why} at look {last.look}; start a new test.")
        previous = self.looks[-1].information if self.looks else 0.0
        if final and self.looks and is_real(information) and information == previous:
            return self._final_on_the_same_data(z)
        if not (is_real(information) and previous < information < math.inf):
            raise AnalyticsError(
                f"information must be a number above the previous look's {previous:g}, "
                f"got {information!r}."
            )
        if not (is_real(z) and math.isfinite(z)):
            raise AnalyticsError(f"z must be a finite number, got {z!r}.")
        information, z = float(information), float(z)
        ratio = information / self.max_information
        fraction = min(1.0, ratio)
        cumulative = self.alpha if final else alpha_spending(fraction, self.alpha, self.spending)
        cumulative = max(cumulative, self.alpha_spent)
        stage = self._last_stage(ratio)
        boundary = _solve_boundary(stage, ratio, cumulative - self.alpha_spent)
        self._stages.append(_advance(stage, ratio, boundary, 0.0, self._points))
        result = SequentialLook(
            look=len(self.looks) + 1,
            information=information,
            fraction=fraction,
            boundary=boundary,
            z=z,
            crossed=abs(z) >= boundary,
            alpha_spent=cumulative,
            final=final,
        )
        self.looks.append(result)
        return result

    def _final_on_the_same_data(self, z: float) -> SequentialLook:
        """The final look when nothing was learnt since the last one (no new event): the rest
        of alpha is spent on the same statistic, with the boundary ``c`` that makes
        P₀(c ≤ |Z_{k−1}| < c_{k−1}, not stopped before) the budget left (read off the last
        look's sub-density; on its grid, so never more than the budget)."""
        if not (is_real(z) and math.isfinite(z)):
            raise AnalyticsError(f"z must be a finite number, got {z!r}.")
        last = self.looks[-1]
        # (the argument only sizes the grid for a next look; twice the last keeps it as is)
        stage = self._last_stage(2 * last.information / self.max_information)
        target = self.alpha - self.alpha_spent
        boundary = math.inf
        if target > 1e-300 and stage.mass.size and stage.information > 0:
            size = np.abs(stage.grid) / math.sqrt(stage.information)
            order = np.argsort(-size)
            spent = np.cumsum(stage.mass[order])
            fits = int(np.searchsorted(spent, target, side="right"))
            if fits > 0:
                boundary = float(size[order][fits - 1])
        result = SequentialLook(
            look=len(self.looks) + 1,
            information=last.information,
            fraction=last.fraction,
            boundary=boundary,
            z=float(z),
            crossed=abs(float(z)) >= boundary,
            alpha_spent=self.alpha,
            final=True,
        )
        self.looks.append(result)
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "spending": self.spending,
            "max_information": self.max_information,
            "looks": [look.to_dict() for look in self.looks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequentialTest:
        if not isinstance(data, dict) or not {"alpha", "spending", "max_information"} <= set(data):
            raise AnalyticsError(
                "a stored sequential test needs alpha, spending, max_information and looks."
            )
        test = cls(data["alpha"], data["spending"], data["max_information"])
        looks = data.get("looks", [])
        if not isinstance(looks, list):
            raise AnalyticsError(f"looks must be a list, got {type(looks).__name__}.")
        test.looks = [SequentialLook.from_dict(look) for look in looks]
        return test

    def __repr__(self) -> str:
        return (
            f"SequentialTest(alpha={self.alpha}, spending={self.spending!r}, "
            f"max_information={self.max_information:g}, looks={len(self.looks)})"
        )
