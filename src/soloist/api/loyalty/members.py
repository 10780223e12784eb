"""/api/v1/customers/{customer_id}/loyalty: a member's balance, ledger, adjustments, redemptions,
enrolment, referral and offers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer
from soloist.api.errors import ErrorPublic
from soloist.api.loyalty.programme import CouponPublic
from soloist.domain.loyalty import (
    adjust_points,
    enrol_customers,
    get_programme_settings,
    ledger_history,
    loyalty_summary,
    offers_for_customer,
    record_referral,
    redeem_points,
)
from soloist.errors import InsufficientPointsError

router = APIRouter(prefix="/api/v1/customers/{customer_id}/loyalty", tags=["loyalty"])


class LoyaltyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    customer_id: int
    enrolled: bool
    group: str | None = Field(description="member, holdout, or null when not enrolled.")
    balance: int = Field(description="Points: the sum of the ledger.")
    balance_value: Decimal = Field(description="What the balance is worth in currency.")
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
    effective_at: dt.datetime = Field(
        description="When the movement counts: the purchase, the refund, the expiry run."
    )
    created_at: dt.datetime = Field(description="When the entry was written.")


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    points: int = Field(
        ge=-1_000_000_000,
        le=1_000_000_000,
        description="Points to add (positive) or remove (negative), at most a billion.",
    )
    reason: str = Field(min_length=1, max_length=255)


class AdjustmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    entry: LedgerEntryPublic
    balance: int = Field(description="The balance after the adjustment.")


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    points: int | None = Field(default=None, gt=0, description="Points to spend.")
    idempotency_key: str = Field(
        min_length=1, max_length=120, description="The same key again returns the first answer."
    )
    reward_id: int | None = Field(default=None, description="Spend a reward's cost instead.")


class RedemptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    redemption_id: int
    customer_id: int
    idempotency_key: str
    status: str = Field(description="redeemed or refused.")
    points: int
    balance: int = Field(
        validation_alias="balance_after", description="The balance after this answer."
    )
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


class EnrolmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    members: int
    holdout: int
    already: int


@router.get("", response_model=LoyaltyPublic)
def read_loyalty(customer_id: int, session: ReadSession, _: Reader) -> LoyaltyPublic:
    """Balance (the sum of the ledger, in points), tier, referral code and what expires soon."""
    return LoyaltyPublic.model_validate(loyalty_summary(session, customer_id))


@router.get("/ledger", response_model=list[LedgerEntryPublic])
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
    "/adjustments",
    response_model=AdjustmentPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorPublic, "description": "Not a member, or not enough points."}},
)
def post_adjustment(
    customer_id: int, data: AdjustmentCreate, database: DatabaseDep, who: Writer
) -> AdjustmentPublic:
    """Add or remove points with a reason; 409 when a deduction exceeds the balance."""
    with database.session() as session:
        adjustment = adjust_points(session, customer_id, data.points, data.reason, who.actor)
        return AdjustmentPublic.model_validate(adjustment)


@router.post(
    "/redemptions",
    response_model=RedemptionPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {
            "model": ErrorPublic,
            "description": "The balance does not cover it (the first answer is kept).",
        }
    },
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
    body = RedemptionPublic.model_validate(outcome)
    if not outcome.redeemed:
        error = InsufficientPointsError(
            f"The balance is {outcome.balance_after} points; it does not cover {outcome.points}.",
            **body.model_dump(mode="json"),
        )
        # Returned, not raised: the refusal is stored with the request's transaction.
        return JSONResponse(error.to_dict(), status_code=409, headers=headers)
    response.headers.update(headers)
    return body


@router.post("/enrolment", response_model=EnrolmentPublic, status_code=status.HTTP_201_CREATED)
def post_enrolment(customer_id: int, database: DatabaseDep, who: Writer) -> EnrolmentPublic:
    """Enrol one customer; the programme's holdout share applies to them like to everyone."""
    currency = database.settings.currency
    with database.session() as session:
        result = enrol_customers(session, who.actor, customer_ids=[customer_id], currency=currency)
    return EnrolmentPublic.model_validate(result)


@router.post(
    "/referral",
    response_model=ReferralPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorPublic, "description": "The referral was refused."}},
)
def post_referral(
    customer_id: int, data: ReferralCreate, database: DatabaseDep, who: Writer
) -> ReferralPublic:
    """Record that this customer was referred by the member with ``code`` (fraud-checked)."""
    with database.session() as session:
        rules = get_programme_settings(session)
        referral = record_referral(session, data.code, customer_id, who.actor, settings=rules)
        return ReferralPublic.model_validate(referral)


@router.get("/offers", response_model=list[CouponPublic])
def read_offers(customer_id: int, session: ReadSession, _: Reader) -> list[CouponPublic]:
    """Coupons and member-only offers this customer can use now."""
    currency = get_programme_settings(session).currency
    return [CouponPublic.of(c, currency) for c in offers_for_customer(session, customer_id)]
