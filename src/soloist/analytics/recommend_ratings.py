"""Predicted star ratings: biased matrix factorisation fitted by weighted-λ ALS.

The model (Koren, Bell & Volinsky 2009, eq. 4) predicts customer u's rating of item i as

    r̂_ui = μ + b_u + b_i + p_uᵀ q_i                                                        (1)

and minimises the squared error with the regularisation of ALS-WR (Zhou et al. 2008, eq. 3),
which scales each factor vector's penalty by how many ratings it rests on:

    Σ_(u,i) (r_ui − r̂_ui)² + λ (Σ_u n_u ‖p_u‖² + Σ_i n_i ‖q_i‖²) + λ_b (Σ_u b_u² + Σ_i b_i²) (2)

Alternating least squares solves (2) exactly for all customers with the items fixed, then for
all items with the customers fixed (each a small ridge regression over [1, q_i] or [1, p_u]),
for ``iterations`` rounds. Predictions are clipped to the rating scale seen in the fit.

The number of factors and λ are chosen on a validation split inside the training data (10 % of
the ratings), by RMSE, and the model is refitted on everything. Customers or items the fit has
not seen get the part of (1) that is known (μ + b_i, μ + b_u, or μ).

References
----------
Y. Zhou, D. Wilkinson, R. Schreiber and R. Pan (2008). Large-scale parallel collaborative
filtering for the Netflix Prize. *AAIM 2008*, LNCS 5034, 337–348.
Y. Koren, R. Bell and C. Volinsky (2009). Matrix factorization techniques for recommender
systems. *IEEE Computer* 42(8), 30–37.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from .errors import AnalyticsError, NotFittedError

__all__ = ["RatingRecommender"]


def _groups(codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n + 1))
    return order, starts


def _solve_side(
    order: np.ndarray,
    starts: np.ndarray,
    other_codes: np.ndarray,
    other_factors: np.ndarray,
    other_bias: np.ndarray,
    residual: np.ndarray,
    lam: float,
    bias_lam: float,
    out_bias: np.ndarray,
    out_factors: np.ndarray,
) -> None:
    factors = other_factors.shape[1]
    penalty = np.eye(factors + 1)
    penalty[0, 0] = 0.0
    for entity in range(starts.size - 1):
        rows = order[starts[entity] : starts[entity + 1]]
        if not rows.size:
            continue
        design = np.empty((rows.size, factors + 1))
        design[:, 0] = 1.0
        design[:, 1:] = other_factors[other_codes[rows]]
        target = residual[rows] - other_bias[other_codes[rows]]
        ridge = lam * rows.size * penalty
        ridge[0, 0] = bias_lam
        solution = np.linalg.solve(design.T @ design + ridge, design.T @ target)
        out_bias[entity] = solution[0]
        out_factors[entity] = solution[1:]


class _Factors:
    def __init__(
        self,
        users: np.ndarray,
        items: np.ndarray,
        ratings: np.ndarray,
        shape: tuple[int, int],
        factors: int,
        lam: float,
        bias_lam: float,
        iterations: int,
        seed: int,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.mean = float(ratings.mean())
        self.user_bias = np.zeros(shape[0])
        self.item_bias = np.zeros(shape[1])
        self.user_factors = rng.normal(0, 0.1, (shape[0], factors))
        self.item_factors = rng.normal(0, 0.1, (shape[1], factors))
        residual = ratings - self.mean
        by_user = _groups(users, shape[0])
        by_item = _groups(items, shape[1])
        for _ in range(iterations):
            _solve_side(
                *by_user, items, self.item_factors, self.item_bias, residual, lam, bias_lam,
                self.user_bias, self.user_factors,
            )  # fmt: skip
            _solve_side(
                *by_item, users, self.user_factors, self.user_bias, residual, lam, bias_lam,
                self.item_bias, self.item_factors,
            )  # fmt: skip
        self.users_seen = np.bincount(users, minlength=shape[0]) > 0
        self.items_seen = np.bincount(items, minlength=shape[1]) > 0

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Equation (1); a code of −1 (unseen) contributes nothing."""
        prediction = np.full(users.size, self.mean)
        known_user = users >= 0
        known_item = items >= 0
        prediction[known_user] += self.user_bias[users[known_user]]
        prediction[known_item] += self.item_bias[items[known_item]]
        both = known_user & known_item
        prediction[both] += np.einsum(
            "ij,ij->i", self.user_factors[users[both]], self.item_factors[items[both]]
        )
        return prediction


