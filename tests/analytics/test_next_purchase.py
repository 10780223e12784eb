"""Next-purchase timing and the CLV model comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soloist.analytics.bg_nbd import BetaGeoModel
from soloist.analytics.next_purchase import (
    compare_clv_models,
    days_to_next_purchase,
    regression_quality,
)

DATA = Path(__file__).parent.parent / "data"


def test_days_to_next_purchase_is_the_median_waiting_time() -> None:
    model = BetaGeoModel()
    model.params_ = {"r": 1.0, "alpha": 10.0, "a": 1.0, "b": 1.0}
    days = days_to_next_purchase(model, np.array([0.0, 4.0]), np.array([10.0, 10.0]))
    # posterior Gamma(r+x, α+T): P(no purchase in t) = ((α+T)/(α+T+t))^(r+x) = 1/2
    for t, x in zip(days, [0.0, 4.0], strict=True):
        assert (20.0 / (20.0 + t)) ** (1.0 + x) == pytest.approx(0.5)
    assert days[1] < days[0]  # a frequent buyer comes back sooner


def test_regression_quality_figures() -> None:
    quality = regression_quality([0, 0, 10, 30], [0, 5, 10, 25])
    assert quality["mae"] == pytest.approx(2.5)
    assert quality["rmse"] == pytest.approx(np.sqrt(50 / 4))
    assert quality["total_error_percent"] == pytest.approx(0.0)
    assert quality["top20_capture"] == pytest.approx(0.75)


@pytest.mark.slow
def test_cdnow_clv_comparison_reports_every_model_on_the_holdout() -> None:
    frame = pd.read_csv(
        DATA / "CDNOW_master.txt", sep=r"\s+", dtype={"customer_id": str, "date": str}
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    result = compare_clv_models(frame, "1998-06-30", horizon_days=90, amount_col="dollar_value")
    comparison = result["comparison"]
    assert set(comparison) == {"linear", "decision_tree", "gradient_boosting", "btyd"}
    best = comparison[result["chosen"]]
    assert best["rmse"] == min(q["rmse"] for q in comparison.values())
    assert comparison["btyd"]["spearman"] > 0.3
    assert abs(comparison["btyd"]["total_error_percent"]) < 30
