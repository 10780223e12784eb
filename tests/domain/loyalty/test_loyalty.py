from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from tests.domain.loyalty.helpers import T0, days, member, order, programme

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty.ledger import NotEnrolledError, ledger_entries, points_balance
from soloist.domain.loyalty.programme import (
    IdempotencyKeyReusedError,
    SyncResult,
    adjust_points,
    award_birthday_bonuses,
    earn_for_order,
    enrol_customers,
    expire_points,
    in_holdout,
    redeem_points,
    reverse_order_points,
    sync_order_points,
)
from soloist.domain.loyalty.summary import loyalty_summary
from soloist.domain.orders import set_order_status
from soloist.domain.users import add_user
from soloist.errors import InsufficientPointsError, ValidationError
from soloist.storage.database import Database
from soloist.storage.models import LedgerEntry, LoyaltyAccount


def test_an_order_earns_once_at_the_configured_rate(database: Database) -> None:
    with database.session() as session:
        programme(session, points_per_unit="2", rounding="floor")
        ada = member(session)
        bought = order(session, ada, "25.49", T0 + days(1))
        first = earn_for_order(session, bought.id, at=T0 + days(1))
        again = earn_for_order(session, bought.id, at=T0 + days(2))
        assert first is not None
        assert again is not None
        assert first.id == again.id
        assert first.points == 50
        assert first.idempotency_key == f"earn:order:{bought.id}"
        assert first.source_type == "order"
        assert first.rule == "rule:earn"
        assert first.expires_at == dt.datetime(2026, 1, 2, 9, 0, tzinfo=dt.UTC)
        assert points_balance(session, ada) == 50


def test_non_members_and_unpaid_orders_earn_nothing(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session)
        stranger = create_customer(session, CustomerCreate(name="Bo"), "test").id
        ada = member(session)
        assert earn_for_order(session, order(session, stranger, "10", T0).id) is None
        assert earn_for_order(session, order(session, ada, "10", T0, "pending").id) is None
        assert earn_for_order(session, order(session, ada, "10", T0, "refunded").id) is None
        assert session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_expiry_takes_the_oldest_points_first(database: Database) -> None:
    with database.session() as session:
        programme(session, expiry_months=12)
        ada = member(session)
        old = earn_for_order(session, order(session, ada, "100", T0).id, at=T0)
        new = earn_for_order(
            session, order(session, ada, "50", T0 + days(200)).id, at=T0 + days(200)
        )
        assert old is not None
        assert new is not None
        spent = redeem_points(session, ada, 30, "r1", "test", now=T0 + days(250))
        assert spent.redeemed
        # A year after the first order: the 70 left of the oldest lot expire, the newer 50 stay.
        result = expire_points(session, T0 + days(366))
        assert (result.entries, result.points) == (1, 70)
        assert points_balance(session, ada) == 50
        assert expire_points(session, T0 + days(366)).entries == 0  # running twice is harmless
        # The redemption took from the oldest lot, so the newer lot expires whole.
        result = expire_points(session, T0 + days(200 + 366))
        assert result.points == 50
        assert points_balance(session, ada) == 0
        expired = [e for e in ledger_entries(session, ada) if e.kind == "expire"]
        assert [e.source_id for e in expired] == [str(old.id), str(new.id)]


def test_a_redemption_spends_the_oldest_lot_before_it_expires(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session, expiry_months=12)
        ada = member(session)
        earn_for_order(session, order(session, ada, "100", T0).id, at=T0)
        earn_for_order(session, order(session, ada, "50", T0 + days(200)).id, at=T0 + days(200))
        assert redeem_points(session, ada, 120, "r1", "test", now=T0 + days(250)).redeemed
        assert expire_points(session, T0 + days(366)).points == 0  # the old lot is spent
        assert expire_points(session, T0 + days(600)).points == 30
        assert points_balance(session, ada) == 0


def test_a_refund_reverses_the_points_its_order_earned(database: Database) -> None:
    with database.session() as session:
        programme(session)
        ada = member(session)
        bought = order(session, ada, "40", T0)
        assert sync_order_points(session, now=T0) == SyncResult(earned=1, reversed=0)
        set_order_status(session, bought.id, "refunded", "test")
        assert sync_order_points(session, now=T0 + days(3)) == SyncResult(earned=0, reversed=1)
        assert sync_order_points(session, now=T0 + days(4)) == SyncResult(earned=0, reversed=0)
        assert points_balance(session, ada) == 0
        reversal = [e for e in ledger_entries(session, ada) if e.kind == "reverse"]
        assert len(reversal) == 1
        assert reversal[0].points == -40
        assert reversal[0].source_id == str(bought.id)


