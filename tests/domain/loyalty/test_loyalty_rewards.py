from __future__ import annotations

from decimal import Decimal

import pytest
from tests.domain.loyalty.helpers import T0, days, member, programme

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty.ledger import points_balance
from soloist.domain.loyalty.programme import adjust_points, redeem_points
from soloist.domain.loyalty.rewards import (
    CouponCreate,
    CouponRefusedError,
    RewardCreate,
    create_coupon,
    create_reward,
    offers_for_customer,
    use_coupon,
)
from soloist.storage.database import Database
from soloist.storage.models import Coupon, Segment, SegmentMember


def test_a_coupon_is_never_used_more_often_than_its_limit(database: Database) -> None:
    with database.session() as session:
        programme(session)
        people = [member(session, f"M{i}") for i in range(5)]
        create_coupon(session, CouponCreate(code="spring10", discount_percent=10, max_uses=3), "t")
        for customer_id in people[:3]:
            use_coupon(session, "SPRING10", customer_id, "test", now=T0)
        with pytest.raises(CouponRefusedError, match="used up"):
            use_coupon(session, "spring10", people[3], "test", now=T0)
    with database.read_session() as session:
        coupon = session.query(Coupon).filter_by(code="SPRING10").one()
        assert coupon.used_count == 3


def test_a_customer_uses_a_coupon_once_and_not_after_expiry(database: Database) -> None:
    with database.session() as session:
        programme(session)
        ada, bo = member(session), member(session, "Bo")
        create_coupon(
            session,
            CouponCreate(code="ONCE", discount="5", currency="USD", expires_at=T0 + days(7)),
            "t",
        )
        use_coupon(session, "ONCE", ada, "test", now=T0)
        with pytest.raises(CouponRefusedError, match="already"):
            use_coupon(session, "ONCE", ada, "test", now=T0 + days(1))
        with pytest.raises(CouponRefusedError, match="expired"):
            use_coupon(session, "ONCE", bo, "test", now=T0 + days(7))


def test_member_offers_reach_only_members_of_the_segment(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session)
        ada, bo = member(session), member(session, "Bo")
        stranger = create_customer(session, CustomerCreate(name="Cy"), "t").id
        vip = Segment(name="vip", kind="rule")
        session.add(vip)
        session.flush()
        session.add_all(
            [
                SegmentMember(segment_id=vip.id, customer_id=ada),
                SegmentMember(segment_id=vip.id, customer_id=stranger),
            ]
        )
        create_coupon(
            session,
            CouponCreate(code="VIPONLY", discount_percent=15, members_only=True, segment_id=vip.id),
            "t",
        )
        create_coupon(session, CouponCreate(code="ALL", discount_percent=5), "t")
        assert [c.code for c in offers_for_customer(session, ada, T0)] == ["ALL", "VIPONLY"]
        assert [c.code for c in offers_for_customer(session, bo, T0)] == ["ALL"]
        assert [c.code for c in offers_for_customer(session, stranger, T0)] == ["ALL"]
        with pytest.raises(CouponRefusedError, match="members only"):
            use_coupon(session, "VIPONLY", stranger, "test", now=T0)
        with pytest.raises(CouponRefusedError, match="segment"):
            use_coupon(session, "VIPONLY", bo, "test", now=T0)


def test_redeeming_a_reward_spends_its_cost_and_issues_a_single_use_coupon(
    database: Database,
) -> None:
    with database.session() as session:
        programme(session)
        ada = member(session)
        adjust_points(session, ada, 600, "test", "test")
        reward = create_reward(
            session,
            RewardCreate(
                name="5 off", kind="discount", points_cost=500, value=Decimal(5), currency="USD"
            ),
            "t",
        )
        outcome = redeem_points(session, ada, None, "reward-1", "test", reward_id=reward.id, now=T0)
        assert outcome.redeemed
        assert outcome.points == 500
        assert outcome.coupon_code is not None
        assert points_balance(session, ada) == 100
        again = redeem_points(session, ada, None, "reward-1", "test", reward_id=reward.id, now=T0)
        assert again.coupon_code == outcome.coupon_code
        refused = redeem_points(session, ada, None, "reward-2", "test", reward_id=reward.id)
        assert refused.status == "refused"
        use_coupon(session, outcome.coupon_code, ada, "test", now=T0 + days(1))
        with pytest.raises(CouponRefusedError):
            use_coupon(session, outcome.coupon_code, ada, "test", now=T0 + days(2))
