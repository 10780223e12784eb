"""A campaign's A/B test and holdout: /api/v1/campaigns/{id}/experiment (set, read, remove, send
a winner), /api/v1/campaigns/{id}/holdout (what the campaign caused), and
/api/v1/experiments/sample-size (how many recipients a test needs).

The test is fixed before the send (a draft or scheduled campaign; 409 ``campaign_state``
after that) and decided by its rule: group-sequential looks over ``decision_hours`` that keep
the false-positive rate at ``alpha`` however often they look. The Bayesian figures
(``probability_best``, ``probability_b_better``, ``expected_loss``) are shown beside it,
never used to stop. Reads need a read token, changes a write token.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from soloist.api.campaigns import ERRORS, CampaignDetail, CampaignId, campaign_detail
from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer, WriteSession
from soloist.domain.campaigns import (
    SendPolicy,
    experiment_results,
    holdout_effect,
    remove_experiment,
    sample_size_guide,
    send_winner,
    set_experiment,
)
from soloist.errors import NotFoundError
from soloist.storage.types import utcnow

router = APIRouter(prefix="/api/v1", tags=["experiments"])


# --- schemas ---------------------------------------------------------------------------------


class SampleSizeGuide(BaseModel):
    """How many recipients each variant needs to find ``minimum_lift``, how many the list
    gives it, and the power and smallest detectable lift at that size."""

    baseline_rate: float
    minimum_lift: float = Field(description="Absolute: 5% → 6% is 0.01.")
    alpha: float
    alpha_per_comparison: float = Field(description="alpha / (variants − 1) (Bonferroni).")
    power: float
    looks: int
    variants: int
    needed_per_variant: int
    needed_total: int
    reachable: int
    per_variant: int = Field(description="What the list gives each variant.")
    enough: bool = Field(description="per_variant ≥ needed_per_variant.")
    power_at_size: float = Field(description="The chance to find the lift at per_variant.")
    detectable_lift: float | None = Field(
        description="The smallest lift found with `power` at per_variant (none: not even 1)."
    )


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Literal["click", "conversion"] = Field(
        default="click", description="A human click, or an order within the attribution window."
    )
    baseline_rate: float = Field(gt=0, lt=1, description="The rate now: 0.05 for 5%.")
    minimum_lift: float = Field(gt=0, lt=1, description="Absolute: 5% → 6% is 0.01.")
    test_share: float = Field(
        default=1.0, gt=0, le=1, description="The share in the test; the rest gets the winner."
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    power: float = Field(default=0.8, ge=0.5, lt=1)
    looks: int = Field(default=5, ge=1, le=20, description="How many times the rule looks.")
    decision_hours: int = Field(
        default=72, ge=1, le=1440, description="The looks are spread over this many hours."
    )


class WinnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant: str = Field(pattern="^[A-Z]$", description="The variant the rest gets.")


class Comparison(BaseModel):
    """A variant against A: the difference of rates with its interval, the z test, and the
    Bayesian probability that it is better and the expected loss of choosing it."""

    rate_a: float
    rate_b: float
    difference: float
    z: float | None
    p_value: float | None
    ci_low: float
    ci_high: float
    confidence: float = Field(description="Of the interval (Bonferroni-adjusted with several).")
    probability_b_better: float
    expected_loss: float
    expected_loss_a: float
    significant: bool
    relative_lift: float | None


class VariantResult(BaseModel):
    variant: str
    sent: int
    successes: int = Field(description="Recipients who clicked, or bought (the metric).")
    rate: float | None
    probability_best: float | None
    against_a: Comparison | None = None


class LookTest(BaseModel):
    z: float
    boundary: float | None
    crossed: bool
    no_new_information: bool = False


class LookPublic(BaseModel):
    look: int
    at: dt.datetime
    final: bool
    counts: dict[str, list[int]] = Field(description="Variant → [successes, sent].")
    tests: dict[str, LookTest] = Field(description="Each variant against A at this look.")


class ExperimentResults(BaseModel):
    """The test's design, each variant's figures and the verdict (``guide`` before the send)."""

    campaign_id: int
    metric: str
    baseline_rate: float
    minimum_lift: float
    alpha: float
    alpha_per_comparison: float
    power: float
    looks: int
    decision_hours: int
    test_share: float
    needed_per_variant: int
    status: str = Field(description="planned, running or decided.")
    winner: str | None
    decision: str | None = Field(description="winner, no_difference or manual.")
    decided_at: dt.datetime | None
    next_look_at: dt.datetime | None
    looks_taken: list[LookPublic]
    waiting: int = Field(description="Recipients waiting for the winner.")
    variants: list[VariantResult]
    guide: SampleSizeGuide | None


class BoughtEffect(BaseModel):
    receivers_rate: float
    holdout_rate: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float | None


class RevenueEffect(BaseModel):
    """Per customer, decimal strings in the workspace currency."""

    receivers_mean: str
    holdout_mean: str
    difference: str
    ci_low: str
    ci_high: str
    p_value: float | None


class RiskEffect(BaseModel):
    treated_mean: float
    control_mean: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float | None


class GroupEffect(BaseModel):
    """Receivers against a random holdout that got nothing, with 95 % intervals."""

    receivers: int
    holdout: int
    bought: BoughtEffect
    revenue_per_customer: RevenueEffect
    revenue_per_customer_adjusted: RevenueEffect | None = Field(
        description="The same, narrowed by each customer's revenue before (CUPED)."
    )
    churn_risk: RiskEffect | None
    incremental_revenue: str = Field(description="Caused by the message, a decimal string.")
    incremental_revenue_low: str
    incremental_revenue_high: str
    significant: bool


class HoldoutEffect(GroupEffect):
    days: int = Field(description="Each customer is followed this many days from the send.")
    complete: bool = Field(description="Whether the follow-up window has ended.")
    window_ends: dt.datetime
    holdout_share: float


# --- routes ----------------------------------------------------------------------------------


def _results(
    session: Session, campaign_id: int, currency: str, now: dt.datetime
) -> ExperimentResults:
    found = experiment_results(session, campaign_id, currency, now)
    if found is None:
        raise NotFoundError(f"Campaign {campaign_id} has no A/B test.", campaign_id=campaign_id)
    return ExperimentResults(**found)


@router.put(
    "/campaigns/{campaign_id}/experiment", response_model=ExperimentResults, responses=ERRORS
)
def put_experiment(
    campaign_id: CampaignId,
    data: ExperimentIn,
    database: DatabaseDep,
    session: WriteSession,
    who: Writer,
) -> ExperimentResults:
    """Make the campaign an A/B test of its variants (add them with ``PUT …/variants/B/…``),
    decided by the rule set here; the answer's ``guide`` shows how many recipients each
    variant needs beside what the segment gives. A draft or scheduled campaign only."""
    set_experiment(
        session,
        campaign_id,
        who.actor,
        metric=data.metric,
        baseline_rate=data.baseline_rate,
        minimum_lift=data.minimum_lift,
        test_share=data.test_share,
        alpha=data.alpha,
        power=data.power,
        looks=data.looks,
        decision_hours=data.decision_hours,
    )
    return _results(session, campaign_id, database.settings.currency, utcnow())


@router.get(
    "/campaigns/{campaign_id}/experiment",
    response_model=ExperimentResults,
    responses={404: ERRORS[404]},
)
def read_experiment(
    campaign_id: CampaignId, database: DatabaseDep, session: ReadSession, _: Reader
) -> ExperimentResults:
    """The test: each variant's rate, its interval and p-value against A, P(best), the looks
    taken and the verdict. 404 when the campaign has no test."""
    return _results(session, campaign_id, database.settings.currency, utcnow())


@router.delete(
    "/campaigns/{campaign_id}/experiment", response_model=CampaignDetail, responses=ERRORS
)
def delete_experiment(
    campaign_id: CampaignId, database: DatabaseDep, session: WriteSession, who: Writer
) -> CampaignDetail:
    """Remove the test (a draft or scheduled campaign): it sends variant A alone."""
    remove_experiment(session, campaign_id, who.actor)
    return campaign_detail(session, campaign_id, database.settings.currency)


@router.post(
    "/campaigns/{campaign_id}/experiment/winner",
    response_model=ExperimentResults,
    responses=ERRORS,
)
def post_winner(
    campaign_id: CampaignId,
    data: WinnerIn,
    database: DatabaseDep,
    session: WriteSession,
    who: Writer,
) -> ExperimentResults:
    """Send ``variant`` to the test's remainder now, before the rule decides (the worker sends
    it); 409 before the send or once decided, 422 for a variant the campaign lacks."""
    now = utcnow()
    policy = SendPolicy.from_settings(database.settings)
    send_winner(session, campaign_id, data.variant, who.actor, now, policy)
    return _results(session, campaign_id, database.settings.currency, now)


@router.get(
    "/campaigns/{campaign_id}/holdout", response_model=HoldoutEffect, responses={404: ERRORS[404]}
)
def read_holdout(
    campaign_id: CampaignId, database: DatabaseDep, session: ReadSession, _: Reader
) -> HoldoutEffect:
    """What the campaign caused: its receivers against the holdout that got nothing, on
    purchases, revenue per customer (raw and CUPED-adjusted) and churn risk, and the
    incremental revenue with its interval. 404 when it has no holdout or was not sent."""
    effect = holdout_effect(session, campaign_id, database.settings.currency, utcnow())
    if effect is None:
        raise NotFoundError(
            f"Campaign {campaign_id} has no holdout to compare with (none set, not sent yet, "
            "or fewer than two customers on a side).",
            campaign_id=campaign_id,
        )
    return HoldoutEffect(**effect)


@router.get(
    "/experiments/sample-size",
    response_model=SampleSizeGuide,
    responses={422: ERRORS[422]},
)
def read_sample_size(
    _: Reader,
    baseline: Annotated[float, Query(description="The rate now: 0.05 for 5%.")],
    lift: Annotated[float, Query(description="The smallest lift worth finding, absolute.")],
    reachable: Annotated[int, Query(ge=0, description="How many the list reaches.")],
    variants: Annotated[int, Query(ge=2, le=26)] = 2,
    looks: Annotated[int, Query(ge=1, le=20)] = 5,
    alpha: float = 0.05,
    power: float = 0.8,
    test_share: float = 1.0,
    holdout_share: Annotated[float, Query(ge=0, le=0.5)] = 0.0,
) -> SampleSizeGuide:
    """How many recipients each variant needs to find ``lift`` over ``baseline``, against what
    a list of ``reachable`` gives each, with the power and smallest detectable lift at that
    size (422 for rates outside (0, 1))."""
    return SampleSizeGuide(
        **sample_size_guide(
            baseline_rate=baseline,
            minimum_lift=lift,
            reachable=reachable,
            variants=variants,
            test_share=test_share,
            holdout_share=holdout_share,
            alpha=alpha,
            power=power,
            looks=looks,
        )
    )
