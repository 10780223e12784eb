from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from soloist.demo.business import build_demo
from soloist.demo.purchases import TRUE_ALPHA, TRUE_R
from soloist.domain.scoring.clv import AnalyzeOptions, analyze_workspace, latest_run
from soloist.errors import ValidationError
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore, Order

END = dt.date(2026, 6, 30)


def test_analyze_scores_every_buyer_and_keeps_the_run(database: Database) -> None:
    with database.session() as session:
        build_demo(session, customers=300, seed=11, end_date=END, owner_password="a demo password")
    with database.session() as session:
        run = analyze_workspace(session, "USD", "test")
        run_id = run.id
    with database.session() as session:
        run = latest_run(session)
        assert run is not None
        assert run.id == run_id
        assert run.status == "succeeded"
        buyers = session.scalar(
            select(func.count(func.distinct(Order.customer_id))).where(Order.status == "paid")
        )
        scores = session.scalars(
            select(CustomerScore).where(CustomerScore.model_run_id == run_id)
        ).all()
        assert len(scores) == buyers
        assert all(0.0 <= s.p_alive <= 1.0 for s in scores)
        assert all(s.clv_12m_minor >= 0 and s.expected_purchases_90d >= 0 for s in scores)
        assert set(run.params["purchase"]) == {"r", "alpha", "a", "b"}
        assert set(run.params["spend"]) == {"p", "q", "v"}
        assert 0 < run.params["margin"] < 1  # the demo's products have costs
        holdout = run.metrics["holdout"]
        assert holdout["actual_repeat_purchases"] > 0
        assert run.data_end is not None
        assert run.data_end.date() <= END


def test_customers_who_stopped_buying_are_less_likely_alive(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        build_demo(session, customers=600, seed=5, end_date=END)
        run_id = analyze_workspace(session, "USD", "test").id
        last = dict(
            session.execute(
                select(Order.customer_id, func.max(Order.ordered_at)).group_by(Order.customer_id)
            ).all()
        )
        counts = dict(
            session.execute(
                select(Order.customer_id, func.count(Order.id)).group_by(Order.customer_id)
            ).all()
        )
        scores = session.scalars(
            select(CustomerScore).where(CustomerScore.model_run_id == run_id)
        ).all()
    cutoff = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    quiet = [
        s.p_alive for s in scores if counts[s.customer_id] >= 4 and last[s.customer_id] < cutoff
    ]
    recent = [
        s.p_alive
        for s in scores
        if counts[s.customer_id] >= 4
        and last[s.customer_id] > dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    ]
    assert quiet
    assert recent
    assert sum(quiet) / len(quiet) < 0.5 < sum(recent) / len(recent)


@pytest.mark.slow
def test_pareto_nbd_recovers_the_demo_buying_process(sqlite_database: Database) -> None:
    """The demo draws purchases from a Pareto/NBD process, so fitting one must find its rates."""
    with sqlite_database.session() as session:
        build_demo(session, customers=2000, seed=42, end_date=END)
        run = analyze_workspace(session, "USD", "test", AnalyzeOptions(model="pareto-nbd"))
    fitted = run.params["purchase"]
    assert fitted["r"] == pytest.approx(TRUE_R, rel=0.25)
    assert fitted["alpha"] == pytest.approx(TRUE_ALPHA, rel=0.3)
    assert abs(run.metrics["holdout"]["aggregate_error_percent"]) < 10


def test_analyze_refuses_an_empty_workspace_and_unknown_models(sqlite_database: Database) -> None:
    with (
        pytest.raises(ValidationError, match="no paid orders"),
        sqlite_database.session() as session,
    ):
        analyze_workspace(session, "USD", "test")
    with (
        pytest.raises(ValidationError, match="Unknown model"),
        sqlite_database.session() as session,
    ):
        analyze_workspace(session, "USD", "test", AnalyzeOptions(model="crystal-ball"))


def test_analyze_saves_the_holdout_figures_when_asked(
    sqlite_database: Database, tmp_path: Path
) -> None:
    with sqlite_database.session() as session:
        build_demo(session, customers=200, seed=9, end_date=END)
        run = analyze_workspace(
            session, "USD", "test", AnalyzeOptions(plots_dir=tmp_path / "plots")
        )
    saved = [Path(p) for p in run.metrics["holdout"]["plots"]]
    assert [p.name for p in saved] == ["calibration_holdout.png", "cumulative_repeat_purchases.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in saved)
    rows = run.metrics["holdout"]["by_calibration_frequency"]
    assert rows[0]["frequency"] == "0"
    assert sum(r["actual_total"] for r in rows) == run.metrics["holdout"]["actual_repeat_purchases"]
