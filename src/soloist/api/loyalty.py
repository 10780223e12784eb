"""/api/v1/customers/{id}/loyalty and /api/v1/loyalty: balances, adjustments, redemptions …

Write routes here open and commit their transaction inside the route function, in the worker
thread that runs it: a client that got a 201 knows the redemption is durable, and the write lock
(SQLite) or row lock (PostgreSQL, MariaDB) is never held while the route waits for another
thread-pool slot to serialise its response — under 200 concurrent requests that wait starved the
pool and deadlocked until the busy timeout.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from soloist.api.deps import Reader, ReadSession, Writer, get_database
from soloist.domain.loyalty import (
    CouponCreate,
    RewardCreate,
    adjust_points,
    coupon_of_use,
    create_coupon,
    create_reward,
    enrol_customers,
    get_programme_settings,
    ledger_history,
    list_rewards,
    list_tiers,
    loyalty_report,
    loyalty_summary,
    offers_for_customer,
    record_referral,
    redeem_points,
    use_coupon,
)
from soloist.errors import InsufficientPointsError
from soloist.money import minor_to_decimal
from soloist.storage.database import Database

if TYPE_CHECKING:
    from soloist.storage.models import Coupon

router = APIRouter(tags=["loyalty"])
CUSTOMER = "/api/v1/customers/{customer_id}/loyalty"


DatabaseDep = Annotated[Database, Depends(get_database)]


class LoyaltyPublic(BaseModel):
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


class LedgerEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    points: int
    source_type: str | None
    source_id: str | None
    reason: str | None
    rule: str | None
    user_id: int | None
    expires_at: dt.datetime | None
    created_at: dt.datetime


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    points: int = Field(description="Points to add (positive) or remove (negative).")
    reason: str = Field(min_length=1, max_length=255)


class AdjustmentPublic(BaseModel):
    entry: LedgerEntryPublic
    balance: int


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    points: int | None = Field(default=None, gt=0, description="Points to spend.")
    idempotency_key: str = Field(
        min_length=1, max_length=120, description="The same key again returns the first answer."
    )
    reward_id: int | None = Field(default=None, description="Spend a reward's cost instead.")


class RedemptionPublic(BaseModel):
    redemption_id: int
    customer_id: int
    idempotency_key: str
    status: str
    points: int
    balance: int
    ledger_entry_id: int | None
    reward_id: int | None
    coupon_code: str | None
    created_at: dt.datetime


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, description="The referring member's code.")


class ReferralPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    referrer_id: int
    referred_id: int
    code: str
    status: str
    order_id: int | None
    created_at: dt.datetime


class CouponPublic(BaseModel):
    code: str
    discount_percent: int | None
    discount: Decimal | None
    members_only: bool
    segment_id: int | None
    customer_id: int | None
    max_uses: int | None
    used_count: int
    expires_at: dt.datetime | None

    @classmethod
    def of(cls, coupon: Coupon, currency: str) -> CouponPublic:
        discount = (
            None
            if coupon.discount_minor is None
            else minor_to_decimal(coupon.discount_minor, currency)
        )
        return cls(
            code=coupon.code,
            discount_percent=coupon.discount_percent,
            discount=discount,
            members_only=coupon.members_only,
            segment_id=coupon.segment_id,
            customer_id=coupon.customer_id,
            max_uses=coupon.max_uses,
            used_count=coupon.used_count,
            expires_at=coupon.expires_at,
        )


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


class EnrolmentPublic(BaseModel):
    members: int
    holdout: int
    already: int


@router.get(CUSTOMER, response_model=LoyaltyPublic)
def read_loyalty(customer_id: int, session: ReadSession, _: Reader) -> LoyaltyPublic:
    """Balance (the sum of the ledger, in points), tier, referral code and what expires soon."""
    return LoyaltyPublic(**loyalty_summary(session, customer_id))


@router.get(CUSTOMER + "/ledger", response_model=list[LedgerEntryPublic])
def read_ledger(
    customer_id: int,
    session: ReadSession,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[LedgerEntryPublic]:
    """The customer's ledger entries, newest first."""
    entries = ledger_history(session, customer_id, limit=limit, offset=offset)
    return [LedgerEntryPublic.model_validate(entry) for entry in entries]


@router.post(
    CUSTOMER + "/adjustments", response_model=AdjustmentPublic, status_code=status.HTTP_201_CREATED
)
def post_adjustment(
    customer_id: int, data: AdjustmentCreate, database: DatabaseDep, who: Writer
) -> AdjustmentPublic:
    """Add or remove points with a reason; 409 when a deduction exceeds the balance."""
    with database.session() as session:
        entry = adjust_points(session, customer_id, data.points, data.reason, who.actor)
        balance = loyalty_summary(session, customer_id)["balance"]
        return AdjustmentPublic(entry=LedgerEntryPublic.model_validate(entry), balance=balance)


