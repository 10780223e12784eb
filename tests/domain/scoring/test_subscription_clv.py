"""`analyze` for a subscription business (no paid orders): the sBG retention model recovers
known truth, whether the whole book was watched or only last month's leavers were recorded
(the Telco layout), and the real Telco book gets a check it can defend."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from tests.domain.scoring.test_real_data_runs import add_telco
from tests.real_data import telco_frame

from soloist.analytics import ShiftedBetaGeometricModel, fit_sbg_censored
from soloist.domain.audit import insert_rows
from soloist.domain.customers.records import CustomerCreate, add_customers_bulk
from soloist.domain.scoring.clv import AnalyzeOptions, analyze_workspace
from soloist.domain.scoring.subscription_clv import (
    cross_validated_check,
    lifetimes,
    value_of_running,
)
from soloist.errors import ValidationError
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore, Subscription

END = pd.Timestamp("2026-06-30")


def simulated_book(alpha: float, beta: float, n: int, seed: int) -> pd.DataFrame:
    """Monthly subscriptions started over five years; each subscriber cancels at the end of a
    month with probability theta ~ Beta(alpha, beta) (the sBG story)."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, n)
    lasts = np.minimum(rng.geometric(theta), 1000)  # periods paid, >= 1 (capped: past END)
    months, days = rng.integers(1, 60, n), rng.integers(0, 28, n)
    starts = [
        END - pd.DateOffset(months=int(m)) - pd.Timedelta(days=int(d))
        for m, d in zip(months, days, strict=True)
    ]
    ends = [
        s + pd.DateOffset(months=int(k)) - pd.Timedelta(days=1)
        for s, k in zip(starts, lasts, strict=True)
    ]
    return pd.DataFrame(
        {
            "customer_id": range(n),
            "started_at": starts,
            "cancelled_at": [e if e <= END else pd.NaT for e in ends],
            "price": 10.0,
            "interval": "month",
        }
    )


def test_the_whole_book_recovers_the_true_retention() -> None:
    book = lifetimes(simulated_book(0.7, 1.2, 4000, seed=1), END)
    model = fit_sbg_censored(book["periods"], book["cancelled"], book["entry"])
    assert model.params_["alpha"] == pytest.approx(0.7, rel=0.15)
    assert model.params_["beta"] == pytest.approx(1.2, rel=0.15)
    check = cross_validated_check(book)
    assert abs(check["aggregate_error_percent"]) < 5


def test_a_book_that_records_only_last_months_leavers_is_read_as_such() -> None:
    """Keep only the subscriptions alive a month before the end (the Telco snapshot): read
    without left truncation, it looks like years without a cancellation."""
    full = simulated_book(0.7, 1.2, 6000, seed=2)
    alive_then = full["cancelled_at"].isna() | (full["cancelled_at"] > END - pd.Timedelta(days=30))
    snapshot = lifetimes(full[alive_then & (full["started_at"] < END - pd.Timedelta(days=30))], END)
    assert snapshot["entry"].gt(0).mean() > 0.8
    truncated = fit_sbg_censored(snapshot["periods"], snapshot["cancelled"], snapshot["entry"])
    naive = fit_sbg_censored(snapshot["periods"], snapshot["cancelled"])
    truth = ShiftedBetaGeometricModel()
    truth.params_ = {"alpha": 0.7, "beta": 1.2}
    tenure = np.array([1, 3, 12, 36])
    assert np.allclose(truncated.retention_rate(tenure), truth.retention_rate(tenure), atol=0.03)
    assert not np.allclose(naive.retention_rate(tenure), truth.retention_rate(tenure), atol=0.03)
    check = cross_validated_check(snapshot)
    assert abs(check["aggregate_error_percent"]) < 10


def test_a_subscribers_value_is_the_discounted_chance_of_each_renewal() -> None:
    model = ShiftedBetaGeometricModel()
    model.params_ = {"alpha": 0.7, "beta": 1.2}
    started = END - pd.DateOffset(months=5) + pd.Timedelta(days=3)  # 4 periods paid; next in 3 days
    book = lifetimes(
        pd.DataFrame({"customer_id": [1], "started_at": [started], "cancelled_at": [pd.NaT],
                      "price": [10.0], "interval": ["month"]}),
        END,
    )  # fmt: skip
    assert book["periods"].tolist() == [4]
    (value,) = value_of_running(model, book, END, annual_discount_rate=0.10).itertuples()
    keep = model.survival(np.arange(5, 17)) / model.survival(4)  # renewals 5 … 16 within a year
    monthly = 1.1 ** (1 / 12) - 1
    assert value.clv == pytest.approx(float((10 * keep / (1 + monthly) ** np.arange(1, 13)).sum()))
    assert value.expected_90 == pytest.approx(float(keep[:3].sum()))


