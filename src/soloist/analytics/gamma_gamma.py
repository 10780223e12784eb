"""Gamma-Gamma model of spend per transaction.

Reference: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: Using Iso-Value
Curves for Customer Base Analysis. *Journal of Marketing Research* 42(4), 415-430.

The value of each transaction is ``Gamma(p, ν)``; ``ν`` varies across customers as
``Gamma(q, γ)`` (we call ``γ`` ``v`` as ``lifetimes`` does). For a customer with ``x``
transactions of mean value ``m`` the likelihood is (eq. 3 with the ``z̄`` sufficient statistic)::

    L(p, q, v | x, m) = Γ(px+q) / (Γ(px) Γ(q)) · v^q m^{px-1} x^{px} / (v + x m)^{px+q}

and the conditional expected spend (eq. 5) is
``E[M | x, m] = (q-1)/(px+q-1) · pv/(q-1) + px/(px+q-1) · m``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from ._frames import to_output
from ._math import FloatArray, as_float_array
from ._rows import compress_rows, unique_inverse, weighted_sum
from .base import BaseEstimator, PurchaseModel
from .errors import AnalyticsError

__all__ = ["GammaGammaModel", "discounted_purchase_value"]

#: months -> model periods, as in lifetimes' ``customer_lifetime_value``
_PERIODS_PER_MONTH = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 30.0 * 24.0}


class GammaGammaModel(BaseEstimator):
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005, *JMR* 42(4)).

    Parameters
    ----------
    penalizer_coef : float, default 0
        L2 penalty ``penalizer_coef * (p² + q² + v²)`` on the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        ``p`` (shape of the spend per transaction) and ``q``, ``v`` (shape and rate of the
        Gamma distribution of its scale across customers) — maximum-likelihood estimates.
    log_likelihood_ : float
        Maximised log-likelihood (eq. 3 summed over the repeat customers).
    standard_errors_ : dict
        Asymptotic standard errors from the inverse observed information.
    n_customers_ : int
        Number of repeat customers the model was fitted on.

    Notes
    -----
    Fit only on customers with at least one repeat purchase: rows with ``frequency == 0`` are
    ignored (they carry no spend information). The model assumes spend is independent of the
    purchase process; check ``corr(frequency, monetary_value)`` is small.

    References
    ----------
    Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
    *JMR* 42(4): likelihood eq. 3, conditional expectation eq. 5. On the CDNOW sample's repeat
    buyers they report p = 6.25, q = 3.74, γ = 15.44 (reproduced by the test suite from the
    CDNOW transaction log, which is not shipped with the package).

    Examples
    --------
    Twelve repeat customers, their number of repeat purchases and mean spend:

    >>> from soloist.analytics import GammaGammaModel
    >>> frequency = [1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 12]
    >>> spend = [12.0, 95.0, 20.0, 64.0, 15.0, 52.0, 28.0, 80.0, 18.0, 45.0, 22.0, 36.0]
    >>> model = GammaGammaModel().fit(frequency, spend)
    >>> round(model.expected_average_spend(), 2)  # a new customer
    38.4

    A customer's own mean is shrunk towards the population mean, the less the fewer purchases
    it rests on:

    >>> [round(float(v), 2) for v in model.conditional_expected_average_profit([1, 12], [60, 60])]
    [41.74, 53.24]
    """

    _param_names = ("p", "q", "v")

    @staticmethod
    def _repeat_rows(
        frequency: Any, monetary_value: Any, weights: Any
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Validated repeat customers' ``(x, m)`` as distinct rows with their weights."""
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        if x.size != m.size:
            raise AnalyticsError(
                f"frequency and monetary_value differ in length ({x.size} vs {m.size})"
            )
        w = np.ones_like(x) if weights is None else as_float_array(weights, "weights")
        if w.size != x.size or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise AnalyticsError("weights must be finite, >= 0 and one per customer")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(m))):
            raise AnalyticsError("frequency and monetary_value must be finite")
        if np.any(x < 0) or np.any(x != np.round(x)):
            raise AnalyticsError("frequency must hold whole numbers >= 0")
        use = x > 0
        if np.any(m[use] <= 0):
            raise AnalyticsError("monetary_value must be > 0 for customers with frequency > 0")
        (x, m), w = compress_rows([x[use], m[use]], w[use])
        return x, m, w

    def fit(self, frequency: Any, monetary_value: Any, weights: Any = None) -> GammaGammaModel:
        """Fit on repeat customers' ``frequency`` and mean spend ``monetary_value``.

        Returns
        -------
        self
        """
        penalizer = self._check_penalizer()
        x, m, w = self._repeat_rows(frequency, monetary_value, weights)
        total = float(w.sum())
        if total < 10:
            raise AnalyticsError(
                f"GammaGammaModel needs at least 10 repeat customers, got {total:g}"
            )
        log_m = np.log(m)
        xm = x * m
        # the special functions depend on x only: evaluate them per distinct x
        ux, ix = unique_inverse(x)
        # Σ w (px - 1) log m + px log x = p Σ w x (log m + log x) - Σ w log m
        s_xlog = weighted_sum(w, x * (log_m + np.log(x)))
        s_logm = weighted_sum(w, log_m)
        wx = np.bincount(ix, weights=w, minlength=ux.size)
        wx_rows = w * x

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            p, q, v = (float(t) for t in np.exp(z))
            pux = p * ux
            gl_u = special.gammaln(pux + q) - special.gammaln(pux)
            dig_pxq_u = special.digamma(pux + q)
            dig_px_u = special.digamma(pux)
            # per-row work: one log and one reciprocal; Σ w (px+q) g = p Σ wx g + q Σ w g
            log_vxm = np.log(v + xm)
            inv_vxm = 1.0 / (v + xm)
            s_wx_log, s_w_log = weighted_sum(wx_rows, log_vxm), weighted_sum(w, log_vxm)
            s_wx_inv, s_w_inv = weighted_sum(wx_rows, inv_vxm), weighted_sum(w, inv_vxm)
            ll = (
                float(wx @ gl_u)
                - total * float(special.gammaln(q))
                + total * q * np.log(v)
                + p * s_xlog
                - s_logm
                - (p * s_wx_log + q * s_w_log)
            )
            g_p = float(wx @ (ux * (dig_pxq_u - dig_px_u))) + s_xlog - s_wx_log
            g_q = (
                float(wx @ dig_pxq_u)
                - total * float(special.digamma(q))
                + total * np.log(v)
                - s_w_log
            )
            g_v = total * q / v - (p * s_wx_inv + q * s_w_inv)
            f = -ll / total
            if not np.isfinite(f):
                return np.inf, np.zeros(3)
            return f, -np.array([g_p * p, g_q * q, g_v * v]) / total

        mean_m = float(np.average(m, weights=w))
        self._maximise(objective, [(1.0, 1.0, 1.0), (1.0, 2.0, mean_m)], total, penalizer)
        self.n_customers_: int = round(total)
        return self

    def score(self, frequency: Any, monetary_value: Any, weights: Any = None) -> float:
        """Mean log-likelihood (eq. 3) per repeat customer under the fitted parameters.

        Higher is better. Rows with ``frequency == 0`` are ignored, as in :meth:`fit`; on the
        fitting data the score equals ``log_likelihood_ / n_customers_``. The penalty is not
        included. Use it on held-out customers to compare fits, e.g. values of
        ``penalizer_coef`` (see :meth:`~soloist.analytics.base.PurchaseModel.score` for why
        this is not ``GridSearchCV``-shaped).
        """
        p, q, v = self._check_fitted()
        x, m, w = self._repeat_rows(frequency, monetary_value, weights)
        if not np.any(w > 0):
            raise AnalyticsError("no repeat customer (frequency > 0) to score")
        px = p * x
        ll = (
            special.gammaln(px + q)
            - special.gammaln(px)
            - float(special.gammaln(q))
            + q * np.log(v)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(v + x * m)
        )
        return float(weighted_sum(w, ll) / w.sum())

    def expected_average_spend(self) -> float:
        """Population mean spend per transaction ``pv/(q-1)`` (infinite if ``q <= 1``)."""
        p, q, v = self._check_fitted()
        return float(p * v / (q - 1.0)) if q > 1 else float("inf")

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any) -> Any:
        """Expected mean spend per transaction of each customer (eq. 5).

        Customers with ``frequency == 0`` get the population mean ``pv/(q-1)``.
        """
        p, q, v = self._check_fitted()
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        if x.size != m.size:
            raise AnalyticsError("frequency and monetary_value differ in length")
        out = (p * (v + x * m)) / (p * x + q - 1.0)
        return to_output(np.asarray(out, dtype=np.float64), frequency)

    def customer_lifetime_value(
        self,
        purchase_model: PurchaseModel,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary_value: Any,
        time: int = 12,
        discount_rate: float = 0.01,
        margin: float = 1.0,
        freq: str = "D",
    ) -> Any:
        """Discounted expected value of each customer over the next ``time`` months.

        ``CLV = Σ_{i=1..time} margin · E[M] · (E[X(iΔ)] - E[X((i-1)Δ)]) / (1+d)^i``, where
        ``E[X(t)]`` is ``purchase_model.expected_purchases`` (conditional on the customer's
        history), ``E[M]`` the conditional expected average profit and ``Δ`` the number of
        model periods per month (``freq``: "D" 30, "W" 4.345, "M" 1, "H" 720 — the
        ``lifetimes`` convention). ``discount_rate`` is per month.
        """
        spend = np.asarray(
            self.conditional_expected_average_profit(frequency, monetary_value), dtype=np.float64
        )
        clv = discounted_purchase_value(
            purchase_model, spend, frequency, recency, T, time, discount_rate, margin, freq
        )
        return to_output(clv, frequency)


