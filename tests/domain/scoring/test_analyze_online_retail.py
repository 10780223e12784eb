"""`analyze` on the full UCI Online Retail log (13 monthly files, 4,339 buying customers): the
log on which every model of the old `analyze` failed its holdout fit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from soloist.analytics import BetaGeoModel, rfm_summary
from soloist.config import load_settings
from soloist.domain.imports.pipeline import ImportOptions, import_file
from soloist.domain.scoring.clv import AnalyzeOptions, analyze_workspace, load_paid_orders
from soloist.storage.crypto import generate_master_key
from soloist.storage.database import Database
from soloist.storage.migrate import upgrade_database
from soloist.storage.models import CustomerScore

RETAIL = Path(__file__).parents[2] / "data" / "online-retail"


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    folder = tmp_path_factory.mktemp("online-retail")
    settings = load_settings(
        workspace=folder, environ={"SOLOIST_MASTER_KEY": generate_master_key()}
    )
    database = Database(settings)
    upgrade_database(database.engine)
    for path in sorted(RETAIL.glob("online_retail_*.csv.gz")):
        with database.session() as session:
            report = import_file(session, "orders", path, ImportOptions(currency="GBP"), "test")
            assert report.status == "imported", path
    yield database
    database.dispose()


@pytest.mark.slow
def test_analyze_succeeds_on_the_full_log_and_says_which_model_and_why(retail: Database) -> None:
    with retail.session() as session:
        run = analyze_workspace(session, "GBP", "test")
        comparison = run.metrics["model_comparison"]
        holdout = run.metrics["holdout"]
        assert run.status == "succeeded"
        assert run.metrics["customers"] == 4339
        assert comparison["chosen"] == run.params["purchase_model"]
        assert comparison["chosen"] in comparison["reason"]
        # every model is either compared or explained
        assert set(comparison["candidates"]) | set(comparison["failed"]) == {
            "bg-nbd", "mbg-nbd", "pareto-nbd"
        }  # fmt: skip
        assert all(why for why in comparison["failed"].values())
        # the calibration fit needed a penalty, chosen by cross-validation
        assert run.metrics["model_comparison"]["candidates"][comparison["chosen"]]["penalizer"] > 0
        assert holdout["holdout_days"] == 90
        # the figures docs/tutorial.md and docs/clv.md quote
        assert holdout["actual_repeat_purchases"] == 4483
        assert comparison["chosen"] == "mbg-nbd"
        assert holdout["predicted_repeat_purchases"] == pytest.approx(3519, rel=0.01)
        assert "pareto-nbd" in comparison["failed"]
        assert holdout["aggregate_error_percent"] is not None
        assert holdout["rmse"] > 0
        # nobody who never came back is shown as certainly still active
        one_time = set(
            rfm_summary(
                load_paid_orders(session, "GBP"), "customer_id", "ordered_at", "amount",
                observation_end=run.data_end.replace(tzinfo=None),
            ).query("frequency == 0").index
        )  # fmt: skip
        scores = session.execute(
            select(CustomerScore.customer_id, CustomerScore.p_alive).where(
                CustomerScore.model_run_id == run.id
            )
        ).all()
        assert all(p is None or p < 0.99 for cid, p in scores if cid in one_time)
        assert run.params["notes"]  # and the run says why the probability is blank


@pytest.mark.slow
def test_the_full_window_bg_nbd_gives_the_figures_lifetimes_users_know(retail: Database) -> None:
    with retail.session() as session:
        orders = load_paid_orders(session, "GBP")
    summary = rfm_summary(
        orders, "customer_id", "ordered_at", "amount", observation_end=orders["ordered_at"].max()
    )
    seen = summary[summary["T"] > 0]
    model = BetaGeoModel().fit(seen["frequency"], seen["recency"], seen["T"])
    assert model.params_["r"] == pytest.approx(0.826, abs=0.01)
    assert model.params_["alpha"] == pytest.approx(68.9, rel=0.02)
    assert model.params_["a"] == pytest.approx(0.0034, abs=0.0005)
    assert model.params_["b"] == pytest.approx(6.75, rel=0.05)


@pytest.mark.slow
def test_an_end_date_and_a_short_window_shrink_the_holdout_instead_of_crashing(
    retail: Database,
) -> None:
    """One month of data with the default holdout once crashed with an OverflowError."""
    with retail.session() as session:
        run = analyze_workspace(
            session, "GBP", "test", AnalyzeOptions(observation_end=dt.date(2010, 12, 31))
        )
        assert run.data_end is not None
        assert run.data_end.date() == dt.date(2010, 12, 31)
        assert run.metrics["holdout"]["holdout_days"] == 30 // 3
