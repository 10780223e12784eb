"""The buying process behind the demo business, drawn with NumPy (no database here).

Each customer buys by a Poisson process with their own rate and drops out after an exponential
lifetime with their own rate; both rates vary across customers as gamma distributions — the
Pareto/NBD story of Schmittlein, Morrison & Colombo (1987). So the CLV models fitted later on
the demo find real signal, and the true parameters are known.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

# Pareto/NBD heterogeneity, per day: purchase rate ~ Gamma(r, 1/alpha), drop-out ~ Gamma(s, 1/beta).
TRUE_R, TRUE_ALPHA = 0.9, 55.0
TRUE_S, TRUE_BETA = 0.8, 320.0


@dataclass(frozen=True)
class PurchasePlan:
    """All orders: ``customer`` indexes the customer arrays; ``day`` counts days from the start."""

    acquired_day: np.ndarray  # float days since start, one per customer
    death_day: np.ndarray
    customer: np.ndarray  # one per order, sorted by day
    day: np.ndarray


def draw_purchases(
    rng: np.random.Generator, n_customers: int, horizon_days: int, rate_scale: float = 1.0
) -> PurchasePlan:
    """``rate_scale`` multiplies every purchase rate (alpha becomes TRUE_ALPHA / rate_scale), to
    make bigger workspaces for benchmarks; 1.0 keeps the documented parameters."""
    # Acquisition grows over time (a young business): density rising across the window.
    acquired = rng.beta(1.4, 1.0, n_customers) * (horizon_days - 1)
    rate = rng.gamma(TRUE_R, rate_scale / TRUE_ALPHA, n_customers)
    dropout = rng.gamma(TRUE_S, 1.0 / TRUE_BETA, n_customers)
    death = acquired + rng.exponential(1.0, n_customers) / dropout
    active_until = np.minimum(death, horizon_days)
    span = np.maximum(active_until - acquired, 0.0)
    repeats = rng.poisson(rate * span)
    owner = np.repeat(np.arange(n_customers), repeats)
    repeat_day = acquired[owner] + rng.random(owner.size) * span[owner]
    customer = np.concatenate([np.arange(n_customers), owner])
    day = np.concatenate([acquired, repeat_day])
    order = np.argsort(day, kind="stable")
    return PurchasePlan(acquired, death, customer[order], day[order])


def days_to_datetimes(
    rng: np.random.Generator, start: dt.datetime, days: np.ndarray
) -> list[dt.datetime]:
    """Whole days plus a believable hour of day (more in the evening), at minute precision."""
    hours = rng.choice(
        np.arange(24),
        size=days.size,
        p=_hour_weights(),
    )
    minutes = rng.integers(0, 60, days.size)
    whole = np.floor(days).astype(np.int64)
    offsets = whole * 1440 + hours * 60 + minutes
    return [start + dt.timedelta(minutes=int(m)) for m in offsets]


def _hour_weights() -> np.ndarray:
    weights = np.array(
        [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 4, 4, 5, 4, 4, 4, 4, 5, 6, 7, 8, 7, 5, 3],
        dtype=float,
    )
    return weights / weights.sum()


def choose_lines(
    rng: np.random.Generator,
    order_customer: np.ndarray,
    preferences: np.ndarray,
    basket_mean: np.ndarray,
    products_by_category: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each order, 1 + Poisson(basket) lines from the customer's favourite categories.

    Returns (order index, product index, quantity) per line.
    """
    per_order = 1 + rng.poisson(basket_mean[order_customer])
    line_order = np.repeat(np.arange(order_customer.size), per_order)
    cumulative = np.cumsum(preferences[order_customer[line_order]], axis=1)
    draws = rng.random(line_order.size)[:, None]
    category = np.minimum((draws > cumulative).sum(axis=1), len(products_by_category) - 1)
    product = np.empty(line_order.size, dtype=np.int64)
    for index, members in enumerate(products_by_category):
        mask = category == index
        product[mask] = members[rng.integers(0, members.size, mask.sum())]
    quantity = np.where(rng.random(line_order.size) < 0.82, 1, 2)
    return line_order, product, quantity
