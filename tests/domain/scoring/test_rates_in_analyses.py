"""Orders in another currency, counted at the owner's rate, count in every analysis alike:
the CLV fit, the segments, the churn risk and a customer's live rescore."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from soloist.domain.imports.pipeline import ImportOptions, import_file
from soloist.domain.scoring.churn import score_churn_risk
from soloist.domain.scoring.clv import AnalyzeOptions, analyze_workspace
from soloist.domain.scoring.live import rescore_customer
from soloist.domain.scoring.segments import segment_customers
from soloist.errors import ValidationError
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore

DATA = Path(__file__).parents[2] / "data"
RATES = {"EUR": Decimal("1.10")}


@pytest.mark.slow
def test_orders_counted_at_a_rate_count_in_every_analysis(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        report = import_file(
            session, "orders", DATA / "CDNOW_sample.txt", ImportOptions(currency="EUR"), "test"
        )
        assert report.status == "imported"
    with sqlite_database.session() as session:
        clv = analyze_workspace(session, "USD", "test", AnalyzeOptions(rates=RATES))
        segments = segment_customers(session, "USD", "test", "rfm", rates=RATES)
        churn = score_churn_risk(session, "USD", "test", rates=RATES)
        assert clv.params["rates"] == {"EUR": "1.10"}
        assert clv.metrics["customers"] == 2357
        assert segments.status == "succeeded"
        assert churn.status == "succeeded"
        customer_id = session.scalars(
            select(CustomerScore.customer_id).where(CustomerScore.model_run_id == clv.id)
        ).first()
        assert customer_id is not None
    with sqlite_database.session() as session:
        # a live rescore reads the customer's orders as the fit did: the score stays
        rescore_customer(session, customer_id)
        kept = session.scalar(
            select(CustomerScore.clv_12m_minor).where(
                CustomerScore.model_run_id == clv.id, CustomerScore.customer_id == customer_id
            )
        )
        assert kept is not None
    with sqlite_database.session() as session, pytest.raises(ValidationError, match="EUR"):
        analyze_workspace(session, "USD", "test")  # without the rate, nothing to analyse
