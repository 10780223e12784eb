from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.domain.loyalty.helpers import T0, days, member, order, programme

import soloist.domain.loyalty.tiers as tiers
from soloist.domain.loyalty.programme import earn_for_order
from soloist.domain.loyalty.rules import get_programme_settings
from soloist.domain.loyalty.summary import loyalty_summary
from soloist.domain.loyalty.tiers import review_tier, review_tiers
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, LoyaltyAccount, Message


def _tier(session: Session, customer_id: int) -> str | None:
    return loyalty_summary(session, customer_id).tier


def test_upgrade_is_immediate_and_downgrade_waits_for_the_review(database: Database) -> None:
    with database.session() as session:
        programme(session, tier_window_days=365, tier_review_days=365)
        ada = member(session, email="ada@example.com")
        assert _tier(session, ada) == "Bronze"
        first = order(session, ada, "150", T0 + days(10))
        earn_for_order(session, first.id, at=T0 + days(10))
        assert _tier(session, ada) == "Bronze"  # 150 < 200 in the window
        second = order(session, ada, "60", T0 + days(20))
        earn_for_order(session, second.id, at=T0 + days(20))
        assert _tier(session, ada) == "Silver"  # 210 ≥ 200: at once
        review_at = session.get(LoyaltyAccount, ada).tier_review_at
        assert review_at == T0 + days(20 + 365)
        # The first order leaves the window on day 375; Ada keeps Silver until her review.
        assert review_tier(session, ada, T0 + days(376)) is None
        assert _tier(session, ada) == "Silver"
        assert review_tier(session, ada, T0 + days(384)) is None  # one day before the review
        change = review_tier(session, ada, T0 + days(385))
        assert change is not None
        assert (change.old_tier, change.new_tier, change.direction) == ("Silver", "Bronze", "down")
        assert _tier(session, ada) == "Bronze"


def test_the_window_boundary_is_exact(database: Database) -> None:
    with database.session() as session:
        programme(session, tier_window_days=30, tier_review_days=30)
        ada = member(session)
        big = order(session, ada, "500", T0)
        earn_for_order(session, big.id, at=T0)
        assert _tier(session, ada) == "Gold"
        # At the review date the order is exactly 30 days old: out of the (now-30d, now] window.
        change = review_tier(session, ada, T0 + days(30))
        assert change is not None
        assert change.new_tier == "Bronze"


def test_a_member_who_still_qualifies_keeps_the_tier_for_another_period(
    database: Database,
) -> None:
    with database.session() as session:
        programme(session, tier_window_days=365, tier_review_days=100)
        ada = member(session)
        earn_for_order(session, order(session, ada, "250", T0).id, at=T0)
        assert review_tiers(session, T0 + days(100)) == []
        assert session.get(LoyaltyAccount, ada).tier_review_at == T0 + days(200)
        assert _tier(session, ada) == "Silver"


def test_a_tier_change_is_recorded_for_the_journeys_and_queues_no_message_itself(
    database: Database,
) -> None:
    with database.session() as session:
        programme(session)
        ada = member(session, email="ada@example.com")
        earn_for_order(session, order(session, ada, "600", T0).id, at=T0)
        assert session.scalars(select(Message)).all() == []  # a tier_change journey tells her
        changes = session.scalars(
            select(AuditEntry.changes).where(AuditEntry.action == "loyalty.tier_changed")
        ).all()
        assert [c["tier"] for c in changes] == [[None, "Bronze"], ["Bronze", "Gold"]]


def test_a_few_members_window_metrics_equal_those_of_the_grouped_pass(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few customers are read through their own index, many in one pass: the same figures."""
    with database.session() as session:
        programme(session, tier_window_days=30)
        ada, bob, cy = (member(session, name) for name in ("Ada", "Bob", "Cy"))
        for customer_id, amount, at, status in (
            (ada, "120", T0 + days(5), "paid"),
            (ada, "80", T0 + days(25), "paid"),
            (ada, "999", T0 + days(26), "cancelled"),  # not an earning status
            (ada, "40", T0 - days(10), "paid"),  # before the window
            (bob, "300", T0 + days(29), "paid"),
            (cy, "75", T0 + days(31), "paid"),  # after ``now``
        ):
            earn_for_order(session, order(session, customer_id, amount, at, status).id, at=at)
        now = T0 + days(30)
        rules = get_programme_settings(session)
        few = tiers.window_metrics_for(session, [ada, bob, cy], now, rules)
        monkeypatch.setattr(tiers, "FEW_CUSTOMERS", 0)
        grouped = tiers.window_metrics_for(session, [ada, bob, cy], now, rules)
    assert few == grouped
    assert [few[c]["spend"] for c in (ada, bob, cy)] == [20000, 30000, 0]
    assert few[ada]["points"] > 0
    assert few[cy]["points"] == 0
