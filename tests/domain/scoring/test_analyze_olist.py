"""`analyze`, `segments` and `churn` on the Olist sample: 3,958 buying customers of whom 2
bought again. Each succeeds with what the data can support, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from soloist.domain.imports.bundle import import_files
from soloist.domain.scoring.churn import score_churn_risk
from soloist.domain.scoring.clv import analyze_workspace
from soloist.domain.scoring.segments import segment_customers
from soloist.storage.database import Database

OLIST = Path(__file__).parents[2] / "data" / "olist"


@pytest.mark.slow
def test_a_log_of_one_time_buyers_gets_figures_it_can_defend(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        import_files(session, "auto", [OLIST], actor="test", default_currency="BRL")
    with sqlite_database.session() as session:
        clv = analyze_workspace(session, "BRL", "test")
        # two repeat buyers cannot teach a BTYD model: one average rate, and it says so
        assert clv.params["purchase_model"] == "pooled-rate"
        assert clv.metrics["repeat_customers"] == 2
        assert {n["code"] for n in clv.params["notes"]} >= {"pooled_rate", "pooled_spend"}
        holdout = clv.metrics["holdout"]
        assert holdout["actual_repeat_purchases"] == 0
        assert holdout["predicted_repeat_purchases"] < 5
        assert clv.metrics["mean_p_alive"] is None  # nobody's P(alive) is claimed
        segments = segment_customers(session, "BRL", "test", "kmeans")
        warnings = segments.metrics.get("warnings") or segments.params.get("warnings") or []
        assert any(w.get("code") == "one_time_buyers" for w in warnings)
        churn = score_churn_risk(session, "BRL", "test")
        assert churn.metrics["chosen"] == "base_rate"
        assert churn.metrics["comparison"]["base_rate"]["roc_auc"] == 0.5
        assert churn.metrics["notes"]
