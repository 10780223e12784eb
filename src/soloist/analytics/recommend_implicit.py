"""Next products from purchase history: an item-item autoencoder blended with ALS factors.

The input is implicit feedback, a 0/1 matrix X (customers × items, 1 where the customer bought
the item; an optional ``weight`` column scales a cell). Two models score every item for every
customer, and their per-customer standardised scores are blended.

1. **EDLAE**, the emphasised denoising linear autoencoder (Steck 2020, eq. 8–9), an item-item
   model with a closed form. With the Gram matrix G = XᵀDX (D down-weights very active customers,
   D_uu = n_u^(−γ), so that one bulk buyer does not set every similarity) and the dropout
   penalty Λ = p/(1−p)·diag(G) + λI:

       P = (G + Λ)⁻¹,    B = I − P · diag(1 / diag(P)),    B_jj = 0                      (1)

   The constraint B_jj = 0 is EASE's (Steck 2019, eq. 3–4): no item explains itself. Scores
   are S_E = X·B·diag(c_j^(−β)), the last factor discounting popular items by their counts c_j.
2. **ALS** of the confidence-weighted factor model (Hu, Koren & Volinsky 2008, eq. 3), from the
   ``implicit`` library: S_A = U·Vᵀ.

Blend: s = z(S_E) + w·z(S_A), z standardising each customer's row over the candidate items.

The hyper-parameters are chosen on a validation split inside the training data: 20 % of each
customer's items (of customers with at least two) are held out and candidates are scored by
precision at 10 (on at most 2,000 of those customers). λ (three values around 2·√(mean item
count)) and β (0 to 0.4) are searched on the 1,500 most-bought items (the inverse in (1) costs
O(n³)), then the ALS factors (32 or 64; regularisation 10, α 5) and the blend weight w (½, ¾,
1); the model is refitted on everything. The fit stores ``params_`` and ``validation_`` (P@10
of the chosen model and of popularity on the validation split).

Customers the model has never seen get the most popular items. Only the ``max_items`` most
bought items are modelled (the inverse in (1) costs O(n³)); rarer items are not recommended.

References
----------
H. Steck (2019). Embarrassingly shallow autoencoders for sparse data. *WWW '19*, 3251–3257.
H. Steck (2020). Autoencoders that don't overfit towards the identity. *NeurIPS 33*.
Y. Hu, Y. Koren and C. Volinsky (2008). Collaborative filtering for implicit feedback datasets.
*ICDM '08*, 263–272.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import AnalyticsError, NotFittedError

__all__ = ["ImplicitRecommender"]

_K_VALIDATION = 10
_BATCH = 2048  # customers scored per block (a block holds batch × items floats)
_MAX_VALIDATION_USERS = 2000
_TUNING_ITEMS = 1500  # the most-bought items the search of λ and β runs on


@dataclass(frozen=True)
class _Candidate:
    lam: float
    beta: float
    factors: int
    regularization: float
    blend: float


def _interaction_matrix(
    interactions: pd.DataFrame,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    missing = {"customer", "item"} - set(interactions.columns)
    if missing:
        raise AnalyticsError(
            "interactions needs the columns customer and item; missing "
            + ", ".join(sorted(missing))
        )
    if interactions.empty:
        raise AnalyticsError("interactions is empty: there is nothing to learn from")
    if interactions[["customer", "item"]].isna().any().any():
        raise AnalyticsError("interactions has rows without a customer or an item")
    weights = (
        pd.to_numeric(interactions["weight"], errors="coerce").to_numpy(dtype=float)
        if "weight" in interactions.columns
        else np.ones(len(interactions))
    )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise AnalyticsError("interactions.weight must be a non-negative number on every row")
    customer_codes, customers = pd.factorize(interactions["customer"], sort=True)
    item_codes, items = pd.factorize(interactions["item"], sort=True)
    matrix = sp.csr_matrix(
        (weights, (customer_codes, item_codes)), shape=(len(customers), len(items))
    )
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix, np.asarray(customers), np.asarray(items)


def _gram(binary: sp.csr_matrix, gamma: float) -> np.ndarray:
    """XᵀDX with D_uu = n_u^(−γ): very active customers do not set every similarity."""
    activity = np.maximum(np.diff(binary.indptr), 1).astype(np.float64)
    weighted = sp.diags(activity ** (-gamma / 2)) @ binary
    return np.asarray((weighted.T @ weighted).toarray(), dtype=np.float64)


def _edlae(gram: np.ndarray, lam: float, dropout: float) -> np.ndarray:
    """Equation (1): the item-item weights, zero diagonal (float32).

    The inverse of the symmetric positive-definite G + Λ comes from its Cholesky factor
    (LAPACK potrf + potri), half the work of a general inverse.
    """
    from scipy.linalg import lapack

    # In single precision: twice as fast, and the weights are used as float32 anyway.
    penalised = gram.astype(np.float32)
    diagonal = np.diag(gram)
    penalised[np.diag_indices_from(penalised)] += dropout / (1 - dropout) * diagonal + lam
    factor, info = lapack.spotrf(penalised, lower=False, overwrite_a=True)
    if info != 0:
        raise AnalyticsError(f"the item-item system is not positive definite (λ = {lam:g})")
    inverse, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise AnalyticsError(f"the item-item system could not be inverted (λ = {lam:g})")
    upper = np.triu(inverse, 1)  # potri fills the upper triangle only
    weights = np.triu(inverse)
    weights += upper.T
    weights /= -np.diag(weights).copy()
    weights[np.diag_indices_from(weights)] = 0.0
    return weights


def _standardise(scores: np.ndarray) -> np.ndarray:
    spread = scores.std(axis=1, keepdims=True)
    spread[spread == 0] = 1.0
    return (scores - scores.mean(axis=1, keepdims=True)) / spread


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    rows = np.arange(scores.shape[0])[:, None]
    order = np.argsort(-scores[rows, part], axis=1, kind="stable")
    top = part[rows, order]
    return top, scores[rows, top]


def _blocks(n: int) -> Iterator[slice]:
    for start in range(0, n, _BATCH):
        yield slice(start, min(start + _BATCH, n))


def _split_validation(
    matrix: sp.csr_matrix, share: float, rng: np.random.Generator
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Hold out ``share`` of each customer's items (customers with two or more, at least one)."""
    coo = matrix.tocoo()
    counts = np.diff(matrix.indptr)
    keys = rng.random(coo.nnz)
    order = np.lexsort((keys, coo.row))
    rank = np.empty(coo.nnz, dtype=np.int64)
    starts = matrix.indptr[:-1]
    rank[order] = np.arange(coo.nnz) - np.repeat(starts, counts)
    held = np.maximum(np.floor(counts * share), (counts >= 2).astype(int))
    hold = rank < held[coo.row]
    train = sp.csr_matrix((coo.data[~hold], (coo.row[~hold], coo.col[~hold])), shape=matrix.shape)
    test = sp.csr_matrix((np.ones(hold.sum()), (coo.row[hold], coo.col[hold])), shape=matrix.shape)
    return train, test


