"""A member's standing, read from the ledger: balance, tier, referral code, what expires next,
and the ledger itself, newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from soloist.domain.customers.records import get_customer
from soloist.domain.loyalty.ledger import MEMBER, get_account, ledger_entries, open_lots
from soloist.domain.loyalty.rules import get_programme_settings
from soloist.storage.models import LedgerEntry, LoyaltyTier
from soloist.storage.types import utcnow

__all__ = ["LoyaltySummary", "ledger_history", "loyalty_summary"]


@dataclass(frozen=True)
class LoyaltySummary:
    """One customer's standing: what the customer 360 and ``GET …/loyalty`` show.

    ``balance`` is the sum of the ledger in points, ``balance_value`` its worth in ``currency``;
    ``group`` is ``member``, ``holdout`` or ``None`` (no account).
    """

    customer_id: int
    enrolled: bool
    group: str | None
    balance: int
    balance_value: Decimal
    currency: str
    tier: str | None
    tier_multiplier_percent: int | None
    tier_review_at: dt.datetime | None
    referral_code: str | None
    enrolled_at: dt.datetime | None
    lifetime_earned: int
    lifetime_redeemed: int
    expiring_within_30_days: int
    next_expiry_at: dt.datetime | None


def loyalty_summary(
    session: Session, customer_id: int, now: dt.datetime | None = None
) -> LoyaltySummary:
    """What the customer 360 and ``GET …/loyalty`` show: balance, tier, code, what expires next."""
    get_customer(session, customer_id)
    when = now or utcnow()
    rules = get_programme_settings(session)
    account = get_account(session, customer_id)
    entries = ledger_entries(session, customer_id)
    balance = sum(entry.points for entry in entries)
    tier = session.get(LoyaltyTier, account.tier_id) if account and account.tier_id else None
    soon = when + dt.timedelta(days=30)
    lots = [lot for lot in open_lots(entries) if lot.remaining > 0 and lot.expires_at is not None]
    return LoyaltySummary(
        customer_id=customer_id,
        enrolled=account is not None and account.group == MEMBER,
        group=None if account is None else account.group,
        balance=balance,
        balance_value=rules.value_of(balance),
        currency=rules.currency,
        tier=None if tier is None else tier.name,
        tier_multiplier_percent=None if tier is None else tier.multiplier_percent,
        tier_review_at=None if account is None else account.tier_review_at,
        referral_code=None if account is None else account.referral_code,
        enrolled_at=None if account is None else account.enrolled_at,
        lifetime_earned=sum(e.points for e in entries if e.points > 0),
        lifetime_redeemed=-sum(e.points for e in entries if e.kind == "redeem"),
        expiring_within_30_days=sum(
            lot.remaining for lot in lots if lot.expires_at is not None and lot.expires_at <= soon
        ),
        next_expiry_at=min((lot.expires_at for lot in lots if lot.expires_at), default=None),
    )


def ledger_history(
    session: Session, customer_id: int, *, limit: int = 50, offset: int = 0
) -> list[LedgerEntry]:
    """The customer's ledger, newest first."""
    get_customer(session, customer_id)
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.customer_id == customer_id)
            .order_by(LedgerEntry.effective_at.desc(), LedgerEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
