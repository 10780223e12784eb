"""The demo's A/B test and journeys: decided and measured by the domain's own code."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from soloist.demo.business import build_demo
from soloist.demo.experiments import HOLDOUT_SHARE, NAME, SubjectLineTest
from soloist.domain.campaigns import (
    assign_arm,
    experiment_results,
    get_experiment,
    holdout_effect,
)
from soloist.domain.journeys import journey_results, list_journeys
from soloist.storage.database import Database
from soloist.storage.models import Campaign, JourneyEntry, Message, MessageEvent

END = dt.date(2026, 6, 30)
END_AT = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _test_campaign(database: Database) -> Campaign:
    with database.read_session() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == NAME))
        assert campaign is not None
        return campaign


def test_demo_has_a_decided_ab_test_with_arms_drawn_as_the_freeze_draws_them(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session() as session:
        summary = build_demo(session, customers=600, seed=5, end_date=END)
    campaign = _test_campaign(sqlite_database)
    with sqlite_database.read_session() as session:
        results = experiment_results(session, campaign.id, "USD", END_AT)
        assert results is not None
        assert results["status"] == "decided"
        assert (results["decision"], results["winner"]) == (
            summary.experiment_decision,
            summary.experiment_winner,
        )
        assert results["decision"] in ("winner", "no_difference")
        assert [v["variant"] for v in results["variants"]] == ["A", "B"]
        assert all(v["sent"] > 0 for v in results["variants"])
        assert 1 <= len(results["looks_taken"]) <= results["looks"]
        assert results["waiting"] == 0
        assert campaign.status == "sent"

        messages = session.scalars(select(Message).where(Message.campaign_id == campaign.id)).all()
        seed = campaign.assignment_seed
        assert seed is not None
        for message in messages:
            if message.status == "suppressed":
                assert message.error == "frequency_cap"
                continue
            arm, variant = assign_arm(seed, message.customer_id, HOLDOUT_SHARE, ["A", "B"], 1.0)
            if arm == "holdout":
                assert (message.status, message.variant, message.sent_at) == ("holdout", None, None)
            else:
                assert message.status in ("sent", "bounced")
                assert message.variant == variant
        assert any(m.status == "holdout" for m in messages)

        # Clicks arrive over the days after the send, and none after the demo's end.
        clicks = [
            _utc(m.clicked_at) - _utc(m.sent_at)
            for m in messages
            if m.clicked_at is not None and m.sent_at is not None
        ]
        assert clicks
        assert min(clicks) > dt.timedelta(0)
        assert max(_utc(m.clicked_at) for m in messages if m.clicked_at) < END_AT

        effect = holdout_effect(session, campaign.id, "USD", END_AT)
        assert effect is not None
        assert effect["holdout"] > 0
        assert effect["receivers"] > effect["holdout"]
        assert effect["complete"] is True
        for key in ("incremental_revenue", "incremental_revenue_low", "incremental_revenue_high"):
            assert effect[key] is not None


def test_with_a_remainder_the_rule_sends_the_winner_to_it(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "soloist.demo.journeys.SubjectLineTest",
        functools.partial(SubjectLineTest, test_share=0.5),
    )
    with sqlite_database.session() as session:
        build_demo(session, customers=400, seed=8, end_date=END)
    campaign = _test_campaign(sqlite_database)
    with sqlite_database.read_session() as session:
        experiment = get_experiment(session, campaign.id)
        assert experiment is not None
        assert experiment.status == "decided"
        assert experiment.decided_at is not None
        decided_at = _utc(experiment.decided_at)
        rows = session.execute(
            select(Message.status, Message.variant, Message.sent_at).where(
                Message.campaign_id == campaign.id
            )
        ).all()
        assert not [r for r in rows if r.status in ("waiting", "queued")]
        remainder = [r for r in rows if r.sent_at is not None and _utc(r.sent_at) >= decided_at]
        assert remainder  # the rest went when the rule decided, with the winner's text
        assert {r.variant for r in remainder} == {experiment.winner}
        assert campaign.status == "sent"


def _week_counts_ok(
    sent: list[tuple[int, dt.datetime]], journey_sends: set[tuple[int, dt.datetime]]
) -> bool:
    by_customer: dict[int, list[dt.datetime]] = defaultdict(list)
    for customer_id, at in sent:
        by_customer[customer_id].append(at)
    for customer_id, at in journey_sends:
        before = [t for t in by_customer[customer_id] if at - dt.timedelta(days=7) <= t < at]
        if len(before) >= 3:
            return False
    return True


def test_demo_journeys_run_with_their_holdouts_and_measured_effects(
    sqlite_database: Database,
) -> None:
    with sqlite_database.session() as session:
        summary = build_demo(session, customers=600, seed=5, end_date=END)
    assert summary.journeys == 3
    with sqlite_database.read_session() as session:
        journeys = list_journeys(session)
        assert [j.status for j in journeys].count("active") == 3
        assert [j.trigger for j in journeys if j.status == "draft"] == ["churn_risk"]
        measured = 0
        for journey in journeys:
            if journey.status != "active":
                continue
            results: dict[str, Any] = journey_results(session, journey.id, "USD", END_AT)
            states = results["by_state"]
            if states.get("sent") and states.get("holdout"):
                assert results["effect"] is not None
                assert 0 < results["effect"]["holdout"] <= states["holdout"]
                measured += 1
            assert results["messages"]["queued"] == 0  # delivered when the worker queued them
        assert measured >= 2

        entries = session.execute(
            select(
                JourneyEntry.state,
                JourneyEntry.occurred_at,
                JourneyEntry.due_at,
                JourneyEntry.created_at,
                Message.sent_at,
                Message.customer_id,
            ).outerjoin(Message, Message.id == JourneyEntry.message_id)
        ).all()
        sent = [e for e in entries if e.state == "sent"]
        assert sent
        assert all(e.sent_at is None or _utc(e.sent_at) >= _utc(e.due_at) for e in sent)
        # Quiet hours (21-8 in UTC, the demo's customers having no zone of their own).
        assert all(8 <= _utc(e.sent_at).hour < 21 for e in sent if e.sent_at is not None)
        assert all(_utc(e.created_at) <= END_AT for e in entries)
        holdout = [e for e in entries if e.state == "holdout"]
        assert holdout
        assert all(e.sent_at is None for e in holdout)

        # The frequency cap: no journey message went to someone with three in the week before.
        every = session.execute(
            select(Message.customer_id, Message.sent_at).where(
                Message.campaign_id.is_not(None), Message.status == "sent"
            )
        ).all()
        journey_sends = {(e.customer_id, _utc(e.sent_at)) for e in sent if e.sent_at is not None}
        assert _week_counts_ok([(c, _utc(at)) for c, at in every], journey_sends)

        latest = session.scalar(
            select(MessageEvent.occurred_at).order_by(MessageEvent.occurred_at.desc()).limit(1)
        )
        assert latest is not None
        assert _utc(latest) < END_AT
