"""Shared machinery of the analytics estimators.

Every estimator follows scikit-learn conventions: ``__init__`` only stores keyword
hyper-parameters, ``fit`` validates its input and returns ``self``, and everything learned from
data ends in an underscore (``params_``, ``log_likelihood_``, ``standard_errors_``...).
:class:`BaseEstimator` provides scikit-learn's ``get_params``/``set_params`` (so
``sklearn.base.clone`` works) without importing scikit-learn, and ``score`` is the mean
log-likelihood per customer.

Fitting is maximum likelihood on the logarithm of the (positive) parameters with L-BFGS-B and
analytic gradients. Standard errors come from the inverse of the observed information (the
Hessian of the negative log-likelihood at the optimum), obtained by central differences of the
analytic gradient (``2k`` gradient calls) and mapped to the natural scale with the delta method.

Speed: identical rows are compressed into weights, the models evaluate special functions once
per distinct value (of ``x``, ``T``, ``t_x``...) rather than once per customer, weighted sums
avoid BLAS (whose worker threads, woken by a large matrix-vector product, otherwise keep the two
cores busy and slow down every following L-BFGS-B step), and the optimiser is run from the first
starting point only, the others serving as fall-backs when it fails.

Large data (more than ``WARM_START_ROWS`` distinct rows, as unrounded times give): the fit
starts from a fit on a random sample of ``WARM_SAMPLE_ROWS`` rows and polishes on all rows with
quasi-Newton steps whose first inverse Hessian is the sample's (:func:`._optimise.polish`); the
standard errors then take one-sided differences from the last gradient (``k`` calls). The
models may also sum some rows in closed form (:meth:`PurchaseModel._loglik_sum`).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np
from scipy import optimize

from ._frames import to_output
from ._math import FloatArray, as_float_array
from ._optimise import polish
from ._rows import compress_rows, weighted_sum
from .errors import AnalyticsError, NotFittedError

__all__ = ["BaseEstimator", "PurchaseModel", "compress_rows"]

#: Log-parameters are confined to ``[-LOG_BOUND, LOG_BOUND]``; an optimum on that boundary means
#: a parameter ran off to 0 or infinity, i.e. the data do not identify the model.
LOG_BOUND = 18.0

#: A fit whose log-parameter has a standard error above this (one SE spans a factor e^10 ≈
#: 22,000) sits on a flat ridge of the likelihood: the data do not identify that parameter.
MAX_LOG_STANDARD_ERROR = 10.0

#: fits on more distinct rows than this start from a fit on :data:`WARM_SAMPLE_ROWS` of them
WARM_START_ROWS = 200_000
WARM_SAMPLE_ROWS = 50_000

Objective = Callable[[FloatArray], tuple[float, FloatArray]]


_BLAS_CONTROLLER: Any = None


def _single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread (no-op without ``threadpoolctl``).

    L-BFGS-B calls BLAS/LAPACK on tiny matrices at every step; with OpenBLAS's default of one
    thread per core, waking and parking the worker threads costs milliseconds per step on a
    busy machine — several times the whole likelihood evaluation.
    """
    global _BLAS_CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


