"""Numerically careful special-function helpers shared by the BTYD models."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "FloatArray",
    "as_float_array",
    "betaln",
    "hyp2f1_1_with_derivatives",
    "log_diff_exp",
    "log_hyp2f1_pfaff",
]


def as_float_array(values: Any, name: str) -> FloatArray:
    """Convert ``values`` (scalar, list, NumPy, pandas or polars) to a 1-D float array."""
    from .errors import AnalyticsError

    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AnalyticsError(f"{name} must be numeric, got {type(values).__name__}") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise AnalyticsError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def betaln(a: Any, b: Any) -> Any:
    """``log B(a, b)``, vectorised."""
    return special.betaln(a, b)


def log_diff_exp(a: FloatArray, b: FloatArray) -> FloatArray:
    """Return ``log(exp(a) - exp(b))`` for ``a >= b`` without overflow.

    Where ``a == b`` (up to rounding, or both ``-inf``) the result is ``-inf``.
    """
    d = np.minimum(b - a, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a + np.log(-np.expm1(d))
    return np.where(np.isfinite(a) & (d < 0.0), out, -np.inf)


def log_hyp2f1_pfaff(a: FloatArray, b: FloatArray, z: FloatArray) -> FloatArray:
    """``log 2F1(a, b; a + 1; z)`` for ``a, b > 0`` and ``0 <= z < 1``, free of overflow.

    Two Pfaff transformations (``2F1(a, b; c; z) = (1-z)^{-b} 2F1(c-a, b; c; z/(z-1))``, then
    the same on the first parameter) give

    ``2F1(a, b; a+1; z) = (1-z)^{1-b} · 2F1(1, a+1-b; a+1; z)``.

    The remaining series ``Σ_n (a+1-b)_n/(a+1)_n z^n`` has positive terms whose ratio is below
    ``z``, so it lies in ``[1, 1/(1-z))`` and SciPy evaluates it to full precision (checked
    against mpmath to ~1e-15 for ``a`` up to 2,000), while the potentially enormous factor
    ``(1-z)^{1-b}`` is carried in log space. The literal form overflows for large ``a``.
    """
    h = special.hyp2f1(1.0, a + 1.0 - b, a + 1.0, z)
    return np.asarray((1.0 - b) * np.log1p(-z) + np.log(h), dtype=np.float64)


#: largest ``z`` summed as a series by :func:`hyp2f1_1_with_derivatives` (≤ 133 terms)
SERIES_Z_MAX = 0.75
_SERIES_TOL = 2.0**-56


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: arrays at least this long are split between two threads (NumPy releases the GIL inside
#: each array operation, so the halves run on two cores)
THREADED_SIZE = 200_000

_POOL: tuple[int, ThreadPoolExecutor] | None = None


def hyp2f1_1_with_derivatives(
    d: Any, c: Any, z: Any
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``H = 2F1(1, d; c; z)`` and its partial derivatives ``∂H/∂d``, ``∂H/∂c``, ``∂H/∂z``.

    See :func:`_hyp2f1_1_with_derivatives`; long arrays are computed in two interleaved halves
    on two threads (interleaved, so that both get as many slowly converging elements).
    """
    global _POOL
    d, c, z = np.broadcast_arrays(
        np.asarray(d, np.float64), np.asarray(c, np.float64), np.asarray(z, np.float64)
    )
    if z.size < THREADED_SIZE or (os.cpu_count() or 1) < 2:
        return _hyp2f1_1_with_derivatives(d, c, z)
    # a pool made before a fork has no threads in the child: make one per process
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(2, thread_name_prefix="soloist-hyp2f1"))
    errors = np.geterr()

    def half(part: slice) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        with np.errstate(**errors):  # the caller's error handling, which threads do not inherit
            return _hyp2f1_1_with_derivatives(d[part], c[part], z[part])

    parts = (slice(0, None, 2), slice(1, None, 2))
    results = list(_POOL[1].map(half, parts))
    out = tuple(np.empty(z.size) for _ in range(4))
    for part, result in zip(parts, results, strict=True):
        for whole, piece in zip(out, result, strict=True):
            whole[part] = piece
    return out[0], out[1], out[2], out[3]


