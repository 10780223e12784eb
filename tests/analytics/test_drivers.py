"""Satisfaction drivers: OLS with HC3 errors recovers known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from soloist.analytics.drivers import ols_hc3, satisfaction_drivers
from soloist.analytics.errors import AnalyticsError


def test_hc3_matches_the_textbook_formula_row_by_row() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(50), rng.normal(size=50)])
    y = 1 + 2 * X[:, 1] + rng.normal(size=50) * (1 + np.abs(X[:, 1]))
    fit = ols_hc3(X, y)
    bread = np.linalg.inv(X.T @ X)
    e = y - X @ fit["coef"]
    meat = np.zeros((2, 2))
    for i in range(50):
        h = X[i] @ bread @ X[i]
        meat += np.outer(X[i], X[i]) * e[i] ** 2 / (1 - h) ** 2
    assert fit["se"] == pytest.approx(np.sqrt(np.diag(bread @ meat @ bread)))
    assert fit["coef"] == pytest.approx(np.linalg.lstsq(X, y, rcond=None)[0])


def test_drivers_rank_the_real_effects_first_with_honest_intervals() -> None:
    rng = np.random.default_rng(1)
    n = 600
    frame = pd.DataFrame(
        {
            "response_hours": rng.exponential(10, n),
            "category": rng.choice(["shipping", "product", "refund"], n),
            "price_paid": rng.normal(50, 10, n),
        }
    )
    frame["csat"] = (
        4.0 - 0.05 * frame["response_hours"] - 0.6 * (frame["category"] == "refund")
        + rng.normal(0, 0.5, n)
    )  # fmt: skip
    drivers = satisfaction_drivers(frame, "csat")
    assert set(drivers.iloc[:3]["factor"]) == {"response_hours", "category"}
    refund = drivers[drivers["level"] == "refund"]
    if len(refund):  # refund against a reference level, otherwise others against refund
        assert refund.iloc[0]["ci_lower"] < -0.6 < refund.iloc[0]["ci_upper"]
    hours = drivers[drivers["factor"] == "response_hours"].iloc[0]
    sd = frame["response_hours"].std(ddof=0)
    assert hours["ci_lower"] < -0.05 * sd < hours["ci_upper"]
    price = drivers[drivers["factor"] == "price_paid"].iloc[0]
    assert not price["significant"]
    assert drivers.attrs["n"] == n
    assert 0 < drivers.attrs["r2"] < 1


def test_drivers_refuse_too_few_answers() -> None:
    frame = pd.DataFrame({"csat": [1, 2, 3], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(AnalyticsError, match="too few"):
        satisfaction_drivers(frame, "csat")