class BaseEstimator:
    """Common estimator behaviour: scikit-learn's parameter API, optimisation, standard errors.

    Implements scikit-learn's estimator contract — :meth:`get_params`, :meth:`set_params`,
    ``__sklearn_tags__`` and ``__sklearn_is_fitted__`` — so ``sklearn.base.clone``,
    ``sklearn.utils.validation.check_is_fitted`` and hand-written model-selection loops work.
    It does so without inheriting from ``sklearn.base.BaseEstimator``: importing that module
    loads most of scikit-learn, SciPy's statistics and pandas (about a second, more than the
    whole model module), which the lazily imported analytics package is meant to avoid.

    Subclasses declare their hyper-parameters as keyword arguments of ``__init__`` and store
    each one, unchanged, under the same name; everything learned by ``fit`` ends in ``_``.
    """

    #: literature names of the parameters, in optimisation order
    _param_names: tuple[str, ...] = ()

    def __init__(self, *, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = penalizer_coef

    # ------------------------------------------------------------------ scikit-learn API
    @classmethod
    def _get_param_names(cls) -> list[str]:
        """Names of the hyper-parameters: the arguments of ``__init__``, sorted."""
        names = []
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:  # pragma: no cover - a programming error
                raise TypeError(f"{cls.__name__}.__init__ must not take *args")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyper-parameters of this estimator, as scikit-learn's ``get_params``.

        ``deep`` is accepted for compatibility (nested estimators would be expanded as
        ``name__param``; the analytics estimators have none).
        """
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any) -> Self:
        """Set hyper-parameters by name and return ``self``, as scikit-learn's ``set_params``.

        Raises :class:`~soloist.analytics.errors.AnalyticsError` (a ``ValueError``, as
        scikit-learn expects) for an unknown name. Fitted attributes are left alone: call
        ``fit`` again for the new values to take effect.
        """
        valid = self._get_param_names()
        for key, value in params.items():
            name, nested, sub_key = key.partition("__")
            if name not in valid:
                raise AnalyticsError(
                    f"invalid parameter {name!r} for {type(self).__name__}; valid parameters "
                    f"are {valid}"
                )
            if nested:
                getattr(self, name).set_params(**{sub_key: value})
            else:
                setattr(self, name, value)
        return self

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's default estimator tags (scikit-learn >= 1.6 asks for them)."""
        from sklearn.base import BaseEstimator as SklearnEstimator

        # the default implementation reads nothing from ``self``
        return SklearnEstimator.__sklearn_tags__(self)

    def __sklearn_is_fitted__(self) -> bool:
        """Whether ``fit`` has succeeded (used by ``sklearn.utils.validation.check_is_fitted``)."""
        return hasattr(self, "params_")

    # ------------------------------------------------------------------ conveniences
    def __repr__(self) -> str:
        """The hyper-parameters before ``fit``, the fitted parameters after."""
        name = type(self).__name__
        if not hasattr(self, "params_"):
            hyper = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
            return f"{name}({hyper})"
        fitted = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{name}({fitted})"

    def _check_fitted(self) -> FloatArray:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit() before predicting"
            )
        return np.array([self.params_[k] for k in self._param_names], dtype=np.float64)

    def _check_penalizer(self) -> float:
        pen = float(self.penalizer_coef)
        if not np.isfinite(pen) or pen < 0:
            raise AnalyticsError(f"penalizer_coef must be a finite number >= 0, got {pen!r}")
        return pen

    # ------------------------------------------------------------------ optimisation
    def _maximise(
        self,
        objective: Objective,
        starts: Sequence[Sequence[float]],
        total_weight: float,
        penalizer: float,
        warm: tuple[FloatArray, FloatArray] | None = None,
    ) -> None:
        """Minimise the mean negative log-likelihood ``objective`` over log-parameters.

        ``objective(log_theta)`` returns the weighted *mean* negative log-likelihood (without
        penalty) and its gradient with respect to ``log_theta``. Sets ``params_``,
        ``log_likelihood_``, ``standard_errors_`` and ``n_iterations_``.

        ``warm`` is a starting point in log-parameters and an approximate inverse Hessian of the
        mean penalised objective there (from a fit on a sample of the rows): BFGS started with
        that curvature converges in a few steps; the starts remain the fall-back.
        """
        k = len(self._param_names)

        def penalised(z: FloatArray) -> tuple[float, FloatArray]:
            f, g = objective(z)
            theta2 = np.exp(2.0 * z)
            return f + penalizer * float(theta2.sum()), g + 2.0 * penalizer * theta2

        best: optimize.OptimizeResult | None = None
        if warm is not None:
            best = polish(penalised, *warm, LOG_BOUND)
        polished = best is not None
        if polished:
            starts = ()
        bounds = [(-LOG_BOUND, LOG_BOUND)] * k
        for start in starts:
            x0 = np.log(np.asarray(start, dtype=np.float64))
            with np.errstate(all="ignore"), _single_threaded_blas():
                res = optimize.minimize(
                    penalised,
                    x0,
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
                )
            finite = np.isfinite(res.fun) and np.all(np.isfinite(res.x))
            if finite and (best is None or res.fun < best.fun):
                best = res
            # the likelihoods are well behaved: a clean convergence inside the bounds from the
            # first start is the optimum; the other starts are fall-backs for hard data sets
            if best is not None and best.success and np.all(np.abs(best.x) < LOG_BOUND - 1e-6):
                break
        if best is None:
            raise AnalyticsError(
                f"{type(self).__name__}: the likelihood is not finite anywhere the optimiser "
                "looked; check the data (all values finite, recency <= T, enough customers)"
            )
        at_bound = np.abs(best.x) >= LOG_BOUND - 1e-6
        if np.any(at_bound):
            names = [self._param_names[i] for i in np.flatnonzero(at_bound)]
            raise AnalyticsError(
                f"{type(self).__name__}: the data do not identify the model — parameter(s) "
                f"{', '.join(names)} ran off to 0 or infinity. Typical causes: too few customers, "
                "no repeat purchases, or no sign of churn; consider penalizer_coef > 0"
            )
        z = best.x
        theta = np.exp(z)
        self.params_: dict[str, float] = {
            n: float(v) for n, v in zip(self._param_names, theta, strict=True)
        }
        if polished:
            # the polish ended on an evaluation at z: reuse it, and its gradient for one-sided
            # differences (k gradient calls instead of 2k on a large data set)
            mean_nll = float(best.fun) - penalizer * float(np.exp(2.0 * z).sum())
            grad_at_z = np.asarray(best.jac) * total_weight
        else:
            mean_nll, _ = objective(z)
            grad_at_z = None
        self.log_likelihood_: float = -mean_nll * total_weight
        self.n_iterations_: int = int(best.nit)
        self.standard_errors_: dict[str, float] = self._standard_errors(
            lambda zz: penalised(zz)[1] * total_weight, z, grad_at_z
        )
        if not all(np.isfinite(v) for v in self.standard_errors_.values()):
            fitted = ", ".join(f"{k}={v:.3g}" for k, v in self.params_.items())
            del self.params_
            raise AnalyticsError(
                f"{type(self).__name__}: the data do not identify the model — the likelihood is "
                f"flat at the optimum ({fitted}; the information matrix is singular or nearly "
                "so). Typical causes: too few customers, no repeat purchases, or no sign of churn; "
                "consider penalizer_coef > 0"
            )

    def _standard_errors(
        self,
        grad: Callable[[FloatArray], FloatArray],
        z: FloatArray,
        grad_at_z: FloatArray | None = None,
    ) -> dict[str, float]:
        """Delta-method SEs from the numerical Hessian of the total NLL in log space.

        Central differences of the gradient, or forward differences from ``grad_at_z`` when
        given (half the calls; the error, of the order of the step, 1e-4, is far below the
        sampling error the standard errors describe).
        """
        k = z.size
        step = 1e-4
        hess = np.empty((k, k))
        for i in range(k):
            e = np.zeros(k)
            e[i] = step
            if grad_at_z is None:
                hess[:, i] = (grad(z + e) - grad(z - e)) / (2.0 * step)
            else:
                hess[:, i] = (grad(z + e) - grad_at_z) / step
        hess = 0.5 * (hess + hess.T)
        theta = np.exp(z)
        ses = np.full(k, np.nan)
        if np.all(np.isfinite(hess)):
            try:
                # an optimum has a positive definite Hessian; a Cholesky factor proves it, where
                # inv() alone lets a flat ridge through as a tiny eigenvalue of either sign
                np.linalg.cholesky(hess)
                cov = np.linalg.inv(hess)
            except np.linalg.LinAlgError:
                cov = None
            if cov is not None and np.all(np.diag(cov) > 0):
                log_ses = np.sqrt(np.diag(cov))
                if np.all(log_ses <= MAX_LOG_STANDARD_ERROR):
                    ses = theta * log_ses
        self.covariance_log_: FloatArray = np.asarray(
            np.linalg.pinv(hess) if np.all(np.isfinite(hess)) else np.full((k, k), np.nan),
            dtype=np.float64,
        )
        return {n: float(s) for n, s in zip(self._param_names, ses, strict=True)}


