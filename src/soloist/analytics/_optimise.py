"""Polishing a maximum-likelihood fit from a good start and a good curvature estimate."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

from ._math import FloatArray

__all__ = ["POLISH_DECREMENT", "polish"]

#: a warm start is polished until the mean negative log-likelihood is expected to fall by less
#: than this: a total log-likelihood within about 1e-6 of the optimum at a million customers
POLISH_DECREMENT = 1e-12

Objective = Callable[[FloatArray], tuple[float, FloatArray]]


def polish(
    penalised: Objective, z0: FloatArray, hess_inv: FloatArray, log_bound: float
) -> optimize.OptimizeResult | None:
    """Quasi-Newton steps from ``z0``, starting from the inverse Hessian ``hess_inv``.

    Each step is ``-H g`` with a backtracking (Armijo) line search and a BFGS update of
    ``H`` (Nocedal & Wright 2006, Algorithm 6.1). It stops when the expected remaining
    decrease of the objective, half the Newton decrement ``gᵀHg / 2``, is below
    :data:`POLISH_DECREMENT`. ``None`` unless it converged to a finite optimum inside the
    bounds (the caller then runs the ordinary fit).
    """
    z = np.asarray(z0, dtype=np.float64)
    h = np.asarray(hess_inv, dtype=np.float64)
    with np.errstate(all="ignore"):
        f, g = penalised(z)
        converged, iterations = False, 0
        while np.isfinite(f) and iterations < 100:
            step = -h @ g
            decrement = float(-g @ step)
            if 0 <= decrement < 2 * POLISH_DECREMENT:
                converged = True
                break
            if decrement <= 0:  # H lost positive definiteness: restart not worth it here
                return None
            t = 1.0
            while True:
                z_new = z + t * step
                f_new, g_new = penalised(z_new)
                if np.isfinite(f_new) and f_new <= f - 1e-4 * t * decrement:
                    break
                t *= 0.5
                if t < 1e-4:
                    return None
            s_k, y_k = z_new - z, g_new - g
            sy = float(s_k @ y_k)
            if sy > 1e-300:
                rho = 1.0 / sy
                eye = np.eye(z.size)
                h = (eye - rho * np.outer(s_k, y_k)) @ h @ (eye - rho * np.outer(y_k, s_k))
                h += rho * np.outer(s_k, s_k)
            z, f, g = z_new, f_new, g_new
            iterations += 1
    if not converged or np.any(np.abs(z) >= log_bound - 1e-6):
        return None
    return optimize.OptimizeResult(x=z, fun=f, jac=g, nit=iterations, success=True)
