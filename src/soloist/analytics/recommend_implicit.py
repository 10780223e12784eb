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

Every hyper-parameter (λ, β, the ALS factors and regularisation, the blend weight w) is chosen
on a validation split inside the training data: 20 % of each customer's items (of customers
with at least two) are held out, the candidates are scored by precision at 10, the best is kept,
and the model is refitted on everything. The fit stores ``params_`` and ``validation_`` (P@10
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

import os
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


def _edlae(gram: np.ndarray, lam: float, dropout: float) -> np.ndarray:
    """Equation (1): the item-item weights, zero diagonal."""
    diagonal = np.diag(gram).copy()
    penalised = gram.copy()
    penalised[np.diag_indices_from(penalised)] += dropout / (1 - dropout) * diagonal + lam
    inverse = np.linalg.inv(penalised)
    weights = -inverse / np.diag(inverse)
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
    """One fitted blend over a fixed customer × item matrix."""

    def __init__(
        self, matrix: sp.csr_matrix, candidate: _Candidate, dropout: float, gamma: float, seed: int
    ) -> None:
        self.matrix = matrix
        binary = matrix.copy()
        binary.data[:] = 1.0
        self.binary = binary
        activity = np.maximum(np.diff(matrix.indptr), 1).astype(float)
        weighted = sp.diags(activity ** (-gamma / 2)) @ binary
        gram = (weighted.T @ weighted).toarray()
        self.item_counts = np.maximum(np.asarray(binary.sum(axis=0)).ravel(), 1.0)
        self.weights = _edlae(gram, candidate.lam, dropout)
        self.discount = self.item_counts ** (-candidate.beta)
        self.candidate = candidate
        self.user_factors: np.ndarray | None = None
        self.item_factors: np.ndarray | None = None
        if candidate.blend > 0:
            self.user_factors, self.item_factors = _als(
                matrix, candidate.factors, candidate.regularization, seed
            )

    def with_beta_blend(self, beta: float, blend: float) -> _Fitted:
        clone = object.__new__(_Fitted)
        clone.__dict__.update(self.__dict__)
        clone.discount = self.item_counts ** (-beta)
        clone.candidate = _Candidate(
            self.candidate.lam, beta, self.candidate.factors, self.candidate.regularization, blend
        )
        return clone

    def scores(self, rows: np.ndarray) -> np.ndarray:
        history = self.binary[rows]
        item_scores = np.asarray(history @ self.weights) * self.discount
        blend = self.candidate.blend
        if blend > 0 and self.user_factors is not None and self.item_factors is not None:
            factor_scores = self.user_factors[rows] @ self.item_factors.T
            return _standardise(item_scores) + blend * _standardise(factor_scores)
        return item_scores


def _als(
    matrix: sp.csr_matrix, factors: int, regularization: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    # implicit's C++ loops use their own threads; numpy's BLAS must not fight them (its warning).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=5.0,
            iterations=15,
            random_state=seed,
            calculate_training_loss=False,
        )
        model.fit(matrix.astype(np.float32).tocsr(), show_progress=False)
    return np.asarray(model.user_factors), np.asarray(model.item_factors)


def _precision_at_k(fitted: _Fitted, held_out: sp.csr_matrix, k: int) -> float:
    users = np.flatnonzero(np.diff(held_out.indptr))
    if not users.size:
        return 0.0
    hits = 0.0
    for block in _blocks(users.size):
        rows = users[block]
        scores = fitted.scores(rows)
        seen = fitted.matrix[rows]
        scores[seen.nonzero()] = -np.inf
        top, _ = _top_k(scores, k)
        truth = held_out[rows]
        hits += float(np.asarray(truth[np.arange(rows.size)[:, None], top].sum()))
    return hits / (k * users.size)


def _popularity_precision(train: sp.csr_matrix, held_out: sp.csr_matrix, k: int) -> float:
    counts = np.asarray((train > 0).sum(axis=0)).ravel().astype(float)
    users = np.flatnonzero(np.diff(held_out.indptr))
    if not users.size:
        return 0.0
    hits = 0.0
    for block in _blocks(users.size):
        rows = users[block]
        scores = np.tile(counts, (rows.size, 1))
        scores[train[rows].nonzero()] = -np.inf
        top, _ = _top_k(scores, k)
        hits += float(np.asarray(held_out[rows][np.arange(rows.size)[:, None], top].sum()))
    return hits / (k * users.size)


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
        candidate = self._choose(matrix, mean_count) if self.tune else self._default(mean_count)
        self._fitted = _Fitted(
            matrix, candidate, self.dropout, self.activity_discount, self.random_state
        )
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

    def _choose(self, matrix: sp.csr_matrix, mean_count: float) -> _Candidate:
        """Coordinate search on a validation split: λ, then β, then the ALS part and w."""
        rng = np.random.default_rng(self.random_state)
        train, held = _split_validation(matrix, self.validation_share, rng)
        base = self._default(mean_count)
        scale = base.lam

        def grid(name: str, values: Iterable[float]) -> list[float]:
            return [float(self.fixed[name])] if self.fixed[name] is not None else list(values)

        best: tuple[float, _Fitted] | None = None
        item_only = _Candidate(base.lam, base.beta, base.factors, base.regularization, 0.0)
        for lam in grid("lam", (scale * m for m in (0.25, 1.0, 4.0))):
            fitted = _Fitted(
                train,
                _Candidate(lam, item_only.beta, item_only.factors, item_only.regularization, 0.0),
                self.dropout,
                self.activity_discount,
                self.random_state,
            )
            for beta in grid("beta", (0.0, 0.1, 0.2, 0.3, 0.4)):
                variant = fitted.with_beta_blend(beta, 0.0)
                score = _precision_at_k(variant, held, _K_VALIDATION)
                if best is None or score > best[0]:
                    best = (score, variant)
        assert best is not None
        chosen = best[1].candidate
        blends = grid("blend", (0.5, 0.75, 1.0))
        if any(w > 0 for w in blends):
            # The ensemble is the model: the item-only score only chose λ and β. (On small data
            # a single validation split cannot tell w = 0 from w = 0.5 apart, and the blend is
            # better on every public protocol we measured, BENCHMARKS.md.)
            best = None
            for factors in grid("factors", (32, 64)):
                for reg in grid("regularization", (10.0,)):
                    with_factors = _Candidate(chosen.lam, chosen.beta, int(factors), reg, 1.0)
                    fitted = _Fitted(
                        train, with_factors, self.dropout, self.activity_discount, self.random_state
                    )
                    for w in blends:
                        variant = fitted.with_beta_blend(chosen.beta, w)
                        score = _precision_at_k(variant, held, _K_VALIDATION)
                        if best is None or score > best[0]:
                            best = (score, variant)
        assert best is not None
        self.validation_ = {
            "precision_at_10": best[0],
            "popularity_precision_at_10": _popularity_precision(train, held, _K_VALIDATION),
        }
        return best[1].candidate

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
                scores[model.matrix[rows].nonzero()] = -np.inf
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
        history = model.matrix[position].indices
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