class RatingRecommender:
    """Predict ratings (stars) from past ratings: ``fit(ratings)``, ``predict(pairs)``.

    ``ratings`` is a DataFrame with ``customer``, ``item`` and ``rating``; ``pairs`` has
    ``customer`` and ``item`` and gets back an array of predicted ratings. ``factors`` or
    ``lam`` given by hand skip the search over that parameter.
    """

    def __init__(
        self,
        *,
        factors: int | None = None,
        lam: float | None = None,
        bias_lam: float = 5.0,
        iterations: int = 15,
        validation_share: float = 0.1,
        random_state: int = 0,
    ) -> None:
        if iterations < 1:
            raise AnalyticsError(f"iterations must be at least 1, got {iterations}")
        self.factors = factors
        self.lam = lam
        self.bias_lam = bias_lam
        self.iterations = iterations
        self.validation_share = validation_share
        self.random_state = random_state
        self.params_: dict[str, Any] = {}
        self.validation_: dict[str, float] = {}
        self._model: _Factors | None = None

    def fit(self, ratings: pd.DataFrame) -> Self:
        missing = {"customer", "item", "rating"} - set(ratings.columns)
        if missing:
            raise AnalyticsError(
                f"ratings needs the columns customer, item and rating; missing "
                f"{', '.join(sorted(missing))}"
            )
        values = pd.to_numeric(ratings["rating"], errors="coerce").to_numpy(dtype=float)
        if not values.size:
            raise AnalyticsError("ratings is empty: there is nothing to learn from")
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise AnalyticsError(f"ratings.rating is not a number on row {bad}")
        users, self._users = pd.factorize(ratings["customer"], sort=True)
        items, self._items = pd.factorize(ratings["item"], sort=True)
        shape = (len(self._users), len(self._items))
        self.scale_ = (float(values.min()), float(values.max()))
        factor_grid = [self.factors] if self.factors is not None else [20, 50]
        lam_grid = [self.lam] if self.lam is not None else [0.06, 0.1, 0.15]
        factors, lam = factor_grid[0], lam_grid[0]
        if len(factor_grid) * len(lam_grid) > 1:
            factors, lam = self._choose(users, items, values, shape, factor_grid, lam_grid)
        self._model = _Factors(
            users, items, values, shape, factors, lam, self.bias_lam, self.iterations,
            self.random_state,
        )  # fmt: skip
        self.params_ = {"factors": factors, "lam": lam, "bias_lam": self.bias_lam}
        return self

    def _choose(
        self,
        users: np.ndarray,
        items: np.ndarray,
        values: np.ndarray,
        shape: tuple[int, int],
        factor_grid: list[int],
        lam_grid: list[float],
    ) -> tuple[int, float]:
        rng = np.random.default_rng(self.random_state)
        held = rng.random(values.size) < self.validation_share
        best: tuple[float, int, float] | None = None
        for factors in factor_grid:
            for lam in lam_grid:
                model = _Factors(
                    users[~held], items[~held], values[~held], shape, factors, lam,
                    self.bias_lam, self.iterations, self.random_state,
                )  # fmt: skip
                predicted = np.clip(model.predict(users[held], items[held]), *self.scale_)
                rmse = float(np.sqrt(np.mean((predicted - values[held]) ** 2)))
                if best is None or rmse < best[0]:
                    best = (rmse, factors, lam)
        assert best is not None
        self.validation_ = {"rmse": best[0]}
        return best[1], best[2]

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        if self._model is None:
            raise NotFittedError("RatingRecommender is not fitted: call fit(ratings) first")
        missing = {"customer", "item"} - set(pairs.columns)
        if missing:
            raise AnalyticsError(
                f"pairs needs the columns customer and item; missing {', '.join(sorted(missing))}"
            )
        users = self._users.get_indexer(pairs["customer"])
        items = self._items.get_indexer(pairs["item"])
        return np.clip(self._model.predict(users, items), *self.scale_)
