"""Shifted-beta-geometric (sBG) model of contractual retention.

References
----------
.. [FH07] Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer Retention.
   *Journal of Interactive Marketing* 21(1), 76-90.
.. [FH10] Fader, P. S. and Hardie, B. G. S. (2010). Customer-Base Valuation in a Contractual
   Setting: The Perils of Ignoring Heterogeneity. *Marketing Science* 29(1), 85-93.

Each customer churns at the end of any period with probability ``θ ~ Beta(α, β)``:

* ``P(T = t) = B(α+1, β+t-1) / B(α, β)``           ([FH07] eq. 7)
* ``S(t) = B(α, β+t) / B(α, β)``                     ([FH07] eq. 8)
* ``r_t = S(t)/S(t-1) = (β+t-1)/(α+β+t-1)``          ([FH07] eq. 9)
* ``DERL(d | n-1 renewals) = (β+n-1)/(α+β+n-1) · 2F1(1, β+n; α+β+n; 1/(1+d))`` ([FH10] eq. 6)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from ._math import FloatArray, as_float_array, betaln
from .base import BaseEstimator
from .errors import AnalyticsError

__all__ = ["ShiftedBetaGeometricModel"]


class ShiftedBetaGeometricModel(BaseEstimator):
    """sBG retention model fitted from the survivor counts of one cohort.

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty ``penalizer_coef * (α² + β²)`` on the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        ``alpha``, ``beta`` of the Beta distribution of the per-period churn probability.
    log_likelihood_ : float
        ``Σ_t (n_{t-1} - n_t) log P(T=t) + n_last log S(last)`` ([FH07] eq. 10).
    standard_errors_ : dict
        Asymptotic standard errors from the inverse observed information.
    n_periods_ : int
        Number of periods of the survivor curve the model was fitted on.

    References
    ----------
    Fader & Hardie (2007), *J. Interactive Marketing* 21(1). Their "regular" cohort gives
    α = 0.704, β = 1.182, the "high end" cohort α = 0.668, β = 3.806.

    Examples
    --------
    Survivors of Fader & Hardie's "regular" cohort of 1,000 customers over 7 years:

    >>> from soloist.analytics import ShiftedBetaGeometricModel
    >>> survivors = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> model = ShiftedBetaGeometricModel().fit(survivors)
    >>> {name: round(value, 3) for name, value in model.params_.items()}
    {'alpha': 0.704, 'beta': 1.182}

    Retention rises with tenure, as the customers most likely to churn leave first:

    >>> model.retention_rate([1, 2, 5, 12]).round(3).tolist()
    [0.627, 0.756, 0.88, 0.945]
    >>> round(model.discounted_expected_residual_lifetime(0.1, renewals=0), 3)
    2.964
    """

    _param_names = ("alpha", "beta")

    @staticmethod
    def _survivor_counts(survivors: Any) -> tuple[FloatArray, FloatArray]:
        """Validated survivor counts and the number lost in each period ``1..``."""
        n = as_float_array(survivors, "survivors")
        if n.size < 2:
            raise AnalyticsError("survivors needs the cohort size plus at least one period")
        if not np.all(np.isfinite(n)) or np.any(n < 0) or np.any(n != np.round(n)):
            raise AnalyticsError("survivors must be whole numbers >= 0")
        if n[0] <= 0:
            raise AnalyticsError("survivors[0] (the cohort size) must be > 0")
        lost = n[:-1] - n[1:]
        if np.any(lost < 0):
            raise AnalyticsError("survivors must be non-increasing over time")
        return n, lost

    def fit(self, survivors: Any) -> ShiftedBetaGeometricModel:
        """Fit from ``survivors[t]`` = customers still active after ``t`` periods.

        ``survivors[0]`` is the size of the cohort at acquisition; counts must be whole numbers
        and non-increasing, with at least one churn and two periods.

        Returns
        -------
        self
        """
        penalizer = self._check_penalizer()
        n, lost = self._survivor_counts(survivors)
        if lost.sum() == 0:
            raise AnalyticsError("no customer churned: the sBG model is not identified")
        t = np.arange(1, n.size, dtype=np.float64)
        last = float(n.size - 1)
        alive = float(n[-1])
        total = float(n[0])

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            a, b = np.exp(z)
            lb = betaln(a, b)
            dig_ab = special.digamma(a + b)
            log_p = betaln(a + 1.0, b + t - 1.0) - lb
            log_s = betaln(a, b + last) - lb
            ll = float(lost @ log_p) + alive * log_s
            dig_abt = special.digamma(a + b + t)
            dp_a = 1.0 / a + dig_ab - dig_abt
            dp_b = special.digamma(b + t - 1.0) - dig_abt - special.digamma(b) + dig_ab
            ds_a = dig_ab - special.digamma(a + b + last)
            ds_b = (
                special.digamma(b + last)
                - special.digamma(a + b + last)
                - special.digamma(b)
                + dig_ab
            )
            grad = np.array([float(lost @ dp_a) + alive * ds_a, float(lost @ dp_b) + alive * ds_b])
            if not np.isfinite(ll):
                return np.inf, np.zeros(2)
            return -ll / total, -grad / total * np.exp(z)

        self._maximise(objective, [(1.0, 1.0), (0.5, 5.0)], total, penalizer)
        self.n_periods_: int = int(last)
        return self

    def score(self, survivors: Any) -> float:
        """Log-likelihood ([FH07] eq. 10) of a survivor curve per member of its cohort.

        Higher is better; on the curve the model was fitted on it equals
        ``log_likelihood_ / survivors[0]``. Use it to compare fits on another cohort's curve.
        The penalty is not included.
        """
        a, b = self._check_fitted()
        n, lost = self._survivor_counts(survivors)
        t = np.arange(1, n.size, dtype=np.float64)
        lb = betaln(a, b)
        log_p = betaln(a + 1.0, b + t - 1.0) - lb
        log_s = betaln(a, b + float(n.size - 1)) - lb
        return float((lost @ log_p + n[-1] * log_s) / n[0])

    # ------------------------------------------------------------------ predictions
    @staticmethod
    def _periods(t: Any, minimum: int) -> FloatArray:
        tt = as_float_array(t, "t")
        if not np.all(np.isfinite(tt)) or np.any(tt < minimum) or np.any(tt != np.round(tt)):
            raise AnalyticsError(f"t must hold whole numbers of periods >= {minimum}")
        return tt

    def survival(self, t: Any) -> Any:
        """``S(t)``: share of the cohort still active after ``t`` periods (eq. 8)."""
        a, b = self._check_fitted()
        tt = self._periods(t, 0)
        out = np.exp(betaln(a, b + tt) - betaln(a, b))
        return out if np.ndim(t) else float(out[0])

    def probability_churn(self, t: Any) -> Any:
        """``P(T = t)``: share of the cohort that churns in period ``t >= 1`` (eq. 7)."""
        a, b = self._check_fitted()
        tt = self._periods(t, 1)
        out = np.exp(betaln(a + 1.0, b + tt - 1.0) - betaln(a, b))
        return out if np.ndim(t) else float(out[0])

    def retention_rate(self, t: Any) -> Any:
        """``r_t = (β+t-1)/(α+β+t-1)``: retention in period ``t >= 1`` (eq. 9)."""
        a, b = self._check_fitted()
        tt = self._periods(t, 1)
        out = (b + tt - 1.0) / (a + b + tt - 1.0)
        return out if np.ndim(t) else float(out[0])

    def expected_lifetime(self) -> float:
        """Mean number of periods a new customer stays, ``E[1/θ] = (α+β-1)/(α-1)``.

        Infinite when ``α <= 1`` (a heavy tail of near-immortal customers).
        """
        a, b = self._check_fitted()
        return float((a + b - 1.0) / (a - 1.0)) if a > 1 else float("inf")

    def discounted_expected_lifetime(self, d: float) -> float:
        """DEL: ``Σ_{t>=0} S(t)/(1+d)^t = 2F1(1, β; α+β; 1/(1+d))`` ([FH10] eq. 5)."""
        a, b = self._check_fitted()
        if not np.isfinite(d) or d <= 0:
            raise AnalyticsError(f"discount rate d must be > 0, got {d!r}")
        return float(special.hyp2f1(1.0, b, a + b, 1.0 / (1.0 + d)))

    def discounted_expected_residual_lifetime(self, d: float, renewals: int) -> float:
        """DERL of a customer who has made ``renewals`` (= n-1) renewals ([FH10] eq. 6).

        ``DERL = (β+n-1)/(α+β+n-1) · 2F1(1, β+n; α+β+n; 1/(1+d))`` — the expected number of
        further payments, discounted at rate ``d`` per period, the next one one period away.
        """
        a, b = self._check_fitted()
        if not np.isfinite(d) or d <= 0:
            raise AnalyticsError(f"discount rate d must be > 0, got {d!r}")
        if int(renewals) != renewals or renewals < 0:
            raise AnalyticsError(f"renewals must be a whole number >= 0, got {renewals!r}")
        n = float(renewals) + 1.0
        prefactor = (b + n - 1.0) / (a + b + n - 1.0)
        return float(prefactor * special.hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + d)))

    def expected_survivors(self, cohort_size: float, periods: int) -> FloatArray:
        """Projected survivor counts ``cohort_size · S(t)`` for ``t = 0..periods``."""
        if periods < 0 or int(periods) != periods:
            raise AnalyticsError("periods must be a whole number >= 0")
        return np.asarray(
            cohort_size * self.survival(np.arange(int(periods) + 1)), dtype=np.float64
        )
