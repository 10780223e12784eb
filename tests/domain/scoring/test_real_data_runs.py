"""Churn and segment runs on the real data sets in a workspace: Telco (subscriptions, no
orders), the Olist sample (one-time buyers) and ``observation_end`` on the demo business."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.real_data import TELCO_DAY, olist_transactions, telco_frame, telco_subscriptions

from soloist.demo.business import build_demo
from soloist.domain.audit import insert_rows
from soloist.domain.customers.records import CustomerCreate, add_customers_bulk
from soloist.domain.scoring.churn import score_churn_risk
from soloist.domain.scoring.segments import load_transactions, segment_customers
from soloist.errors import ValidationError
from soloist.storage.database import Database
from soloist.storage.models import CustomerScore, Order, Subscription

REPEAT_NAMES = {"champions", "loyal", "potential loyalists", "can't lose"}


def _utc(moment: Any) -> dt.datetime:
    return pd.Timestamp(moment).to_pydatetime().replace(tzinfo=dt.UTC)


def add_telco(session: Session) -> list[int]:
    """The Telco customers, their other columns (Churn too) as their own fields, and one
    monthly subscription each (see tests/real_data.py); returns the customer ids."""
    frame = telco_frame()
    subscriptions, fields = telco_subscriptions(frame)
    people = [
        CustomerCreate(external_id=f"telco-{cid}", name=str(cid), custom_fields=extra)
        for cid, extra in zip(frame["customerID"], fields.to_dict(orient="records"), strict=True)
    ]
    ids = add_customers_bulk(session, people, "test", "telco customers")
    rows = [
        {
            "customer_id": ids[int(row.customer_id)],
            "plan": str(row.plan),
            "status": "active" if pd.isna(row.cancelled_at) else "cancelled",
            "billing_interval": "month",
            "price_minor": round(float(row.price) * 100),
            "currency": "USD",
            "started_at": _utc(row.started_at),
            "cancelled_at": None if pd.isna(row.cancelled_at) else _utc(row.cancelled_at),
        }
        for row in subscriptions.itertuples()
    ]
    insert_rows(session, Subscription, rows, "test", "telco subscriptions")
    return ids


@pytest.mark.slow
def test_a_subscription_business_gets_churn_scores_without_orders(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session() as session:
        add_telco(session)
    with sqlite_database.session() as session:
        run = score_churn_risk(session, "USD", "test")
        run_id, metrics, data_end = run.id, run.metrics, run.data_end
    sub = metrics["subscription"]
    best = sub["cross_validation"][sub["chosen"]]
    print(f"\nTelco workspace: {sub['chosen']} 5-fold ROC AUC {best['roc_auc']:.3f}")
    assert metrics["basis"] == "subscriptions"
    assert metrics["order_churn_message"] == "no paid orders in USD"
    assert metrics["chosen"] == f"subscription {sub['chosen']}"
    assert best["roc_auc"] >= 0.84
    assert sub["rows"] == 7043
    assert sub["left_out"] == {"Churn": "named like the outcome"}
    assert metrics["clv_comparison"] is None
    assert data_end is not None
    assert data_end.date() == TELCO_DAY  # the last start (tenure 0) or cancellation
    assert metrics["customers_scored"] == 5174  # everyone still subscribed
    with sqlite_database.session() as session:
        scores = list(
            session.scalars(select(CustomerScore).where(CustomerScore.model_run_id == run_id))
        )
    assert len(scores) == 5174
    assert all(0 <= s.churn_risk <= 1 for s in scores)
    assert all(s.reasons["subscription"][0]["feature"] == "subscription_risk" for s in scores)


def test_no_orders_and_no_subscriptions_is_one_plain_error(sqlite_database: Database) -> None:
    with (
        sqlite_database.session() as session,
        pytest.raises(ValidationError, match="no paid orders in USD and no subscriptions"),
    ):
        score_churn_risk(session, "USD", "test")


def add_olist(session: Session) -> None:
    tx = olist_transactions()
    keys = sorted(tx["customer_id"].unique())
    ids = dict(
        zip(
            keys,
            add_customers_bulk(
                session, [CustomerCreate(external_id=k) for k in keys], "test", "olist"
            ),
            strict=True,
        )
    )
    rows = [
        {
            "external_id": f"olist-{n}",
            "customer_id": ids[row.customer_id],
            "status": "paid",
            "currency": "BRL",
            "total_minor": round(row.amount * 100),
            "ordered_at": _utc(row.date),
        }
        for n, row in enumerate(tx.itertuples())
    ]
    insert_rows(session, Order, rows, "test", "olist orders")


def test_olist_segments_warn_and_call_no_one_time_buyer_loyal(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        add_olist(session)
    with sqlite_database.session() as session:
        run = segment_customers(session, "BRL", "test", "kmeans")
        run_id, metrics = run.id, run.metrics
    assert metrics["customers"] == 3958
    assert [w["code"] for w in metrics["warnings"]] == ["one_time_buyers"]
    assert metrics["warnings"][0]["text"].startswith("99% of the customers bought only once")
    loyal = {row["segment"]: row["customers"] for row in metrics["rfm"]}
    assert loyal["champions"] + loyal["loyal"] + loyal["potential loyalists"] <= 2
    assert loyal["can't lose"] == 0
    with sqlite_database.session() as session:
        named = session.scalars(
            select(CustomerScore.segment).where(CustomerScore.model_run_id == run_id)
        ).all()
    assert sum(name in REPEAT_NAMES for name in named) <= 2
    for cluster in metrics["clusters"]["clusters"]:
        if cluster["one_time_share"] < 1.0:
            assert "bought once" not in cluster["description"].split(", ")


def _demo(database: Database) -> None:
    with database.session() as session:
        build_demo(session, customers=300, seed=4, end_date=dt.date(2026, 6, 30),
                   owner_password="demo-password-1")  # fmt: skip


def test_observation_end_limits_segments_and_churn_to_that_day(sqlite_database: Database) -> None:
    _demo(sqlite_database)
    day = dt.date(2026, 3, 31)
    with sqlite_database.session() as session:
        orders, end = load_transactions(session, "USD", day)
        everyone, last = load_transactions(session, "USD")
        buyers = orders["customer_id"].nunique()
        assert end == pd.Timestamp("2026-03-31 23:59:59")
        assert orders["date"].max() <= end < last
        assert buyers < everyone["customer_id"].nunique()
        segments = segment_customers(session, "USD", "test", observation_end=day)
        churn = score_churn_risk(session, "USD", "test", observation_end=day)
        for run in (segments, churn):
            assert run.data_end == dt.datetime(2026, 3, 31, 23, 59, 59, tzinfo=dt.UTC)
            assert run.params["observation_end"] == "2026-03-31"
        assert segments.metrics["customers"] == buyers
        assert churn.metrics["cutoffs"]["scored_at"] == "2026-04-01"
        assert churn.metrics["clv_comparison"]["holdout_start"] == "2026-01-01"
        reasons = session.scalars(
            select(CustomerScore.reasons).where(CustomerScore.model_run_id == segments.id)
        ).all()
    # recency is counted to the day after the end day (an order that day: 1 day ago), as it
    # is to the day after the last order without an end day
    text = [r["segment"][0]["text"] for r in reasons]
    days = [float(t.split("last order ")[1].split(" days")[0]) for t in text]
    assert min(days) == 1 + (pd.Timestamp(day) - orders["date"].max().floor("D")).days