@router.post(
    CUSTOMER + "/redemptions",
    response_model=RedemptionPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The balance does not cover it (the first answer is kept)."}},
)
def post_redemption(
    customer_id: int,
    data: RedemptionCreate,
    database: DatabaseDep,
    who: Writer,
    response: Response,
) -> Any:
    """Spend points: 201 when redeemed, 409 when the balance does not cover it.

    The same ``idempotency_key`` again returns the first answer — 201 or 409, with the same body —
    and never spends twice; the replay carries the header ``Idempotent-Replayed: true``.
    """
    with database.session() as session:
        outcome = redeem_points(
            session,
            customer_id,
            data.points,
            data.idempotency_key,
            who.actor,
            reward_id=data.reward_id,
        )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    body = RedemptionPublic(**outcome.to_dict() | {"balance": outcome.balance_after})
    if not outcome.redeemed:
        error = InsufficientPointsError(
            f"The balance is {outcome.balance_after} points; it does not cover {outcome.points}.",
            **body.model_dump(mode="json"),
        )
        # Returned, not raised: the refusal is stored with the request's transaction.
        return JSONResponse(error.to_dict(), status_code=409, headers=headers)
    response.headers.update(headers)
    return body


@router.post(
    CUSTOMER + "/enrolment", response_model=EnrolmentPublic, status_code=status.HTTP_201_CREATED
)
def post_enrolment(customer_id: int, database: DatabaseDep, who: Writer) -> EnrolmentPublic:
    """Enrol one customer; the programme's holdout share applies to them like to everyone."""
    currency = database.settings.currency
    with database.session() as session:
        result = enrol_customers(session, who.actor, customer_ids=[customer_id], currency=currency)
    return EnrolmentPublic(members=result.members, holdout=result.holdout, already=result.already)


@router.post(
    CUSTOMER + "/referral", response_model=ReferralPublic, status_code=status.HTTP_201_CREATED
)
def post_referral(
    customer_id: int, data: ReferralCreate, database: DatabaseDep, who: Writer
) -> ReferralPublic:
    """Record that this customer was referred by the member with ``code`` (fraud-checked)."""
    with database.session() as session:
        rules = get_programme_settings(session)
        referral = record_referral(session, data.code, customer_id, who.actor, settings=rules)
        return ReferralPublic.model_validate(referral)


@router.get(CUSTOMER + "/offers", response_model=list[CouponPublic])
def read_offers(customer_id: int, session: ReadSession, _: Reader) -> list[CouponPublic]:
    """Coupons and member-only offers this customer can use now."""
    currency = get_programme_settings(session).currency
    return [CouponPublic.of(c, currency) for c in offers_for_customer(session, customer_id)]


@router.get("/api/v1/loyalty/report")
def read_report(
    session: ReadSession,
    _: Reader,
    method: Annotated[Literal["welch", "bootstrap"], Query()] = "welch",
) -> dict[str, Any]:
    """Participation, redemption, liability and the member-vs-holdout effect with intervals."""
    return loyalty_report(session, method=method)


@router.get("/api/v1/loyalty/tiers", response_model=list[TierPublic])
def read_tiers(session: ReadSession, _: Reader) -> list[TierPublic]:
    return [TierPublic.model_validate(tier) for tier in list_tiers(session)]


@router.get("/api/v1/loyalty/rewards", response_model=list[RewardPublic])
def read_rewards(session: ReadSession, _: Reader) -> list[RewardPublic]:
    return [RewardPublic.model_validate(reward) for reward in list_rewards(session)]


@router.post(
    "/api/v1/loyalty/rewards", response_model=RewardPublic, status_code=status.HTTP_201_CREATED
)
def post_reward(data: RewardCreate, database: DatabaseDep, who: Writer) -> RewardPublic:
    with database.session() as session:
        return RewardPublic.model_validate(create_reward(session, data, who.actor))


@router.post(
    "/api/v1/loyalty/coupons", response_model=CouponPublic, status_code=status.HTTP_201_CREATED
)
def post_coupon(data: CouponCreate, database: DatabaseDep, who: Writer) -> CouponPublic:
    with database.session() as session:
        currency = data.currency or get_programme_settings(session).currency
        return CouponPublic.of(create_coupon(session, data, who.actor), currency.upper())


@router.post(
    "/api/v1/loyalty/coupons/{code}/uses",
    response_model=CouponPublic,
    status_code=status.HTTP_201_CREATED,
)
def post_coupon_use(code: str, data: CouponUse, database: DatabaseDep, who: Writer) -> CouponPublic:
    """Use a coupon for a customer; 409 when expired, used up, or not for this customer."""
    with database.session() as session:
        use = use_coupon(session, code, data.customer_id, who.actor, order_id=data.order_id)
        coupon = coupon_of_use(session, use)
        return CouponPublic.of(coupon, get_programme_settings(session).currency)