@pytest.mark.slow
def test_analyze_values_the_telco_book_with_a_check_it_can_defend(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session() as session:
        add_telco(session)
    with sqlite_database.session() as session:
        run = analyze_workspace(session, "USD", "test")
        check = run.metrics["holdout"]
        assert run.params["basis"] == "subscriptions"
        assert run.metrics["customers"] == 7043
        assert run.metrics["running"] == 5174
        assert check["actual_cancellations"] == 1869
        assert check["predicted_cancellations"] == pytest.approx(1869, rel=0.05)
        # better than one churn rate for everyone (sqrt(p(1-p)) at p = 1869/7043)
        assert check["rmse"] < np.sqrt(0.2654 * 0.7346)
        scores = session.execute(
            select(CustomerScore.p_alive, CustomerScore.clv_12m_minor).where(
                CustomerScore.model_run_id == run.id
            )
        ).all()
        assert sum(p == 1.0 for p, _ in scores) == 5174
        assert all(clv == 0 for p, clv in scores if p == 0.0)
        assert all(clv > 0 for p, clv in scores if p == 1.0)


@pytest.mark.slow
def test_segments_of_a_subscription_business_rest_on_its_payments(
    sqlite_database: Database,
) -> None:
    from soloist.domain.scoring.segments import segment_customers

    with sqlite_database.session() as session:
        ids = add_telco(session)
    with sqlite_database.session() as session:
        run = segment_customers(session, "USD", "test", "kmeans")
        assert run.params["basis"] == "subscriptions"
        assert run.status == "succeeded"
        segments = dict(
            session.execute(
                select(CustomerScore.customer_id, CustomerScore.segment).where(
                    CustomerScore.model_run_id == run.id
                )
            ).all()
        )
    assert len(segments) == 7043
    frame = telco_frame()
    by_row = [segments[ids[i]] for i in range(len(frame))]
    staying = (frame["Churn"] == "No").to_numpy()
    long_paying = staying & (frame["tenure"] >= 24).to_numpy()
    # a subscriber who has paid two years and still pays is never "lost" or "hibernating"
    assert not {by_row[i] for i in np.flatnonzero(long_paying)} & {"lost", "hibernating"}
    # and more of them are champions or loyal than of the first-year subscribers
    good = {"champions", "loyal"}
    first_year = (frame["tenure"] <= 12).to_numpy()
    share = lambda mask: np.mean([by_row[i] in good for i in np.flatnonzero(mask)])  # noqa: E731
    assert share(long_paying) > share(first_year)


def _book(session: Any, rows: list[dict[str, Any]]) -> list[int]:
    people = [CustomerCreate(name=f"S{i}") for i in range(len(rows))]
    ids = add_customers_bulk(session, people, "test", "book")
    insert_rows(
        session,
        Subscription,
        [
            {"customer_id": ids[i], "plan": "p", "currency": "USD", **row}
            for i, row in enumerate(rows)
        ],
        "test",
        "book",
    )
    return ids


@pytest.mark.slow
def test_a_small_book_alike_subscribers_and_odd_rows_are_valued_honestly(
    sqlite_database: Database,
) -> None:
    """Sixty monthly subscribers who all leave at one rate (the sBG runs off to its geometric
    limit), five yearly ones too few to model, two cancelled without a date."""
    rng = np.random.default_rng(4)
    start = pd.Timestamp("2024-01-01", tz="UTC")
    rows: list[dict[str, Any]] = []
    for _ in range(60):
        begun = start + pd.DateOffset(months=int(rng.integers(0, 12)))
        lasts = int(rng.geometric(0.08))
        ended = begun + pd.DateOffset(months=lasts) - pd.Timedelta(days=3)
        gone = ended <= pd.Timestamp("2025-12-31", tz="UTC")
        rows.append(
            {
                "billing_interval": "month",
                "price_minor": 1000,
                "started_at": begun.to_pydatetime(),
                "status": "cancelled" if gone else "active",
                "cancelled_at": ended.to_pydatetime() if gone else None,
            }
        )
    rows += [{"billing_interval": "year", "price_minor": 9000, "status": "active",
              "started_at": start.to_pydatetime(), "cancelled_at": None}] * 5  # fmt: skip
    rows += [{"billing_interval": "month", "price_minor": 1000, "status": "cancelled",
              "started_at": start.to_pydatetime(), "cancelled_at": None}] * 2  # fmt: skip
    with sqlite_database.session() as session:
        ids = _book(session, rows)
    with sqlite_database.session() as session:
        run = analyze_workspace(session, "USD", "test")
        scores = {
            cid: (p, clv)
            for cid, p, clv in session.execute(
                select(CustomerScore.customer_id, CustomerScore.p_alive,
                       CustomerScore.clv_12m_minor).where(CustomerScore.model_run_id == run.id)
            )
        }  # fmt: skip
        codes = {note["code"] for note in run.params["notes"]}
        assert {"interval_skipped", "constant_retention"} <= codes
        # a yearly subscriber still pays: active, with no value the model could give
        assert all(scores[cid] == (1.0, None) for cid in ids[60:65])
        # cancelled with no day: gone, and left out of the fit
        assert all(scores[cid] == (0.0, 0) for cid in ids[65:])
        check = run.metrics["holdout"]
        assert abs(check["aggregate_error_percent"]) < 10
        last = max(r["cancelled_at"] or r["started_at"] for r in rows[:60])
        with pytest.raises(ValidationError, match="after the book's last recorded"):
            analyze_workspace(
                session, "USD", "test",
                AnalyzeOptions(observation_end=(last + dt.timedelta(days=40)).date()),
            )  # fmt: skip
