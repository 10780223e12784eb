"""The loyalty jobs over many members at once: enrolment, tier review and expiry in batches
give each member what the rules give one member alone."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.domain.loyalty.helpers import T0, days, old_and_new_lots, order, programme

from soloist.domain.customers.records import CustomerCreate, create_customer
from soloist.domain.loyalty import programme as programme_module
from soloist.domain.loyalty import tiers as tiers_module
from soloist.domain.loyalty.ledger import ledger_entries, points_balance
from soloist.domain.loyalty.programme import (
    enrol_customers,
    expire_points,
    in_holdout,
)
from soloist.domain.loyalty.referrals import referral_code_for
from soloist.domain.loyalty.tiers import list_tiers, review_tiers
from soloist.errors import NotFoundError
from soloist.storage import bulk as bulk_module
from soloist.storage.database import Database
from soloist.storage.models import AuditEntry, LedgerEntry, LoyaltyAccount

MEMBERS = 23
BATCH = 5  # several batches, the last one short


def _customers(session: Session) -> list[int]:
    return [
        create_customer(session, CustomerCreate(name=f"C{i}"), "test").id for i in range(MEMBERS)
    ]


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programme_module, "EXPIRY_BATCH", BATCH)
    monkeypatch.setattr(tiers_module, "REVIEW_BATCH", BATCH)
    monkeypatch.setattr(bulk_module, "CHUNK", BATCH)  # ids looked up a few at a time


def test_an_enrolment_of_many_gives_each_their_group_code_bonus_and_tier(
    database: Database,
) -> None:
    spends = [0, 150, 250, 600] * 6  # Bronze, Bronze, Silver, Gold (200 and 500 a year)
    with database.session() as session:
        programme(session, holdout_share=0.3, holdout_seed=11, bonus_points={"signup": 40})
        ids = _customers(session)
        for customer_id, spend in zip(ids, spends, strict=False):
            if spend:
                order(session, customer_id, str(spend), T0 - days(30))
        result = enrol_customers(session, "test", now=T0)
        held_out = {c for c in ids if in_holdout(c, 0.3, 11)}
        assert 0 < len(held_out) < MEMBERS
        assert (result.members, result.holdout, result.already) == (
            MEMBERS - len(held_out),
            len(held_out),
            0,
        )
        accounts = {a.customer_id: a for a in session.scalars(select(LoyaltyAccount))}
        tier_names = {t.id: t.name for t in list_tiers(session)}
        expected_tier = {0: "Bronze", 150: "Bronze", 250: "Silver", 600: "Gold"}
        for customer_id, spend in zip(ids, spends, strict=False):
            account = accounts[customer_id]
            assert account.enrolled_at == T0
            if customer_id in held_out:
                assert (account.group, account.referral_code, account.tier_id) == (
                    "holdout",
                    None,
                    None,
                )
                assert points_balance(session, customer_id) == 0
                continue
            assert account.group == "member"
            assert account.referral_code == referral_code_for(session, customer_id)
            assert tier_names[account.tier_id] == expected_tier[spend]
            assert account.tier_review_at == T0 + days(365)
            (bonus,) = ledger_entries(session, customer_id)
            assert (bonus.kind, bonus.points, bonus.idempotency_key) == (
                "bonus",
                40,
                f"bonus:signup:{customer_id}",
            )
            assert bonus.effective_at == T0
        changes = session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "loyalty.tier_changed")
        )
        assert changes == MEMBERS - len(held_out)
        again = enrol_customers(session, "test", now=T0 + days(1))
        assert (again.members, again.holdout, again.already) == (0, 0, MEMBERS)


def test_a_tier_review_of_many_moves_each_member_as_a_review_of_one_would(
    database: Database,
) -> None:
    with database.session() as session:
        programme(session)
        ids = _customers(session)
        enrol_customers(session, "test", now=T0)
        spends = {c: [0, 250, 600][i % 3] for i, c in enumerate(ids)}
        for customer_id, spend in spends.items():
            if spend:
                order(session, customer_id, str(spend), T0 + days(10))
        changes = review_tiers(session, T0 + days(20))
        assert sorted((c.customer_id, c.new_tier) for c in changes) == sorted(
            (c, "Silver" if s == 250 else "Gold") for c, s in spends.items() if s
        )
        assert all(c.direction == "up" for c in changes)
        # A year on, nobody spent in the window: at the review date everyone above Bronze
        # moves down, and the Bronze members keep their tier for another period.
        later = review_tiers(session, T0 + days(400))
        assert sorted(c.customer_id for c in later) == sorted(c for c, s in spends.items() if s)
        assert {c.new_tier for c in later} == {"Bronze"}
        reviews = session.scalars(select(LoyaltyAccount.tier_review_at)).all()
        assert set(reviews) == {T0 + days(400 + 365)}


def test_an_expiry_over_many_members_expires_what_each_has_left_of_old_lots(
    database: Database,
) -> None:
    """Each member: an old lot, a newer one and a redemption taken from the oldest first; what
    expires is the old lot less the redemption, never more, and each lot once."""
    rng = random.Random(5)
    with database.session() as session:
        programme(session, expiry_months=12)
        ids = _customers(session)
        enrol_customers(session, "test", now=T0)
        expected: dict[int, int] = {}
        for customer_id in ids:
            key = f"spend-{customer_id}"
            expected[customer_id] = old_and_new_lots(session, customer_id, rng, key)
        result = expire_points(session, T0 + days(366))
        assert result.points == sum(expected.values())
        assert result.entries == result.accounts == sum(1 for v in expected.values() if v)
        for customer_id, points in expected.items():
            expired = [e for e in ledger_entries(session, customer_id) if e.kind == "expire"]
            assert [-e.points for e in expired] == ([points] if points else [])
            assert points_balance(session, customer_id) >= 0
        assert expire_points(session, T0 + days(366)).entries == 0
        entries = session.scalar(select(func.count(LedgerEntry.id)))
        assert expire_points(session, T0 + days(380)).entries == 0
        assert session.scalar(select(func.count(LedgerEntry.id))) == entries


def test_an_enrolment_of_named_customers_takes_them_in_parts_and_refuses_an_unknown_one(
    database: Database,
) -> None:
    with database.session() as session:
        programme(session)
        ids = _customers(session)
        first = enrol_customers(session, "test", customer_ids=ids[:12], now=T0)
        assert (first.members, first.already) == (12, 0)
        second = enrol_customers(session, "test", customer_ids=list(reversed(ids)), now=T0)
        assert (second.members, second.already) == (MEMBERS - 12, 12)
        assert session.scalar(select(func.count(LoyaltyAccount.customer_id))) == MEMBERS
        with pytest.raises(NotFoundError):
            enrol_customers(session, "test", customer_ids=[*ids, max(ids) + 1000], now=T0)


def test_an_enrolment_of_more_customers_than_sqlite_takes_values_at_once_goes_through(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite refuses a statement with more values than its limit (250,000 here; lowered to
    10 for the test, and the tiers' few-customer lookup to 5): a launch enrolling half a
    million customers by id failed on it."""
    import sqlite3

    monkeypatch.setattr(tiers_module, "FEW_CUSTOMERS", BATCH)
    with sqlite_database.session() as session:
        programme(session)
        ids = _customers(session)
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 10)
        result = enrol_customers(session, "test", customer_ids=ids, now=T0)
        assert (result.members, result.already) == (MEMBERS, 0)