class _Fitted:
    """The fitted parts: item-item weights, their popularity discount, and ALS factors."""

    def __init__(
        self,
        binary: sp.csr_matrix,
        weights: np.ndarray,
        candidate: _Candidate,
        factors: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        self.binary = binary
        self.weights = weights
        self.item_counts = np.maximum(np.asarray(binary.sum(axis=0)).ravel(), 1.0)
        self.discount = (self.item_counts ** (-candidate.beta)).astype(np.float32)
        self.candidate = candidate
        self.factors = factors

    def scores(self, rows: np.ndarray) -> np.ndarray:
        item_scores = np.asarray(self.binary[rows] @ self.weights) * self.discount
        if self.candidate.blend > 0 and self.factors is not None:
            users, items = self.factors
            factor_scores = users[rows] @ items.T
            return _standardise(item_scores) + self.candidate.blend * _standardise(factor_scores)
        return item_scores


#: Threads of implicit's ALS loops. One: the fit runs beside a live server (at its start, and
#: whenever the order lines grew by 1 %), and on a two-core machine a fit on every core kept
#: the pages waiting for seconds (BENCHMARKS.md, "Every page with live orders").
ALS_THREADS = 1


def _als(
    matrix: sp.csr_matrix, factors: int, regularization: float, seed: int, iterations: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    # implicit's C++ loops use their own threads; numpy's BLAS must not fight them (its warning).
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=5.0,
            iterations=iterations,
            random_state=seed,
            calculate_training_loss=False,
            num_threads=ALS_THREADS,
        )
        model.fit(matrix.astype(np.float32).tocsr(), show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


class _Validation:
    """Held-out items of (at most ``_MAX_VALIDATION_USERS``) customers, and what they had seen."""

    def __init__(self, train: sp.csr_matrix, held: sp.csr_matrix, rng: np.random.Generator) -> None:
        users = np.flatnonzero(np.diff(held.indptr))
        if users.size > _MAX_VALIDATION_USERS:
            users = np.sort(rng.choice(users, _MAX_VALIDATION_USERS, replace=False))
        self.rows = users
        self.seen = train[users].nonzero()
        self.truth = held[users]
        self.history = train[users]

    def precision(self, scores: np.ndarray, k: int = _K_VALIDATION) -> float:
        """P@k = hits / k, averaged over the customers (seen items excluded). Overwrites
        ``scores``."""
        if not self.rows.size:
            return 0.0
        scores[self.seen] = -np.inf
        k = min(k, scores.shape[1])  # a shop with fewer than k products
        # A held-out item is a hit when it scores at least the row's k-th best (ties are
        # rare with real-valued scores).
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
        truth = self.truth.tocoo()
        hits = int(np.count_nonzero(scores[truth.row, truth.col] >= kth[truth.row]))
        return hits / (k * self.rows.size)


class ImplicitRecommender:
    """Top-k next items per customer from implicit feedback (purchases), with reasons.

    ``fit(interactions)`` takes a DataFrame with ``customer``, ``item`` and optionally ``weight``
    (default 1 per row; repeated rows add up). ``recommend(customers, k=10, exclude_seen=True)``
    returns ``customer``, ``item``, ``score``, ``rank`` (1 = best); customers not seen in the fit
    get the most popular items. ``because(customer, items)`` names the bought item that adds most
    to each recommendation's item-item score.

    Parameters fixed by hand (``lam``, ``beta``, ``factors``, ``regularization``, ``blend``)
    skip the search over that parameter; ``tune=False`` uses the defaults for the rest.
    """

    def __init__(
        self,
        *,
        tune: bool = True,
        lam: float | None = None,
        beta: float | None = None,
        factors: int | None = None,
        regularization: float | None = None,
        blend: float | None = None,
        dropout: float = 0.5,
        activity_discount: float = 0.5,
        max_items: int = 4000,
        validation_share: float = 0.2,
        random_state: int = 0,
    ) -> None:
        if not 0 <= dropout < 1:
            raise AnalyticsError(f"dropout must be in [0, 1), got {dropout}")
        if max_items < 1:
            raise AnalyticsError(f"max_items must be at least 1, got {max_items}")
        if not 0 < validation_share < 1:
            raise AnalyticsError(f"validation_share must be in (0, 1), got {validation_share}")
        self.tune = tune
        self.fixed: dict[str, float | None] = {
            "lam": lam,
            "beta": beta,
            "factors": factors,
            "regularization": regularization,
            "blend": blend,
        }
        self.dropout = dropout
        self.activity_discount = activity_discount
        self.max_items = max_items
        self.validation_share = validation_share
        self.random_state = random_state
        self.params_: dict[str, Any] = {}
        self.validation_: dict[str, float] = {}
        self._fitted: _Fitted | None = None

    # -- fitting -------------------------------------------------------------------------------

    def fit(self, interactions: pd.DataFrame) -> Self:
        matrix, customers, items = _interaction_matrix(interactions)
        counts = np.asarray((matrix > 0).sum(axis=0)).ravel()
        if items.size > self.max_items:
            keep = np.sort(np.argsort(-counts, kind="stable")[: self.max_items])
            matrix = matrix[:, keep].tocsr()
            items = items[keep]
            counts = counts[keep]
        self.customers_ = customers
        self.items_ = items
        self._customer_index = pd.Index(customers)
        self._popular = np.argsort(-counts, kind="stable")
        mean_count = float(counts.mean())
        binary = matrix.copy()
        binary.data[:] = 1.0
        candidate = self._choose(binary, mean_count) if self.tune else self._default(mean_count)
        weights = _edlae(_gram(binary, self.activity_discount), candidate.lam, self.dropout)
        factors = (
            _als(matrix, candidate.factors, candidate.regularization, self.random_state)
            if candidate.blend > 0
            else None
        )
        self._fitted = _Fitted(binary, weights, candidate, factors)
        self.params_ = {
            "lam": candidate.lam,
            "beta": candidate.beta,
            "factors": candidate.factors,
            "regularization": candidate.regularization,
            "blend": candidate.blend,
            "dropout": self.dropout,
            "activity_discount": self.activity_discount,
            "items": int(items.size),
            "customers": int(customers.size),
        }
        return self

    def _value(self, name: str, default: float) -> float:
        fixed = self.fixed[name]
        return default if fixed is None else float(fixed)

    def _default(self, mean_count: float) -> _Candidate:
        return _Candidate(
            lam=self._value("lam", 2.0 * mean_count**0.5),
            beta=self._value("beta", 0.1),
            factors=int(self._value("factors", 32)),
            regularization=self._value("regularization", 10.0),
            blend=self._value("blend", 0.5),
        )

    def _choose(self, binary: sp.csr_matrix, mean_count: float) -> _Candidate:
        """Coordinate search on a validation split: λ and β, then the ALS factors and w."""
        rng = np.random.default_rng(self.random_state)
        train, held = _split_validation(binary, self.validation_share, rng)
        check = _Validation(train, held, rng)
        base = self._default(mean_count)

        def grid(name: str, values: Iterable[float]) -> list[float]:
            fixed = self.fixed[name]
            return [float(fixed)] if fixed is not None else list(values)

        gram = _gram(train, self.activity_discount)
        counts = np.maximum(np.asarray(train.sum(axis=0)).ravel(), 1.0).astype(np.float32)
        # λ and β are searched on the most-bought items only (the inverse costs O(n³); the
        # penalty's scale is set by the same item counts); the chosen λ is then used for all.
        top = np.sort(np.argsort(-counts, kind="stable")[:_TUNING_ITEMS])
        whole = top.size == counts.size
        small = check if whole else _Validation(train[:, top], held[:, top], rng)
        best: tuple[float, float, float, np.ndarray] | None = None  # P@10, λ, β, X·B
        for lam in grid("lam", (base.lam * m for m in (0.25, 1.0, 4.0))):
            weights = _edlae(gram[np.ix_(top, top)] if not whole else gram, lam, self.dropout)
            raw = np.asarray(small.history @ weights)
            for beta in grid("beta", (0.0, 0.1, 0.2, 0.3, 0.4)):
                quality = small.precision(raw * counts[top] ** np.float32(-beta))
                if best is None or quality > best[0]:
                    best = (quality, lam, beta, raw)
        assert best is not None
        quality, lam, beta, raw = best
        if not whole:
            raw = np.asarray(check.history @ _edlae(gram, lam, self.dropout))
            quality = check.precision(raw * counts ** np.float32(-beta))
        item_scores = raw * counts ** np.float32(-beta)
        chosen = _Candidate(lam, beta, base.factors, base.regularization, 0.0)
        blends = [w for w in grid("blend", (0.5, 0.75, 1.0)) if w > 0]
        if blends:
            # The ensemble is the model: the item-only score only chose λ and β. (On small data
            # one validation split cannot tell w = 0 from w = 0.5 apart, and the blend was the
            # better on every public protocol measured, BENCHMARKS.md.)
            standard_items = _standardise(item_scores)
            best_blend: tuple[float, _Candidate] | None = None
            for factors in grid("factors", (32, 64)):
                regularization = base.regularization
                users, items = _als(
                    train, int(factors), regularization, self.random_state, iterations=6
                )
                standard_factors = _standardise(users[check.rows] @ items.T)
                for w in blends:
                    quality = check.precision(standard_items + w * standard_factors)
                    if best_blend is None or quality > best_blend[0]:
                        best_blend = (
                            quality,
                            _Candidate(lam, beta, int(factors), regularization, w),
                        )
            assert best_blend is not None
            quality, chosen = best_blend
        popularity = np.tile(counts, (check.rows.size, 1))
        self.validation_ = {
            "precision_at_10": quality,
            "popularity_precision_at_10": check.precision(popularity),
        }
        return chosen

    # -- predicting ----------------------------------------------------------------------------

    def _model(self) -> _Fitted:
        if self._fitted is None:
            raise NotFittedError("ImplicitRecommender is not fitted: call fit(interactions) first")
        return self._fitted

    def recommend(
        self, customers: Iterable[Any], k: int = 10, exclude_seen: bool = True
    ) -> pd.DataFrame:
        model = self._model()
        if k < 1:
            raise AnalyticsError(f"k must be at least 1, got {k}")
        wanted = list(customers)
        positions = self._customer_index.get_indexer(wanted)
        known = positions >= 0
        frames: list[pd.DataFrame] = []
        known_rows = positions[known]
        known_ids = np.asarray(wanted, dtype=object)[known]
        for block in _blocks(known_rows.size):
            rows = known_rows[block]
            scores = model.scores(rows)
            if exclude_seen:
                scores[model.binary[rows].nonzero()] = -np.inf
            top, top_scores = _top_k(scores, k)
            frames.append(self._frame(np.repeat(known_ids[block], top.shape[1]), top, top_scores))
        unknown_ids = np.asarray(wanted, dtype=object)[~known]
        if unknown_ids.size:
            top = np.tile(self._popular[:k], (unknown_ids.size, 1))
            counts = model.item_counts[top]
            share = counts / counts.sum(axis=1, keepdims=True)
            frames.append(self._frame(np.repeat(unknown_ids, top.shape[1]), top, share))
        if not frames:
            return pd.DataFrame({"customer": [], "item": [], "score": [], "rank": []})
        result = pd.concat(frames, ignore_index=True)
        result = result[np.isfinite(result["score"])]
        order = {c: i for i, c in enumerate(dict.fromkeys(wanted))}
        result["_order"] = result["customer"].map(order)
        result = result.sort_values(["_order", "rank"], kind="stable").drop(columns="_order")
        return result.reset_index(drop=True)

    def _frame(self, customers: np.ndarray, top: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        width = top.shape[1]
        return pd.DataFrame(
            {
                "customer": customers,
                "item": self.items_[top.ravel()],
                "score": scores.ravel().astype(float),
                "rank": np.tile(np.arange(1, width + 1), top.shape[0]),
            }
        )

    def because(self, customer: Any, items: Iterable[Any]) -> dict[Any, Any]:
        """For each item, the customer's bought item with the largest weight towards it."""
        model = self._model()
        position = self._customer_index.get_indexer([customer])[0]
        if position < 0:
            return {}
        history = model.binary[position].indices
        if not history.size:
            return {}
        item_index = pd.Index(self.items_)
        reasons: dict[Any, Any] = {}
        for item in items:
            column = item_index.get_indexer([item])[0]
            if column < 0:
                continue
            contributions = model.weights[history, column]
            if contributions.max() > 0:
                reasons[item] = self.items_[history[int(np.argmax(contributions))]]
        return reasons