class PurchaseModel(BaseEstimator):
    """Base of the BTYD purchase models fitted on ``(frequency, recency, T)``."""

    #: natural-scale starting points tried by the optimiser
    _starts: tuple[tuple[float, ...], ...] = ()
    #: minimum number of customers (total weight) required to fit
    _min_customers: int = 10

    def _prepare(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> Any:
        """Data-only precomputation reused by every likelihood evaluation of one fit."""
        raise NotImplementedError

    def _loglik_prepared(self, theta: FloatArray, prepared: Any) -> tuple[FloatArray, FloatArray]:
        """Per-row log-likelihood and its gradient w.r.t. ``theta`` (shape ``(n, k)``)."""
        raise NotImplementedError

    def _order_rows(
        self, x: FloatArray, tx: FloatArray, T: FloatArray, w: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """The fit's rows in the order :meth:`_prepare_fit` wants them (as given by default)."""
        return x, tx, T, w

    def _prepare_fit(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> Any:
        """What :meth:`_loglik_sum` needs of the fit's rows (:meth:`_prepare` by default)."""
        return self._prepare(x, tx, T)

    def _loglik_sum(
        self, theta: FloatArray, prepared: Any, w: FloatArray
    ) -> tuple[float, FloatArray]:
        """Weighted total log-likelihood of the fit's rows and its gradient in ``theta``."""
        ll, grad = self._loglik_prepared(theta, prepared)
        return float(weighted_sum(w, ll)), np.asarray(weighted_sum(w, grad), dtype=np.float64)

    def _loglik(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per-row log-likelihood and its gradient w.r.t. ``theta`` (shape ``(n, k)``)."""
        return self._loglik_prepared(np.asarray(theta, dtype=np.float64), self._prepare(x, tx, T))

    @staticmethod
    def _validate(
        frequency: Any, recency: Any, T: Any, *, require_fit_checks: bool = False
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        x = as_float_array(frequency, "frequency")
        tx = as_float_array(recency, "recency")
        big_t = as_float_array(T, "T")
        try:
            x, tx, big_t = np.broadcast_arrays(x, tx, big_t)
        except ValueError as exc:
            raise AnalyticsError(
                "frequency, recency and T must have the same length, got "
                f"{x.size}, {tx.size}, {big_t.size}"
            ) from exc
        if x.size == 0:
            raise AnalyticsError("frequency, recency and T are empty: need at least one customer")
        for name, arr in (("frequency", x), ("recency", tx), ("T", big_t)):
            if not np.all(np.isfinite(arr)):
                raise AnalyticsError(f"{name} contains NaN or infinite values")
            if np.any(arr < 0):
                raise AnalyticsError(f"{name} contains negative values")
        if np.any(x != np.round(x)):
            raise AnalyticsError("frequency must hold whole numbers of repeat purchases")
        if np.any(tx > big_t):
            raise AnalyticsError("recency is larger than T for some customers")
        if np.any((x == 0) & (tx != 0)):
            raise AnalyticsError("recency must be 0 for customers with frequency 0")
        if require_fit_checks and np.any(big_t <= 0):
            raise AnalyticsError("T must be > 0 for every customer used to fit")
        return (
            np.ascontiguousarray(x, dtype=np.float64),
            np.ascontiguousarray(tx, dtype=np.float64),
            np.ascontiguousarray(big_t, dtype=np.float64),
        )

    def _compressed(
        self, frequency: Any, recency: Any, T: Any, weights: Any
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """Validated data of ``fit``/``score`` as distinct rows with positive weights."""
        x, tx, big_t = self._validate(frequency, recency, T, require_fit_checks=True)
        if weights is None:
            w = np.ones_like(x)
        else:
            w = as_float_array(weights, "weights")
            if w.size != x.size:
                raise AnalyticsError(f"weights has {w.size} values, expected {x.size}")
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise AnalyticsError("weights must be finite and >= 0")
        (x, tx, big_t), w = compress_rows([x, tx, big_t], w)
        keep = w > 0
        return x[keep], tx[keep], big_t[keep], w[keep]

    def fit(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        weights: Any = None,
    ) -> PurchaseModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like
            Repeat purchases, time of the last purchase and age of each customer, all measured
            from the customer's first purchase (see :func:`soloist.analytics.rfm_summary`).
        weights : array-like, optional
            Number of customers represented by each row. Identical rows are compressed into
            weights internally anyway, so this is only needed for pre-aggregated data.

        Returns
        -------
        self
        """
        penalizer = self._check_penalizer()
        x, tx, big_t, w = self._compressed(frequency, recency, T, weights)
        total = float(w.sum())
        if total < self._min_customers:
            raise AnalyticsError(
                f"{type(self).__name__} needs at least {self._min_customers} customers to be "
                f"identified, got {total:g}"
            )
        if not np.any(x > 0):
            raise AnalyticsError(
                f"{type(self).__name__} cannot be fitted: no customer made a repeat purchase "
                "(every frequency is 0), so purchase rates are not identified"
            )

        x, tx, big_t, w = self._order_rows(x, tx, big_t, w)
        prepared = self._prepare_fit(x, tx, big_t)

        def objective(z: FloatArray) -> tuple[float, FloatArray]:
            theta = np.exp(z)
            with np.errstate(all="ignore"):
                ll, grad = self._loglik_sum(theta, prepared, w)
            f = -ll / total
            if not np.isfinite(f):
                return np.inf, np.zeros_like(z)
            g = -grad / total * theta
            return f, np.asarray(g, dtype=np.float64)

        scale = float(np.mean(big_t))
        starts = [tuple(s if s > 0 else scale for s in start) for start in self._starts]
        warm = self._warm_start(x, tx, big_t, w) if x.size > WARM_START_ROWS else None
        self._maximise(objective, starts, total, penalizer, warm)
        self.n_customers_: int = round(total)
        self.n_unique_rows_: int = int(x.size)
        return self

    def _warm_start(
        self, x: FloatArray, tx: FloatArray, big_t: FloatArray, w: FloatArray
    ) -> tuple[FloatArray, FloatArray] | None:
        """Log-parameters and inverse Hessian of the mean objective from a fit on a sample.

        The sample's mean log-likelihood estimates the whole data's, so its optimum lies within
        a few of its standard errors of the whole data's and its curvature is close to theirs.
        ``None`` when the sample cannot be fitted (the whole data may still be).
        """
        rows = np.random.default_rng(0).choice(x.size, WARM_SAMPLE_ROWS, replace=False)
        sample = type(self)(**self.get_params())
        try:
            sample.fit(x[rows], tx[rows], big_t[rows], weights=w[rows])
        except AnalyticsError:
            return None
        z0 = np.log(np.array([sample.params_[n] for n in self._param_names]))
        cov = sample.covariance_log_
        hess_inv = 0.5 * (cov + cov.T) * float(w[rows].sum())
        try:
            np.linalg.cholesky(hess_inv)
        except np.linalg.LinAlgError:
            return None
        return z0, hess_inv

    def score(self, frequency: Any, recency: Any, T: Any, weights: Any = None) -> float:
        """Mean log-likelihood per customer of ``(frequency, recency, T)`` under the fit.

        Higher is better. On the data the model was fitted on it equals
        ``log_likelihood_ / n_customers_``; on held-out customers (same time unit, same
        definition of ``T``) it measures how well the fitted parameters generalise, e.g. to
        choose ``penalizer_coef`` by cross-validation over customers. The penalty is not
        included. ``weights`` counts the customers each row stands for, as in :meth:`fit`.

        The scoring data are not ``X``: scikit-learn's ``GridSearchCV``/``cross_val_score``
        cannot split three arrays, so loop over ``sklearn.base.clone(model).set_params(...)``
        and a splitter such as ``sklearn.model_selection.KFold`` instead.

        Examples
        --------
        >>> from soloist.analytics import BetaGeoModel
        >>> from soloist.analytics.datasets import load_cdnow_summary
        >>> cdnow = load_cdnow_summary()
        >>> data = cdnow["frequency"], cdnow["recency"], cdnow["T"]
        >>> model = BetaGeoModel().fit(*data)
        >>> round(model.score(*data), 4), round(model.log_likelihood_ / model.n_customers_, 4)
        (-4.0655, -4.0655)
        """
        theta = self._check_fitted()
        x, tx, big_t, w = self._compressed(frequency, recency, T, weights)
        if w.size == 0:
            raise AnalyticsError("weights are all 0: no customer to score")
        with np.errstate(all="ignore"):
            ll, _ = self._loglik(theta, x, tx, big_t)
        return float(weighted_sum(w, ll) / w.sum())

    # ------------------------------------------------------------------ predictions
    def _expected_unconditional(self, theta: FloatArray, t: FloatArray) -> FloatArray:
        raise NotImplementedError

    def _expected_conditional(
        self, theta: FloatArray, t: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        raise NotImplementedError

    def _log_odds_dead(
        self, theta: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        raise NotImplementedError

    def expected_purchases_unconditional(self, t: Any) -> Any:
        """Expected repeat purchases of a new customer within ``t`` periods of the first one."""
        theta = self._check_fitted()
        tt = as_float_array(t, "t")
        if np.any(tt < 0) or not np.all(np.isfinite(tt)):
            raise AnalyticsError("t must be finite and >= 0")
        with np.errstate(all="ignore"):
            out = self._expected_unconditional(theta, tt)
        return out if np.ndim(t) else float(out[0])

    def expected_repeat_purchases(self, t: Any) -> Any:
        """Alias of :meth:`expected_purchases_unconditional` (the population curve)."""
        return self.expected_purchases_unconditional(t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Conditional expected number of purchases in the next ``t`` periods, per customer."""
        theta = self._check_fitted()
        x, tx, big_t = self._validate(frequency, recency, T)
        tt = as_float_array(t, "t")
        if np.any(tt < 0) or not np.all(np.isfinite(tt)):
            raise AnalyticsError("t must be finite and >= 0")
        tt = np.broadcast_to(tt, x.shape) if tt.size == 1 else tt
        with np.errstate(all="ignore"):
            out = self._expected_conditional(theta, tt, x, tx, big_t)
        return to_output(np.where(tt == 0, 0.0, out), frequency)

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that each customer is still active at the end of their observation."""
        theta = self._check_fitted()
        x, tx, big_t = self._validate(frequency, recency, T)
        with np.errstate(all="ignore"):
            log_odds = self._log_odds_dead(theta, x, tx, big_t)
        from scipy.special import expit

        return to_output(np.asarray(expit(-log_odds), dtype=np.float64), frequency)