def test_a_reversal_never_takes_the_balance_below_zero(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session)
        ada = member(session)
        bought = order(session, ada, "40", T0)
        earn_for_order(session, bought.id, at=T0)
        assert redeem_points(session, ada, 30, "spend", "test").redeemed
        set_order_status(session, bought.id, "cancelled", "test")
        entry = reverse_order_points(session, bought.id, "test")
        assert entry is not None
        assert entry.points == -10
        assert "30 points were spent already" in (entry.reason or "")
        assert points_balance(session, ada) == 0


def test_a_refused_redemption_is_the_first_answer_for_its_key(database: Database) -> None:
    with database.session() as session:
        programme(session)
        ada = member(session)
        adjust_points(session, ada, 100, "welcome", "test")
        refused = redeem_points(session, ada, 150, "key-a", "test")
        assert (refused.status, refused.balance_after) == ("refused", 100)
        adjust_points(session, ada, 100, "goodwill", "test")
        again = redeem_points(session, ada, 150, "key-a", "test")
        assert again.status == "refused"
        assert again.replayed
        assert again.redemption_id == refused.redemption_id
        fresh = redeem_points(session, ada, 150, "key-b", "test")
        assert fresh.redeemed
        assert fresh.balance_after == 50
        retry = redeem_points(session, ada, 150, "key-b", "test")
        assert retry.replayed
        assert retry.ledger_entry_id == fresh.ledger_entry_id
        assert points_balance(session, ada) == 50
        with pytest.raises(IdempotencyKeyReusedError):
            redeem_points(session, ada, 10, "key-b", "test")


def test_adjustments_need_a_reason_and_cannot_overdraw(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session)
        ada = member(session)
        owner = add_user(session, "owner@example.com", "owner", "a long enough password", "t")
        added = adjust_points(session, ada, 20, "apology for a late parcel", f"user:{owner.id}")
        entry = added.entry
        assert (entry.user_id, entry.rule, entry.kind) == (owner.id, None, "adjust")
        assert added.balance == points_balance(session, ada) == 20
        with pytest.raises(ValidationError):
            adjust_points(session, ada, 5, "  ", "test")
        with pytest.raises(ValidationError):
            adjust_points(session, ada, 0, "nothing", "test")
        with pytest.raises(InsufficientPointsError):
            adjust_points(session, ada, -21, "too much", "test")
        assert adjust_points(session, ada, -20, "correction", "test").balance == 0
        assert points_balance(session, ada) == 0


def test_holdout_customers_collect_no_points(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session, holdout_share=0.9)
        ids = [create_customer(session, CustomerCreate(name=f"C{i}"), "t").id for i in range(30)]
        enrol_customers(session, "test", customer_ids=ids, now=T0)
        held = session.scalars(
            select(LoyaltyAccount.customer_id).where(LoyaltyAccount.group == "holdout")
        ).all()
        assert held, "with a 90% share some customers are held out"
        bo = held[0]
        assert earn_for_order(session, order(session, bo, "80", T0).id) is None
        with pytest.raises(NotEnrolledError):
            redeem_points(session, bo, 1, "k", "test")
        assert loyalty_summary(session, bo).enrolled is False


def test_holdout_assignment_is_seeded_and_near_its_share(sqlite_database: Database) -> None:
    share, seed = 0.25, 11
    picks = [in_holdout(customer_id, share, seed) for customer_id in range(1, 2001)]
    assert picks == [in_holdout(customer_id, share, seed) for customer_id in range(1, 2001)]
    # Binomial(2000, 0.25): mean 500, sd 19.4; a band of ±5 sd.
    assert 403 < sum(picks) < 597
    assert picks != [in_holdout(customer_id, share, seed + 1) for customer_id in range(1, 2001)]


def test_birthday_bonus_is_paid_once_a_year(sqlite_database: Database) -> None:
    with sqlite_database.session() as session:
        programme(session)
        ada = member(session, birthday=dt.date(1990, 3, 14))
        member(session, "Bo", birthday=dt.date(1990, 3, 15))
        assert len(award_birthday_bonuses(session, dt.date(2025, 3, 14))) == 1
        assert len(award_birthday_bonuses(session, dt.date(2025, 3, 14))) == 1  # same entry
        assert points_balance(session, ada) == 200
        award_birthday_bonuses(session, dt.date(2026, 3, 14))
        assert points_balance(session, ada) == 400