def _hyp2f1_1_with_derivatives(
    d: Any, c: Any, z: Any
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``H = 2F1(1, d; c; z)`` and its partial derivatives ``∂H/∂d``, ``∂H/∂c``, ``∂H/∂z``.

    For ``0 < d <= c`` and ``0 <= z < 1``. ``H = Σ_n t_n`` with ``t_n = Π_{k<n} (d+k)/(c+k) · z^n``:
    every term is positive and ``t_{n+1} <= z t_n``, so the series (and the series of its
    termwise derivatives ``t_n Σ_{k<n} 1/(d+k)``, ``-t_n Σ_{k<n} 1/(c+k)``, ``n t_n / z``)
    is summed without cancellation, vectorised over the elements, each element stopping once
    ``z^n < 2^-56``. Elements with ``z > SERIES_Z_MAX`` (slow convergence) use SciPy's
    ``hyp2f1`` for ``H`` and ``∂H/∂z = d/c · 2F1(2, d+1; c+1; z)``, and central differences
    of it for ``∂H/∂d`` and ``∂H/∂c``.
    """
    d, c, z = np.broadcast_arrays(
        np.asarray(d, np.float64), np.asarray(c, np.float64), np.asarray(z, np.float64)
    )
    n = z.size
    h = np.ones(n)
    h_d = np.zeros(n)
    h_c = np.zeros(n)
    h_z = np.zeros(n)
    slow = z > SERIES_Z_MAX
    fast = np.flatnonzero(~slow)
    if fast.size:
        # process elements by decreasing z so that the ones still converging form a prefix
        order = fast[np.argsort(-z[fast], kind="stable")]
        dd, cc, zz = d[order], c[order], z[order]
        m = dd.size
        with np.errstate(divide="ignore"):
            log_z = np.log(zz)
        # number of terms each element needs: z^n < tol
        needed = np.where(zz > 0, np.ceil(np.log(_SERIES_TOL) / np.minimum(log_z, -1e-300)), 1)
        needed = np.minimum(needed, 10_000).astype(np.int64)
        term = np.ones(m)
        sum_h = np.ones(m)
        sum_d = np.zeros(m)
        sum_c = np.zeros(m)
        sum_z = np.zeros(m)
        acc_d = np.zeros(m)
        acc_c = np.zeros(m)
        n_terms = int(needed.max()) if m else 0
        # needed is non-increasing along the order: active elements are a prefix
        active_counts = np.searchsorted(-needed, -np.arange(n_terms), side="left")
        for k in range(n_terms):
            j = int(active_counts[k])
            if j == 0:
                break
            dk = dd[:j] + k
            ck = cc[:j] + k
            ratio = dk / ck
            t = term[:j]
            sum_z[:j] += (k + 1) * t * ratio
            acc_d[:j] += 1.0 / dk
            acc_c[:j] -= 1.0 / ck
            t *= ratio * zz[:j]
            sum_h[:j] += t
            sum_d[:j] += t * acc_d[:j]
            sum_c[:j] += t * acc_c[:j]
        h[order], h_d[order], h_c[order], h_z[order] = sum_h, sum_d, sum_c, sum_z
    if slow.any():
        ds, cs, zs = d[slow], c[slow], z[slow]
        h[slow] = special.hyp2f1(1.0, ds, cs, zs)
        h_z[slow] = ds / cs * special.hyp2f1(2.0, ds + 1.0, cs + 1.0, zs)
        step = 1e-5 * np.maximum(1.0, ds)
        h_d[slow] = (
            special.hyp2f1(1.0, ds + step, cs, zs) - special.hyp2f1(1.0, ds - step, cs, zs)
        ) / (2.0 * step)
        step = 1e-5 * np.maximum(1.0, cs)
        h_c[slow] = (
            special.hyp2f1(1.0, ds, cs + step, zs) - special.hyp2f1(1.0, ds, cs - step, zs)
        ) / (2.0 * step)
    return h, h_d, h_c, h_z
