"""Scoring churn on the demo business: the comparison is stored, every score has reasons."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from soloist.demo.business import build_demo
from soloist.domain.feedback_text import reviews_version, workspace_scorer
from soloist.domain.scoring.churn import score_churn_risk
from soloist.domain.scoring.live import rescore_churn_risk
from soloist.domain.scoring.scores import scores_of_customer
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore

END = dt.date(2026, 6, 30)


def test_churn_run_stores_comparison_scores_and_reasons(database: Database) -> None:
    with database.session() as session:
        build_demo(session, customers=400, seed=5, end_date=END, owner_password="demo-password-1")
    with database.session() as session:
        run = score_churn_risk(session, "USD", "test", horizon_days=90)
        metrics = run.metrics
        run_id = run.id
    comparison = metrics["comparison"]
    assert {"logistic", "random_forest", "gradient_boosting", "bg_nbd_p_alive"} <= set(comparison)
    best = comparison[metrics["chosen"]]
    assert best["roc_auc"] == max(q["roc_auc"] for q in comparison.values())
    assert best["roc_auc"] > 0.7  # the demo's Pareto/NBD buying process is learnable
    assert metrics["clv_comparison"]["chosen"] in metrics["clv_comparison"]["comparison"]
    assert "csat" in metrics["satisfaction_drivers"]
    with database.read_session() as session:  # the feedback scorer it read the texts with
        assert metrics["sentiment"] == workspace_scorer(session).record()
        assert metrics["sentiment"]["reviews_version"] == reviews_version(session)
    with database.session() as session:
        rows = session.scalars(select(CustomerScore).where(CustomerScore.model_run_id == run_id))
        rows = list(rows)
        assert len(rows) == metrics["customers_scored"]
        assert all(0 <= r.churn_risk <= 1 for r in rows)
        assert all(r.reasons["churn"] and r.reasons["churn"][0]["text"] for r in rows)
        assert sum(r.next_purchase_days is not None for r in rows) > len(rows) / 2
        shown = scores_of_customer(session, rows[0].customer_id)
        assert shown.values["churn_risk"] == rows[0].churn_risk
        assert "churn" in shown.reasons
    # What customers wrote feeds the satisfaction drivers and the churn reasons.
    csat_factors = {d["factor"] for d in metrics["satisfaction_drivers"]["csat"]["drivers"]}
    assert "ticket_sentiment" in csat_factors
    with database.session() as session:
        negative = [
            r
            for r in session.scalars(
                select(CustomerScore).where(CustomerScore.model_run_id == run_id)
            )
            if any(x["feature"] == "feedback_sentiment" for x in r.reasons["churn"])
        ]
    assert negative
    said = next(x for x in negative[0].reasons["churn"] if x["feature"] == "feedback_sentiment")
    assert said["value"] < 0
    assert said["value"] < said["typical"]
    # Scored again after a new order (from the run's stored fit), the reason stays.
    with database.session() as session:
        again = rescore_churn_risk(
            session, negative[0].customer_id, now=dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
        )
    assert again is not None  # the demo's churn run keeps a logistic scorer
    assert said in again.reasons["churn"]
