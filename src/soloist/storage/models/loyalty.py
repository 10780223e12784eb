"""The loyalty programme: an append-only points ledger, tiers, rewards, coupons, referrals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from soloist.storage.models.base import Base, IdMixin, Money
from soloist.storage.types import utcnow

LEDGER_KINDS = ("earn", "bonus", "redeem", "expire", "reverse", "adjust")
REWARD_KINDS = ("discount", "free_product", "gift")


class LoyaltyTier(IdMixin, Base):
    __tablename__ = "loyalty_tiers"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    rank: Mapped[int] = mapped_column(Integer)
    qualify_by: Mapped[str] = mapped_column(String(16), default="spend")  # spend | points
    threshold: Mapped[int] = mapped_column(Money, default=0)  # minor units or points
    multiplier_percent: Mapped[int] = mapped_column(Integer, default=100)


class LoyaltyAccount(Base):
    """A customer's membership. The row is locked when points are redeemed; the balance itself is
    always the sum of the ledger, never stored here."""

    __tablename__ = "loyalty_accounts"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    group: Mapped[str] = mapped_column(String(16), default="member")  # member | holdout
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_tiers.id"))
    tier_review_at: Mapped[dt.datetime | None] = mapped_column()
    referral_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    enrolled_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=0)


class LedgerEntry(IdMixin, Base):
    """One movement of points. Never updated or deleted; corrections are new entries.

    ``effective_at`` is when the movement counts in the programme's time (an order's purchase
    time, a refund's time, the moment an expiry job runs as of): lots, expiry and tier windows
    follow it. ``created_at`` is only when the row was written.
    """

    __tablename__ = "loyalty_ledger"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(255))
    rule: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    effective_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_loyalty_ledger_customer_created", "customer_id", "created_at"),
        Index("ix_loyalty_ledger_customer_effective", "customer_id", "effective_at"),
        # An order's own entries (what it earned, what was reversed) are looked up at every order.
        Index("ix_loyalty_ledger_source", "source_type", "source_id"),
    )


class Reward(IdMixin, Base):
    __tablename__ = "rewards"

    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    points_cost: Mapped[int] = mapped_column(Integer)
    value_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Coupon(IdMixin, Base):
    __tablename__ = "coupons"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    discount_percent: Mapped[int | None] = mapped_column(Integer)
    discount_minor: Mapped[int | None] = mapped_column(Money)
    members_only: Mapped[bool] = mapped_column(Boolean, default=False)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Referral(IdMixin, Base):
    __tablename__ = "referrals"

    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    referred_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    rejected_reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoyaltyRedemption(IdMixin, Base):
    """The first answer to one redemption request, keyed by the caller's idempotency key.

    A retry with the same key gets this row back — redeemed or refused — and never a second debit.
    """

    __tablename__ = "loyalty_redemptions"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    points: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # redeemed | refused
    balance_after: Mapped[int] = mapped_column(Integer)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_ledger.id"))
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("rewards.id"))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CouponRedemption(IdMixin, Base):
    """One use of a coupon by one customer; a customer uses a coupon at most once."""

    __tablename__ = "coupon_redemptions"

    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    actor: Mapped[str] = mapped_column(String(64))
    redeemed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("coupon_id", "customer_id"),)
