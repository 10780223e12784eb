"""/api/v1/loyalty/report: participation, liability and the member-vs-holdout effect."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from soloist.api.deps import Reader, ReadSession
from soloist.domain.loyalty import loyalty_report

router = APIRouter(prefix="/api/v1/loyalty", tags=["loyalty"])


class _FromResult(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EffectPublic(_FromResult):
    """A difference of means (members − holdout, or after − before) with its interval."""

    treated_mean: float
    control_mean: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float | None
    n_treated: int
    n_control: int
    confidence: float
    method: str
    standard_error: float
    significant: bool = Field(description="The interval excludes 0.")
    relative_lift: float | None = Field(description="The difference over the control mean.")
    minimum_detectable_difference: float = Field(
        description="The smallest true difference found with 80% power at this confidence."
    )


class LoyaltyKpisPublic(_FromResult):
    currency: str
    launched_at: dt.datetime | None
    active_customers: int
    members: int
    holdout: int
    participation_rate: float | None
    active_members_12m: int
    active_member_rate: float | None
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_reversed: int
    redemption_rate: float | None
    redeemer_share: float | None
    outstanding_points: int
    point_value: Decimal
    liability: Decimal = Field(description="What the outstanding points are worth.")
    tiers: dict[str, int] = Field(description="Members per tier, in tier order.")
    referrals: dict[str, int] = Field(description="Referrals per status.")


class SamplePublic(_FromResult):
    members: int
    holdout: int


class MemberEffectPublic(_FromResult):
    repeat_purchase_rate: EffectPublic | None
    revenue_per_customer: EffectPublic | None
    revenue_per_customer_adjusted: EffectPublic | None


class BeforeAfterPublic(_FromResult):
    members_orders: EffectPublic | None
    members_revenue: EffectPublic | None
    holdout_orders: EffectPublic | None
    difference_in_differences_orders: EffectPublic | None
    difference_in_differences_revenue: EffectPublic | None


class ReportMethodPublic(_FromResult):
    revenue_interval: Literal["welch", "bootstrap"]
    confidence: float


class LoyaltyReportPublic(_FromResult):
    as_of: dt.datetime
    kpis: LoyaltyKpisPublic
    sample: SamplePublic
    effect: MemberEffectPublic
    before_after: BeforeAfterPublic
    method: ReportMethodPublic


@router.get("/report", response_model=LoyaltyReportPublic)
def read_report(
    session: ReadSession,
    _: Reader,
    method: Annotated[Literal["welch", "bootstrap"], Query()] = "welch",
) -> LoyaltyReportPublic:
    """Participation, redemption, liability and the member-vs-holdout effect with intervals.

    An effect is ``null`` while a group has too few customers to compare.
    """
    return LoyaltyReportPublic.model_validate(loyalty_report(session, method=method))
