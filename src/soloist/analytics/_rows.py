"""Rows of a fit: distinct values, compression into weights, weighted sums."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._math import FloatArray

__all__ = [
    "compress_rows",
    "distinct_values",
    "gather",
    "mostly_distinct",
    "unique_inverse",
    "weighted_sum",
]


def unique_inverse(values: npt.NDArray[Any]) -> tuple[Any, npt.NDArray[np.intp]]:
    """Sorted distinct values of a 1-D array and, per element, the index of its value."""
    if values.size > 10_000 and values.dtype.kind in "fiu":
        # small non-negative whole numbers (counts, codes): a table lookup instead of a sort
        top = values.max()
        if values.min() >= 0 and top <= 4 * values.size:
            codes = values.astype(np.intp)
            if values.dtype.kind != "f" or np.array_equal(codes, values):
                present = np.bincount(codes, minlength=int(top) + 1) > 0
                lookup = np.cumsum(present) - 1
                unique = np.flatnonzero(present).astype(values.dtype)
                return unique, lookup[codes]
    unique, inverse = np.unique(values, return_inverse=True)
    return unique, inverse.reshape(-1)


#: a sample of this many values decides whether a column repeats its values enough to be worth
#: sorting into distinct values (see :func:`mostly_distinct`)
DISTINCT_SAMPLE = 2048


def mostly_distinct(values: npt.NDArray[Any], threshold: float = 0.3) -> bool:
    """Whether more than ``threshold`` of a large array's values differ from each other.

    Decided on a fixed random sample: sorting a million values into distinct ones (and gathering
    them back per row at every likelihood evaluation) only pays when the values repeat, as whole
    days do; unrounded times almost never repeat.
    """
    if values.size < 8 * DISTINCT_SAMPLE:
        return False
    rng = np.random.default_rng(0)
    sample = values[rng.integers(0, values.size, DISTINCT_SAMPLE)]
    return bool(np.unique(sample).size > threshold * DISTINCT_SAMPLE)


def distinct_values(values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp] | None]:
    """:func:`unique_inverse`, or ``(values, None)`` when the values hardly repeat."""
    if mostly_distinct(values):
        return values, None
    return unique_inverse(values)


def gather(values: FloatArray, index: npt.NDArray[np.intp] | None) -> FloatArray:
    """Per-row values from :func:`distinct_values`' output."""
    return values if index is None else values[index]


def compress_rows(
    columns: Sequence[FloatArray], weights: FloatArray
) -> tuple[list[FloatArray], FloatArray]:
    """Collapse identical rows of ``columns`` into unique rows with summed ``weights``.

    The rows come out sorted lexicographically. Each column is reduced to integer codes first
    and the codes are combined into one integer key, which is much faster than
    ``np.unique(..., axis=0)`` on the stacked floats. Rows whose columns hardly repeat (a
    column of unrounded times) are returned as they are.
    """
    if any(mostly_distinct(col) for col in columns):
        return [np.ascontiguousarray(col) for col in columns], np.asarray(weights, np.float64)
    n = columns[0].size
    key = np.zeros(n, dtype=np.int64)
    uniques = []
    span = 1
    for col in columns:
        u, inv = unique_inverse(col)
        uniques.append(u)
        span *= max(u.size, 1)
        if span >= 2**62:  # pragma: no cover - needs > 2**62 distinct combinations
            stacked = np.column_stack(columns)
            unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
            summed = np.bincount(inverse.ravel(), weights=weights, minlength=unique.shape[0])
            cols = [np.ascontiguousarray(unique[:, j]) for j in range(unique.shape[1])]
            return cols, np.asarray(summed, dtype=np.float64)
        key = key * u.size + inv
    ukey, inverse = unique_inverse(key)
    totals: FloatArray = np.asarray(
        np.bincount(inverse, weights=weights, minlength=ukey.size), dtype=np.float64
    )
    out: list[FloatArray] = []
    for u in reversed(uniques):
        out.append(np.ascontiguousarray(u[ukey % u.size]))
        ukey = ukey // u.size
    return out[::-1], totals


def weighted_sum(w: FloatArray, values: FloatArray) -> Any:
    """``Σ_i w_i values_i`` (over the first axis) without BLAS (see the docstring of ``base``)."""
    if values.ndim == 1:
        return float(np.einsum("i,i->", w, values))
    return np.einsum("i,ij->j", w, values)
