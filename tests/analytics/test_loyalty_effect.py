from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from soloist.analytics.errors import AnalyticsError
from soloist.analytics.loyalty_effect import (
    bootstrap_difference,
    cuped_adjust,
    paired_difference,
    welch_difference,
)


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(10, 3, 80), rng.normal(9, 1, 30)
    ours = welch_difference(a, b, confidence=0.9)
    theirs = stats.ttest_ind(a, b, equal_var=False)
    interval = theirs.confidence_interval(0.9)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-10)
    assert ours.difference == pytest.approx(a.mean() - b.mean())


def test_paired_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    before = rng.poisson(2, 50).astype(float)
    after = before + rng.normal(0.5, 1, 50)
    ours = paired_difference(before, after)
    theirs = stats.ttest_rel(after, before)
    interval = theirs.confidence_interval(0.95)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((interval.low, interval.high), rel=1e-10)


def test_bootstrap_agrees_with_welch_on_normal_data() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1, 400), rng.normal(0.7, 1, 400)
    boot = bootstrap_difference(a, b, n_resamples=4000, seed=5)
    welch = welch_difference(a, b)
    assert boot.ci_low == pytest.approx(welch.ci_low, abs=0.03)
    assert boot.ci_high == pytest.approx(welch.ci_high, abs=0.03)
    assert boot.significant
    assert boot.standard_error == pytest.approx(welch.standard_error, rel=0.1)


def test_cuped_narrows_the_interval_and_keeps_the_difference_unbiased() -> None:
    rng = np.random.default_rng(4)
    n = 600
    before = rng.gamma(2, 50, n)
    treated = rng.random(n) < 0.5
    after = 0.8 * before + rng.normal(0, 20, n) + np.where(treated, 10.0, 0.0)
    raw = welch_difference(after[treated], after[~treated])
    adjusted_all = cuped_adjust(after, before)
    adjusted = welch_difference(adjusted_all[treated], adjusted_all[~treated])
    assert adjusted_all.mean() == pytest.approx(after.mean())
    assert adjusted.standard_error < raw.standard_error / 3
    assert adjusted.ci_low < 10 < adjusted.ci_high
    assert adjusted.minimum_detectable_difference < raw.minimum_detectable_difference


def test_refuses_samples_too_small_or_broken() -> None:
    with pytest.raises(AnalyticsError, match="treated"):
        welch_difference([1.0], [1.0, 2.0])
    with pytest.raises(AnalyticsError, match="missing"):
        welch_difference([1.0, float("nan")], [1.0, 2.0])
    with pytest.raises(AnalyticsError, match="length"):
        paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(AnalyticsError, match="confidence"):
        welch_difference([1.0, 2.0], [1.0, 2.0], confidence=1.5)
