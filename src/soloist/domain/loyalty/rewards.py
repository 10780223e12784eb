"""The rewards catalogue, coupons with codes, limits and expiry, and member-only offers.

A coupon's use limit holds under concurrent use: the coupon row is locked (``FOR UPDATE``; on
SQLite the write transaction holds the write lock) and the count is raised by a conditional
``UPDATE … WHERE used_count < max_uses``, so the limit is never passed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from soloist.domain.audit import record_audit
from soloist.domain.customers.records import get_customer
from soloist.domain.loyalty.ledger import MEMBER, get_account
from soloist.errors import ConflictError, NotFoundError, ValidationError
from soloist.money import decimal_to_minor
from soloist.storage.models import (
    REWARD_KINDS,
    Coupon,
    CouponRedemption,
    Order,
    Reward,
    Segment,
    SegmentMember,
)
from soloist.storage.types import utcnow


class CouponRefusedError(ConflictError):
    code = "coupon_refused"


class RewardCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=128)
    kind: str
    points_cost: int = Field(gt=0)
    value: Decimal | None = Field(default=None, ge=0, description="Discount or gift value.")
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    product_id: int | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in REWARD_KINDS:
            raise ValueError(f"kind must be one of {', '.join(REWARD_KINDS)}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> RewardCreate:
        if self.value is not None and not self.currency:
            raise ValueError("a reward with a value needs a currency")
        if self.kind == "free_product" and self.product_id is None:
            raise ValueError("a free_product reward needs a product_id")
        return self


class CouponCreate(BaseModel):
    """A coupon: a code (made up when left out), a discount, limits, and whom it is for."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str | None = Field(default=None, min_length=3, max_length=64)
    discount_percent: int | None = Field(default=None, gt=0, le=100)
    discount: Decimal | None = Field(default=None, gt=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    max_uses: int | None = Field(default=None, gt=0)
    expires_at: dt.datetime | None = None
    members_only: bool = False
    segment_id: int | None = None
    customer_id: int | None = None
    reward_id: int | None = None

    @model_validator(mode="after")
    def _one_discount(self) -> CouponCreate:
        if (self.discount_percent is None) == (self.discount is None) and self.reward_id is None:
            raise ValueError("give either discount_percent or discount (with currency)")
        if self.discount is not None and not self.currency:
            raise ValueError("a fixed discount needs a currency")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at needs a time zone")
        return self


def create_reward(session: Session, data: RewardCreate, actor: str) -> Reward:
    currency = data.currency.upper() if data.currency else None
    reward = Reward(
        name=data.name,
        kind=data.kind,
        points_cost=data.points_cost,
        value_minor=None
        if data.value is None or currency is None
        else decimal_to_minor(data.value, currency),
        currency=currency,
        product_id=data.product_id,
        active=True,
    )
    session.add(reward)
    session.flush()
    record_audit(session, actor, "loyalty.reward_created", "reward", reward.id, {"name": data.name})
    return reward


def list_rewards(session: Session, *, active_only: bool = True) -> list[Reward]:
    query = select(Reward).order_by(Reward.points_cost, Reward.id)
    if active_only:
        query = query.where(Reward.active.is_(True))
    return list(session.scalars(query))


def create_coupon(
    session: Session, data: CouponCreate, actor: str, *, now: dt.datetime | None = None
) -> Coupon:
    code = (data.code or f"SOLO-{secrets.token_hex(4).upper()}").upper()
    if session.scalar(select(Coupon.id).where(Coupon.code == code)) is not None:
        raise ConflictError(f"A coupon with code {code!r} exists already.", code=code)
    if data.customer_id is not None:
        get_customer(session, data.customer_id)
    if data.reward_id is not None and session.get(Reward, data.reward_id) is None:
        raise NotFoundError(f"No reward with id {data.reward_id}.", reward_id=data.reward_id)
    if data.segment_id is not None and session.get(Segment, data.segment_id) is None:
        raise NotFoundError(f"No segment with id {data.segment_id}.", segment_id=data.segment_id)
    currency = data.currency.upper() if data.currency else None
    coupon = Coupon(
        code=code,
        reward_id=data.reward_id,
        customer_id=data.customer_id,
        segment_id=data.segment_id,
        discount_percent=data.discount_percent,
        discount_minor=None
        if data.discount is None or currency is None
        else decimal_to_minor(data.discount, currency),
        members_only=data.members_only,
        max_uses=data.max_uses,
        used_count=0,
        expires_at=data.expires_at,
        created_at=now or utcnow(),
    )
    session.add(coupon)
    session.flush()
    record_audit(session, actor, "loyalty.coupon_created", "coupon", coupon.id, {"code": code})
    return coupon


def _in_segment(session: Session, segment_id: int, customer_id: int) -> bool:
    return (
        session.scalar(
            select(SegmentMember.customer_id).where(
                SegmentMember.segment_id == segment_id, SegmentMember.customer_id == customer_id
            )
        )
        is not None
    )


def coupon_refusal(
    session: Session, coupon: Coupon, customer_id: int, now: dt.datetime
) -> str | None:
    """Why ``customer_id`` may not use ``coupon`` now, or ``None`` when they may."""
    if coupon.expires_at is not None and coupon.expires_at <= now:
        return "the coupon has expired"
    if coupon.max_uses is not None and coupon.used_count >= coupon.max_uses:
        return "the coupon has been used up"
    if coupon.customer_id is not None and coupon.customer_id != customer_id:
        return "the coupon belongs to another customer"
    if coupon.members_only:
        account = get_account(session, customer_id)
        if account is None or account.group != MEMBER:
            return "the coupon is for loyalty members only"
    if coupon.segment_id is not None and not _in_segment(session, coupon.segment_id, customer_id):
        return "the coupon is for another customer segment"
    used = session.scalar(
        select(CouponRedemption.id).where(
            CouponRedemption.coupon_id == coupon.id, CouponRedemption.customer_id == customer_id
        )
    )
    if used is not None:
        return "the customer has used this coupon already"
    return None


def use_coupon(
    session: Session,
    code: str,
    customer_id: int,
    actor: str,
    *,
    order_id: int | None = None,
    now: dt.datetime | None = None,
) -> CouponRedemption:
    """Use a coupon once for a customer; refused when expired, used up or not theirs."""
    at = now or utcnow()
    coupon = session.scalar(
        select(Coupon)
        .where(Coupon.code == code.strip().upper())
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if coupon is None:
        raise NotFoundError(f"No coupon with code {code!r}.", code=code)
    get_customer(session, customer_id)
    if order_id is not None:
        order = session.get(Order, order_id)
        if order is None or order.customer_id != customer_id:
            raise ValidationError("The order is not this customer's.", field="order_id")
    reason = coupon_refusal(session, coupon, customer_id, at)
    if reason is not None:
        raise CouponRefusedError(f"Coupon {coupon.code} refused: {reason}.", reason=reason)
    counted = session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            or_(Coupon.max_uses.is_(None), Coupon.used_count < Coupon.max_uses),
        )
        .values(used_count=Coupon.used_count + 1)
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:  # type: ignore[attr-defined]
        raise CouponRefusedError(f"Coupon {coupon.code} refused: it has been used up.")
    use = CouponRedemption(
        coupon_id=coupon.id,
        customer_id=customer_id,
        order_id=order_id,
        actor=actor[:64],
        redeemed_at=at,
    )
    session.add(use)
    session.flush()
    session.refresh(coupon)
    return use


def coupon_of_use(session: Session, use: CouponRedemption) -> Coupon:
    """The coupon a use was made of."""
    coupon = session.get(Coupon, use.coupon_id)
    if coupon is None:  # the foreign key makes this impossible
        raise NotFoundError(f"Coupon {use.coupon_id} does not exist.")
    return coupon


def offers_for_customer(
    session: Session, customer_id: int, now: dt.datetime | None = None
) -> list[Coupon]:
    """Coupons this customer could use now: theirs, their segments', members' and public ones."""
    at = now or utcnow()
    get_customer(session, customer_id)
    candidates = session.scalars(
        select(Coupon)
        .where(
            or_(Coupon.customer_id.is_(None), Coupon.customer_id == customer_id),
            or_(Coupon.expires_at.is_(None), Coupon.expires_at > at),
        )
        .order_by(Coupon.created_at.desc(), Coupon.id.desc())
    )
    return [c for c in candidates if coupon_refusal(session, c, customer_id, at) is None]
