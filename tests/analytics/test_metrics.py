"""Customer-success metrics, checked by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from soloist.analytics import (
    AnalyticsError,
    average_order_value,
    ces,
    churn_rate,
    cohort_retention,
    conversion_rate,
    csat,
    customer_loyalty_index,
    discounted_clv,
    discounted_clv_by_customer,
    nps,
    purchase_frequency,
    repeat_purchase_rate,
    retention_rate,
)


def test_discounted_clv_discounts_each_period_from_one() -> None:
    # 100/1.1 + 100/1.21 + 100/1.331 = 248.685...
    assert discounted_clv([100, 100, 100], 0.1) == pytest.approx(248.6851991, rel=1e-9)
    assert discounted_clv([100, 100], 0.1, costs=[40, 10]) == pytest.approx(60 / 1.1 + 90 / 1.21)
    assert discounted_clv([5.0], 0.0) == 5.0


def test_discounted_clv_by_customer_sums_each_customers_discounted_margin() -> None:
    frame = pd.DataFrame(
        {
            "c": ["a", "a", "b", "b"],
            "t": [1, 2, 1, 1],
            "rev": [110.0, 121.0, 50.0, 5.0],
            "cost": [0.0, 0.0, 5.0, 0.0],
        }
    )
    out = discounted_clv_by_customer(frame, "c", "t", "rev", 0.1, cost_col="cost")
    assert out["a"] == pytest.approx(200.0)
    assert out["b"] == pytest.approx(50 / 1.1)
    with pytest.raises(AnalyticsError, match="whole periods"):
        discounted_clv_by_customer(frame.assign(t=0), "c", "t", "rev", 0.1)


def test_csat_mean_and_top_two_box_percent() -> None:
    scores = [5, 4, 3, 2, 5]
    assert csat(scores) == pytest.approx(3.8)
    assert csat(scores, mode="percent") == pytest.approx(60.0)
    assert csat([10, 9, 1], scale=10, mode="percent") == pytest.approx(200 / 3)


def test_nps_is_promoters_minus_detractors() -> None:
    # promoters 9,10,10 (3/8); passives 7,8 (2/8); detractors 0,6,3 (3/8)
    assert nps([9, 10, 10, 7, 8, 0, 6, 3]) == 0.0
    assert nps([10, 10, 9, 6]) == pytest.approx(50.0)
    assert nps([0, 1]) == -100.0


def test_ces_is_the_mean_effort_score() -> None:
    assert ces([1, 2, 3, 7]) == pytest.approx(3.25)


def test_rates_follow_their_formulas() -> None:
    assert retention_rate(start=200, end=210, new=50) == pytest.approx(0.8)
    assert churn_rate(start=200, end=210, new=50) == pytest.approx(0.2)
    assert repeat_purchase_rate(30, 120) == pytest.approx(0.25)
    assert conversion_rate(7, 28) == pytest.approx(0.25)
    assert average_order_value(1000.0, 40) == pytest.approx(25.0)
    assert purchase_frequency(40, 16) == pytest.approx(2.5)


def test_customer_loyalty_index_weights_normalised_components() -> None:
    # equal thirds: (0.4 + 0.8 + (20 + 100)/200) / 3 * 100 = 60
    assert customer_loyalty_index(0.4, 0.8, 20) == pytest.approx(60.0)
    weighted = customer_loyalty_index(
        0.4, 0.8, 20, weights={"repeat_rate": 2, "retention": 1, "recommend": 1}
    )
    assert weighted == pytest.approx(100 * (2 * 0.4 + 0.8 + 0.6) / 4)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: csat([]), "empty"),
        (lambda: csat([6, 5]), r"\[1, 5\]"),
        (lambda: csat([4], mode="median"), "mode"),
        (lambda: nps([11]), r"\[0, 10\]"),
        (lambda: nps([7.5]), "whole numbers"),
        (lambda: ces([0]), r"\[1, 7\]"),
        (lambda: retention_rate(0, 5, 1), "start is 0"),
        (lambda: retention_rate(10, 5, 6), "new"),
        (lambda: conversion_rate(3, 0), "touched is 0"),
        (lambda: average_order_value(10.0, 0), "orders is 0"),
        (lambda: repeat_purchase_rate(5, 4), "exceed"),
        (lambda: discounted_clv([], 0.1), "empty"),
        (lambda: discounted_clv([1], -1.0), "rate"),
        (lambda: customer_loyalty_index(1.2, 0.5, 0), "repeat_rate"),
        (lambda: customer_loyalty_index(0.2, 0.5, 150), "nps_score"),
        (lambda: customer_loyalty_index(0.2, 0.5, 0, weights={"x": 1}), "keys"),
    ],
)
def test_bad_input_raises_an_error_naming_the_problem(call: Any, message: str) -> None:
    with pytest.raises(AnalyticsError, match=message):
        call()


def test_cohort_retention_shares_by_first_purchase_month() -> None:
    tx = pd.DataFrame(
        {
            "c": [1, 1, 2, 2, 3, 3, 4],
            "d": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-02-01",
                    "2024-01-20",
                    "2024-03-03",
                    "2024-02-10",
                    "2024-03-01",
                    "2024-03-15",
                ]
            ),
        }
    )
    out = cohort_retention(tx, "c", "d")
    assert list(out.columns) == [0, 1, 2]
    np.testing.assert_allclose(out.iloc[0].to_numpy(), [1.0, 0.5, 0.5])
    assert out.iloc[1, 1] == 1.0
    assert np.isnan(out.iloc[1, 2])  # March + 1 month is beyond the data
    assert np.isnan(out.iloc[2, 1])
