"""Gamma-Gamma spend model and shifted-beta-geometric retention model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from soloist.analytics import (
    AnalyticsError,
    GammaGammaModel,
    NotFittedError,
    ShiftedBetaGeometricModel,
)

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


@pytest.fixture(scope="module")
def repeat_buyers(sample_holdout_summary: pd.DataFrame) -> pd.DataFrame:
    s = sample_holdout_summary
    return s[s["frequency"] > 0]


def test_gamma_gamma_reproduces_published_cdnow_spend_estimates(
    repeat_buyers: pd.DataFrame,
) -> None:
    model = GammaGammaModel().fit(repeat_buyers["frequency"], repeat_buyers["monetary_value"])
    assert len(repeat_buyers) == 946
    # Fader, Hardie & Lee (2005, JMR): p = 6.25, q = 3.74, gamma = 15.44
    assert model.params_["p"] == pytest.approx(6.25, abs=5e-3)
    assert model.params_["q"] == pytest.approx(3.74, abs=5e-3)
    assert model.params_["v"] == pytest.approx(15.44, abs=5e-3)
    assert model.expected_average_spend() == pytest.approx(
        6.25 * 15.44 / 2.74, rel=2e-3
    )  # ~ $35.2 population mean spend


def test_gamma_gamma_gradient_matches_finite_differences(repeat_buyers: pd.DataFrame) -> None:
    model = GammaGammaModel()
    x = repeat_buyers["frequency"].to_numpy()[:50]
    m = repeat_buyers["monetary_value"].to_numpy()[:50]
    # fit once to capture the objective through the optimiser hook
    captured: dict[str, Any] = {}
    original = model._maximise

    def spy(objective: Any, *args: Any) -> None:
        captured["f"] = objective
        original(objective, *args)

    model._maximise = spy  # type: ignore[method-assign]
    model.fit(x, m)
    z = np.log([2.0, 3.0, 10.0])
    _, g = captured["f"](z)
    h = 1e-6
    fd = [(captured["f"](z + h * e)[0] - captured["f"](z - h * e)[0]) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_conditional_expected_average_profit_is_a_weighted_mean() -> None:
    model = GammaGammaModel()
    model.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    x, m = 4.0, 50.0
    weight = 6.25 * x / (6.25 * x + 3.74 - 1)
    expected = (1 - weight) * 6.25 * 15.44 / 2.74 + weight * m
    assert model.conditional_expected_average_profit([x], [m])[0] == pytest.approx(expected)


def test_gamma_gamma_rejects_bad_spend_and_unfitted_use() -> None:
    with pytest.raises(AnalyticsError, match="monetary_value must be > 0"):
        GammaGammaModel().fit([1, 2] * 10, [0.0, 5.0] * 10)
    with pytest.raises(AnalyticsError, match="at least 10"):
        GammaGammaModel().fit([1, 2], [3.0, 5.0])
    with pytest.raises(NotFittedError):
        GammaGammaModel().conditional_expected_average_profit([1], [2])


@pytest.mark.parametrize(
    ("survivors", "alpha", "beta", "label"),
    [(REGULAR, 0.704, 1.182, "regular"), (HIGH_END, 0.668, 3.806, "high end")],
)
def test_sbg_reproduces_fader_hardie_2007_estimates(
    survivors: list[int], alpha: float, beta: float, label: str
) -> None:
    # F&H (2007) Table 1 data; note the "regular" segment (63.1% retained after year 1) gives
    # alpha=0.704, beta=1.182 and the "high end" segment alpha=0.668, beta=3.806
    model = ShiftedBetaGeometricModel().fit(survivors)
    assert model.params_["alpha"] == pytest.approx(alpha, abs=5e-4), label
    assert model.params_["beta"] == pytest.approx(beta, abs=5e-4), label
    fitted = model.expected_survivors(1000, len(survivors) - 1)
    np.testing.assert_allclose(fitted, survivors, rtol=0.05)


def test_sbg_retention_rate_rises_with_tenure_and_matches_survival_ratio() -> None:
    model = ShiftedBetaGeometricModel().fit(REGULAR)
    t = np.arange(1, 13)
    rates = model.retention_rate(t)
    assert np.all(np.diff(rates) > 0)
    np.testing.assert_allclose(rates, model.survival(t) / model.survival(t - 1), rtol=1e-12)
    assert model.survival(0) == 1.0
    assert model.probability_churn(1) == pytest.approx(1 - model.survival(1))


def test_sbg_derl_closed_form_equals_the_discounted_sum() -> None:
    model = ShiftedBetaGeometricModel().fit(HIGH_END)
    d = 0.1
    for renewals in (0, 1, 4):
        n = renewals + 1
        t = np.arange(n, 4000)
        direct = np.sum(model.survival(t) / model.survival(n - 1) / (1 + d) ** (t - n))
        assert model.discounted_expected_residual_lifetime(d, renewals) == pytest.approx(
            direct, rel=1e-9
        )
    direct_del = np.sum(model.survival(np.arange(0, 4000)) / (1 + d) ** np.arange(0, 4000))
    assert model.discounted_expected_lifetime(d) == pytest.approx(direct_del, rel=1e-9)
    assert model.expected_lifetime() == float("inf")  # alpha < 1: heavy tail


@pytest.mark.parametrize(
    ("survivors", "message"),
    [
        ([1000], "at least one period"),
        ([100, 120], "non-increasing"),
        ([100, 100, 100], "no customer churned"),
        ([0, 0], "cohort size"),
    ],
)
def test_sbg_rejects_unusable_survivor_counts(survivors: list[int], message: str) -> None:
    with pytest.raises(AnalyticsError, match=message):
        ShiftedBetaGeometricModel().fit(survivors)
