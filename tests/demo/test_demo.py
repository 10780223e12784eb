from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select

from soloist.demo.business import build_demo
from soloist.demo.experiments import NAME as AB_TEST
from soloist.domain.campaigns import experiment_results
from soloist.domain.status import workspace_status
from soloist.errors import ConflictError
from soloist.storage.database import Database
from soloist.storage.models import (
    Campaign,
    Customer,
    JourneyEntry,
    Order,
    Subscription,
    SurveyResponse,
)

END = dt.date(2026, 6, 30)
END_AT = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)


def _summary_and_orders(database: Database, seed: int) -> tuple[object, ...]:
    with database.session() as session:
        summary = build_demo(
            session, customers=300, seed=seed, end_date=END, owner_password="demo-password-1"
        )
    with database.session() as session:
        orders = session.execute(
            select(Order.external_id, Order.total_minor).order_by(Order.external_id)
        ).all()
        test = session.scalar(select(Campaign.id).where(Campaign.name == AB_TEST))
        assert test is not None
        results = experiment_results(session, test, "USD", END_AT)
        assert results is not None
        entries = session.execute(
            select(JourneyEntry.customer_id, JourneyEntry.occasion, JourneyEntry.state).order_by(
                JourneyEntry.customer_id, JourneyEntry.occasion
            )
        ).all()
    experiment = (
        results["decision"],
        results["winner"],
        [(look["look"], look["counts"], look["tests"]) for look in results["looks_taken"]],
        [(v["variant"], v["sent"], v["successes"]) for v in results["variants"]],
    )
    return (
        summary.to_dict(),
        [tuple(row) for row in orders],
        experiment,
        [tuple(row) for row in entries],
    )


def test_demo_is_reproducible_from_its_seed(database: Database, sqlite_database: Database) -> None:
    """Built twice (on each engine, and on SQLite) with one seed: the same rows, the same A/B
    decision from the same looks, the same journey entries."""
    first = _summary_and_orders(database, seed=7)
    second = _summary_and_orders(sqlite_database, seed=7)
    assert first == second
    assert first[2][0] in ("winner", "no_difference")


def test_demo_business_has_repeat_buyers_dropouts_and_feedback(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        summary = build_demo(session, customers=800, seed=3, end_date=END)
    with sqlite_database.session() as session:
        per_customer = np.array(
            session.scalars(select(func.count(Order.id)).group_by(Order.customer_id)).all()
        )
        assert summary.customers == 800 == session.scalar(select(func.count(Customer.id)))
        assert per_customer.min() >= 1
        assert 0.3 < (per_customer > 1).mean() < 0.9  # repeat buying, but not by everyone
        assert per_customer.max() >= 10
        last_orders = (
            session.execute(select(func.max(Order.ordered_at)).group_by(Order.customer_id))
            .scalars()
            .all()
        )
        quiet = sum(1 for t in last_orders if t < dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        assert quiet > 0.2 * 800  # customers drop out
        kinds = set(session.scalars(select(SurveyResponse.kind)))
        assert kinds == {"nps", "csat", "ces"}
        assert session.scalar(
            select(func.count(Subscription.id)).where(Subscription.status == "cancelled")
        )
        status = workspace_status(session, "USD")
        assert Decimal(status["revenue"]) == Decimal(summary.revenue) > 0
        assert status["reviews"] == summary.reviews > 0


def test_demo_refuses_a_workspace_with_customers(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        build_demo(session, customers=20, seed=1, end_date=END)
    with pytest.raises(ConflictError), sqlite_database.session() as session:
        build_demo(session, customers=20, seed=1, end_date=END)


def test_demo_has_past_campaigns_whose_lists_respect_consent_and_suppressions(
    sqlite_database: Database,
) -> None:
    from soloist.domain.campaigns import (
        campaign_results,
        current_campaign_figures,
        summarise_campaigns,
    )
    from soloist.storage.models import ConsentRecord, Message

    with sqlite_database.session() as session:
        summary = build_demo(session, customers=400, seed=5, end_date=END)
    assert summary.campaigns == 5
    with sqlite_database.read_session() as session:
        campaigns = session.scalars(
            select(Campaign).where(Campaign.journey.is_(None)).order_by(Campaign.id)
        ).all()
        # three past campaigns, the draft, and the A/B test (tests/demo/test_automations.py)
        assert [c.status for c in campaigns] == ["sent", "sent", "sent", "draft", "sent"]
        left: set[int] = set()
        listed = {row["id"]: row for row in summarise_campaigns(session, "USD")}
        # the list page's kept figures are the same
        kept, stale = current_campaign_figures(session, "USD")
        assert not stale
        assert listed == {row["id"]: row for row in summarise_campaigns(session, "USD", kept)}
        for campaign in campaigns[:3]:
            results = campaign_results(session, campaign.id, "USD")
            assert results["sent"] > 0
            figures = ("recipients", "sent", "clicked", "orders", "revenue", "conversion_rate")
            # the list counts by aggregates what the results count row by row
            assert {k: listed[campaign.id][k] for k in figures} == {k: results[k] for k in figures}
            assert results["orders"] > 0
            assert results["clicked"] > 0
            assert results["machine_opens"] > 0
            assert results["opens_reliable"] is False
            messages = session.scalars(
                select(Message).where(Message.campaign_id == campaign.id)
            ).all()
            recipients = {m.customer_id for m in messages}
            assert not recipients & left  # bounced or unsubscribed earlier: never again
            granted = {
                c
                for c, at in session.execute(
                    select(ConsentRecord.customer_id, ConsentRecord.recorded_at).where(
                        ConsentRecord.granted.is_(True)
                    )
                )
                if at.replace(tzinfo=dt.UTC) < campaign.started_at.replace(tzinfo=dt.UTC)
            }
            assert recipients <= granted  # only those who had agreed by the send day
            left |= {m.customer_id for m in messages if m.status == "bounced"}
            left |= {m.customer_id for m in messages if m.unsubscribed_at is not None}