def discounted_purchase_value(
    purchase_model: PurchaseModel,
    spend: Any,
    frequency: Any,
    recency: Any,
    T: Any,
    time: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    freq: str = "D",
) -> FloatArray:
    """``Σ_{i=1..time} margin · spend · (E[X(iΔ)] - E[X((i-1)Δ)]) / (1+d)^i`` per customer.

    The sum of :meth:`GammaGammaModel.customer_lifetime_value`, for any per-customer expected
    ``spend`` (an array, or one number for everyone).
    """
    if freq not in _PERIODS_PER_MONTH:
        raise AnalyticsError(f"freq must be one of {sorted(_PERIODS_PER_MONTH)}, got {freq!r}")
    if int(time) != time or time < 1:
        raise AnalyticsError(f"time must be a whole number of months >= 1, got {time!r}")
    if not np.isfinite(discount_rate) or discount_rate <= -1:
        raise AnalyticsError(f"discount_rate must be > -1, got {discount_rate!r}")
    if not np.isfinite(margin):
        raise AnalyticsError("margin must be finite")
    spend = np.broadcast_to(np.asarray(spend, dtype=np.float64), np.shape(frequency))
    step = _PERIODS_PER_MONTH[freq]
    clv = np.zeros_like(spend)
    previous = np.zeros_like(spend)
    for i in range(1, int(time) + 1):
        cumulative = np.asarray(
            purchase_model.expected_purchases(i * step, frequency, recency, T),
            dtype=np.float64,
        )
        clv += margin * spend * (cumulative - previous) / (1.0 + discount_rate) ** i
        previous = cumulative
    return clv
