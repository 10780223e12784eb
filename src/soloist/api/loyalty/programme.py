"""/api/v1/loyalty: the programme's tiers, the rewards catalogue and coupons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer
from soloist.api.errors import ErrorPublic
from soloist.domain.loyalty import (
    CouponCreate,
    RewardCreate,
    coupon_of_use,
    create_coupon,
    create_reward,
    get_programme_settings,
    list_rewards,
    list_tiers,
    use_coupon,
)
from soloist.money import minor_to_decimal

if TYPE_CHECKING:
    from soloist.storage.models import Coupon

router = APIRouter(prefix="/api/v1/loyalty", tags=["loyalty"])


class CouponPublic(BaseModel):
    """A coupon; a fixed ``discount`` is in major units of the programme's currency.

    Read from a coupon with ``CouponPublic.model_validate(coupon, context={"currency": …})``.
    """

    model_config = ConfigDict(from_attributes=True)

    code: str
    discount_percent: int | None
    discount: Decimal | None = Field(validation_alias="discount_minor")
    members_only: bool
    segment_id: int | None
    customer_id: int | None
    max_uses: int | None
    used_count: int
    expires_at: dt.datetime | None

    @field_validator("discount", mode="before")
    @classmethod
    def _in_major_units(cls, minor: Any, info: ValidationInfo) -> Any:
        if minor is None:
            return None
        currency = (info.context or {}).get("currency")
        if currency is None:
            raise ValueError("a coupon's discount needs the currency (context={'currency': …})")
        return minor_to_decimal(int(minor), currency)

    @classmethod
    def of(cls, coupon: Coupon, currency: str) -> CouponPublic:
        return cls.model_validate(coupon, context={"currency": currency})


class CouponUse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int
    order_id: int | None = None


class RewardPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    points_cost: int
    value_minor: int | None
    currency: str | None
    product_id: int | None
    active: bool


class TierPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    rank: int
    qualify_by: str
    threshold: int
    multiplier_percent: int


@router.get("/tiers", response_model=list[TierPublic])
def read_tiers(session: ReadSession, _: Reader) -> list[TierPublic]:
    """The tiers, lowest rank first: what qualifies (points or spend, over the window) and the
    multiplier members in the tier earn at."""
    return [TierPublic.model_validate(tier) for tier in list_tiers(session)]


@router.get("/rewards", response_model=list[RewardPublic])
def read_rewards(session: ReadSession, _: Reader) -> list[RewardPublic]:
    """The active rewards, cheapest first; ``value_minor`` is in minor units of ``currency``."""
    return [RewardPublic.model_validate(reward) for reward in list_rewards(session)]


@router.post("/rewards", response_model=RewardPublic, status_code=status.HTTP_201_CREATED)
def post_reward(data: RewardCreate, database: DatabaseDep, who: Writer) -> RewardPublic:
    """Add a reward to the catalogue (a discount, a gift or a free product) at a points cost."""
    with database.session() as session:
        return RewardPublic.model_validate(create_reward(session, data, who.actor))


@router.post(
    "/coupons",
    response_model=CouponPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorPublic, "description": "A coupon with this code exists."}},
)
def post_coupon(data: CouponCreate, database: DatabaseDep, who: Writer) -> CouponPublic:
    """Create a coupon: a code (made up when left out), a discount, limits and whom it is for."""
    with database.session() as session:
        currency = data.currency or get_programme_settings(session).currency
        return CouponPublic.of(create_coupon(session, data, who.actor), currency.upper())


@router.post(
    "/coupons/{code}/uses",
    response_model=CouponPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorPublic, "description": "Expired, used up, or not theirs."}},
)
def post_coupon_use(code: str, data: CouponUse, database: DatabaseDep, who: Writer) -> CouponPublic:
    """Use a coupon for a customer; 409 when expired, used up, or not for this customer."""
    with database.session() as session:
        use = use_coupon(session, code, data.customer_id, who.actor, order_id=data.order_id)
        coupon = coupon_of_use(session, use)
        return CouponPublic.of(coupon, get_programme_settings(session).currency)
