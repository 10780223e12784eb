"""/api/v1/deals: the sales pipeline. Deals with a value, a currency, a stage and an expected
close date; the stages with their win probabilities; the weighted forecast by month and the
pipeline's statistics.

Reads need a read token, changes a write token. Amounts are decimal strings; ``probability`` is a
whole percent (0–100). A new deal starts in the first stage at its probability; moving a deal
sets the new stage's. An unknown deal, customer or stage answers 404, a stage that still has
deals (or the won and lost stages) cannot be deleted (409), bad input answers 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from soloist.api.deps import DatabaseDep, Reader, ReadSession, Writer, WriteSession
from soloist.api.errors import ErrorPublic
from soloist.domain.sales import (
    create_deal,
    create_stage,
    delete_deal,
    delete_stage,
    forecast_deals,
    get_deal,
    is_stale,
    list_deals,
    list_stages,
    move_stage,
    pipeline_stats,
    rename_stage,
    set_stage_probability,
    stage_label,
    stale_cutoff,
    update_deal,
    weighted_minor,
)
from soloist.money import minor_to_decimal
from soloist.storage.types import utcnow

if TYPE_CHECKING:
    from soloist.storage.models import Deal, DealStage

router = APIRouter(prefix="/api/v1/deals", tags=["deals"])

DealId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The deal's id.")]
StageKey = Annotated[str, Path(max_length=32, description="The stage's key.")]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "No such deal, customer, user or stage."},
    409: {"model": ErrorPublic, "description": "The pipeline's rules forbid it."},
    422: {"model": ErrorPublic, "description": "Bad input; `details.field` names it."},
}


# --- schemas ---------------------------------------------------------------------------------


class StagePublic(BaseModel):
    key: str
    name: str = Field(description="The owner's name, or the built-in stage's English name.")
    built_in_name: bool = Field(description="True while a built-in stage keeps its own name.")
    position: int = Field(description="0 is the first column of the board.")
    probability: int = Field(description="Win probability, percent.")
    outcome: str = Field(description="open, won or lost.")

    @classmethod
    def of(cls, stage: DealStage) -> StagePublic:
        return cls(
            key=stage.key,
            name=stage_label(stage),
            built_in_name=stage.name is None,
            position=stage.position,
            probability=stage.probability_percent,
            outcome=stage.outcome,
        )


class StageList(BaseModel):
    items: list[StagePublic]


class StageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    probability: int = Field(ge=0, le=100, description="Win probability, percent.")
    key: str | None = Field(default=None, max_length=32, description="Default: from the name.")
    position: int | None = Field(
        default=None, ge=0, description="Default: after the last open stage."
    )


class StageUpdate(BaseModel):
    """The fields to change; ``name: null`` gives a built-in stage its own name back."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=64)
    probability: int | None = Field(default=None, ge=0, le=100)
    position: int | None = Field(default=None, ge=0)


class StageDeleted(BaseModel):
    key: str
    deleted: bool


class DealPublic(BaseModel):
    id: int
    customer_id: int | None
    name: str
    stage: str
    outcome: str = Field(description="open, won or lost (the stage's).")
    probability: int = Field(description="Percent, 0–100.")
    value: str = Field(description="A decimal string in `currency`.")
    currency: str
    weighted: str = Field(description="value × probability / 100, in `currency`.")
    expected_close: dt.date | None
    owner_id: int | None
    closed_at: dt.datetime | None
    close_reason: str | None
    stage_entered_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    stale: bool = Field(description="Open and quiet for the workspace's `stale_days`.")
    created_at: dt.datetime
    updated_at: dt.datetime


class DealPage(BaseModel):
    items: list[DealPublic]
    total: int
    limit: int
    offset: int


class DealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=255)
    value: Decimal = Field(ge=0, lt=Decimal("1e13"), description="In `currency`.")
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, description="ISO 4217; default: the workspace's."
    )
    expected_close: dt.date | None = None
    owner_id: int | None = Field(default=None, ge=1, description="The user who owns it.")
    probability: int | None = Field(
        default=None, ge=0, le=100, description="Default: the first stage's."
    )


class DealUpdate(BaseModel):
    """The fields to change; ``null`` clears ``expected_close``, ``owner_id``, ``close_reason``.
    ``stage`` moves the deal (``close_reason`` is the reason when it is won or lost)."""

    model_config = ConfigDict(extra="forbid")

    stage: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    value: Decimal | None = Field(default=None, ge=0, lt=Decimal("1e13"))
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    expected_close: dt.date | None = None
    probability: int | None = Field(default=None, ge=0, le=100)
    owner_id: int | None = Field(default=None, ge=1)
    customer_id: int | None = Field(default=None, ge=1)
    close_reason: str | None = Field(default=None, max_length=255)


class DealDeleted(BaseModel):
    id: int
    deleted: bool


class LeftOutPublic(BaseModel):
    currency: str
    deals: int
    value: str = Field(description="Their value in that currency.")


class ForecastMonthPublic(BaseModel):
    month: str = Field(description="YYYY-MM.")
    weighted: str = Field(description="Σ value × probability / 100, workspace currency.")
    total: str = Field(description="Σ value of the deals counted, workspace currency.")
    currency: str
    open_deals: int = Field(description="Open deals expected to close that month.")
    won_deals: int = Field(description="Deals won that month (at 100 %).")
    won: str = Field(description="What they are worth.")
    left_out: list[LeftOutPublic] = Field(description="Deals in a currency without a rate.")


class StageStatsPublic(BaseModel):
    key: str
    name: str
    outcome: str
    entered: int = Field(description="Deals that entered the stage.")
    advanced: int = Field(description="Of them, those that reached a later stage or won.")
    conversion_rate: float | None = Field(description="advanced / entered (open stages).")
    conversion_rate_by_value: float | None
    stays: int = Field(description="Finished stays in the stage.")
    median_days: float | None
    mean_days: float | None
    current: int = Field(description="Deals in the stage now.")


class PipelineStatsPublic(BaseModel):
    currency: str
    stages: list[StageStatsPublic]
    won: int
    lost: int
    win_rate: float | None = Field(description="won / (won + lost).")
    win_rate_by_value: float | None
    left_out: list[LeftOutPublic] = Field(description="Out of the by-value figures: no rate.")


# --- helpers ---------------------------------------------------------------------------------


def _public(deal: Deal, outcomes: dict[str, str], cutoff: dt.datetime) -> DealPublic:
    return DealPublic(
        id=deal.id,
        customer_id=deal.customer_id,
        name=deal.title,
        stage=deal.stage,
        outcome=outcomes.get(deal.stage, "open"),
        probability=deal.probability_percent,
        value=str(minor_to_decimal(deal.value_minor, deal.currency)),
        currency=deal.currency,
        weighted=str(
            minor_to_decimal(
                weighted_minor(deal.value_minor, deal.probability_percent), deal.currency
            )
        ),
        expected_close=deal.expected_close_on,
        owner_id=deal.owner_id,
        closed_at=deal.closed_at,
        close_reason=deal.close_reason,
        stage_entered_at=deal.stage_entered_at,
        last_activity_at=deal.last_activity_at,
        stale=is_stale(deal, cutoff),
        created_at=deal.created_at,
        updated_at=deal.updated_at,
    )


def _one(session: Session, deal: Deal) -> DealPublic:
    outcomes = {s.key: s.outcome for s in list_stages(session)}
    return _public(deal, outcomes, stale_cutoff(session, utcnow()))


def _left_out(parts: Any) -> list[LeftOutPublic]:
    return [LeftOutPublic(currency=p.currency, deals=p.deals, value=str(p.value)) for p in parts]


def _stages(session: Session) -> StageList:
    return StageList(items=[StagePublic.of(s) for s in list_stages(session)])


# --- stages, forecast, statistics (before /{deal_id}) ----------------------------------------


@router.get("/stages", response_model=StageList)
def read_stages(session: ReadSession, _: Reader) -> StageList:
    """The pipeline's stages in board order: the open ones, then won and lost."""
    return _stages(session)


@router.post(
    "/stages", response_model=StageList, status_code=status.HTTP_201_CREATED, responses=ERRORS
)
def post_stage(data: StageCreate, session: WriteSession, who: Writer) -> StageList:
    """Add an open stage (the won and lost stages exist once each); answers every stage."""
    create_stage(session, data.name, data.probability, who.actor, key=data.key,
                 position=data.position)  # fmt: skip
    return _stages(session)


@router.patch("/stages/{key}", response_model=StageList, responses=ERRORS)
def patch_stage(key: StageKey, data: StageUpdate, session: WriteSession, who: Writer) -> StageList:
    """Rename a stage, change its win probability (its deals that had the old one follow) or
    move it to another `position`; answers every stage."""
    fields = data.model_fields_set
    if "name" in fields:
        rename_stage(session, key, data.name, who.actor)
    if data.probability is not None:
        set_stage_probability(session, key, data.probability, who.actor)
    if data.position is not None:
        move_stage(session, key, data.position, who.actor)
    return _stages(session)


@router.delete("/stages/{key}", response_model=StageDeleted, responses=ERRORS)
def remove_stage(key: StageKey, session: WriteSession, who: Writer) -> StageDeleted:
    """Delete an open stage without deals (409 otherwise)."""
    delete_stage(session, key, who.actor)
    return StageDeleted(key=key, deleted=True)


@router.get("/forecast", response_model=list[ForecastMonthPublic])
def read_forecast(
    database: DatabaseDep,
    session: ReadSession,
    _: Reader,
    months: Annotated[int, Query(ge=1, le=36, description="How many months.")] = 6,
    start: Annotated[
        dt.date | None, Query(description="A day of the first month; default: this month.")
    ] = None,
) -> list[ForecastMonthPublic]:
    """The weighted forecast by month in the workspace currency, every month listed: open deals
    by expected close month (a late one in this month; one without a date in none) at their
    probability, deals won that month at 100 %, lost deals nowhere. Deals in another currency
    count at the owner's rates; those without a rate are named in `left_out`."""
    settings = database.settings
    forecast = forecast_deals(
        session, settings.currency, settings.rates, months=months, start=start,
        timezone=settings.timezone,
    )  # fmt: skip
    return [
        ForecastMonthPublic(
            month=m.month,
            weighted=str(m.weighted),
            total=str(m.total),
            currency=m.currency,
            open_deals=m.open_deals,
            won_deals=m.won_deals,
            won=str(m.won),
            left_out=_left_out(m.left_out),
        )
        for m in forecast.months
    ]


@router.get("/stats", response_model=PipelineStatsPublic)
def read_stats(
    database: DatabaseDep,
    session: ReadSession,
    _: Reader,
    since: Annotated[
        dt.datetime | None, Query(description="Only deals created at or after this time.")
    ] = None,
) -> PipelineStatsPublic:
    """Conversion per stage (the share of deals that entered it and later reached a later stage
    or won), time spent per stage (finished stays, in days) and the win rate, by count and by
    value in the workspace currency."""
    settings = database.settings
    when = since.replace(tzinfo=since.tzinfo or dt.UTC) if since else None
    stats = pipeline_stats(session, settings.currency, settings.rates, since=when)
    return PipelineStatsPublic(
        currency=stats.currency,
        stages=[
            StageStatsPublic(
                key=s.key,
                name=s.name,
                outcome=s.outcome,
                entered=s.entered,
                advanced=s.advanced,
                conversion_rate=s.conversion_rate,
                conversion_rate_by_value=s.conversion_rate_by_value,
                stays=s.stays,
                median_days=s.median_days,
                mean_days=s.mean_days,
                current=s.current,
            )
            for s in stats.stages
        ],
        won=stats.won,
        lost=stats.lost,
        win_rate=stats.win_rate,
        win_rate_by_value=stats.win_rate_by_value,
        left_out=_left_out(stats.left_out),
    )


# --- deals -----------------------------------------------------------------------------------


@router.get("", response_model=DealPage, responses={404: ERRORS[404]})
def read_deals(
    session: ReadSession,
    _: Reader,
    stage: Annotated[str | None, Query(max_length=32, description="Only this stage.")] = None,
    customer_id: Annotated[int | None, Query(description="Only this customer's.")] = None,
    owner_id: Annotated[int | None, Query(description="Only this user's.")] = None,
    outcome: Annotated[str | None, Query(pattern="^(open|won|lost)$")] = None,
    stale: Annotated[bool | None, Query(description="Only stale (or only fresh) deals.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DealPage:
    """Deals, newest first."""
    now = utcnow()
    items, total = list_deals(
        session, stage=stage, customer_id=customer_id, owner_id=owner_id, outcome=outcome,
        stale=stale, now=now, limit=limit, offset=offset,
    )  # fmt: skip
    outcomes = {s.key: s.outcome for s in list_stages(session)}
    cutoff = stale_cutoff(session, now)
    return DealPage(
        items=[_public(d, outcomes, cutoff) for d in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("", response_model=DealPublic, status_code=status.HTTP_201_CREATED, responses=ERRORS)
def post_deal(
    data: DealCreate, database: DatabaseDep, session: WriteSession, who: Writer
) -> DealPublic:
    """Open a deal for a customer; it starts in the first stage at that stage's probability
    unless `probability` is given."""
    deal = create_deal(
        session, who.actor, name=data.name, customer_id=data.customer_id, value=data.value,
        currency=data.currency or database.settings.currency,
        expected_close_on=data.expected_close, owner_id=data.owner_id,
        probability=data.probability,
    )  # fmt: skip
    return _one(session, deal)


@router.get("/{deal_id}", response_model=DealPublic, responses={404: ERRORS[404]})
def read_deal(deal_id: DealId, session: ReadSession, _: Reader) -> DealPublic:
    """One deal."""
    return _one(session, get_deal(session, deal_id))


@router.patch("/{deal_id}", response_model=DealPublic, responses=ERRORS)
def patch_deal(deal_id: DealId, data: DealUpdate, session: WriteSession, who: Writer) -> DealPublic:
    """Change the fields given. `stage` moves the deal and sets that stage's probability; to the
    won or lost stage it closes it, with `close_reason`."""
    given = data.model_dump(include=data.model_fields_set)
    renames = {"expected_close": "expected_close_on"}
    changes = {renames.get(k, k): v for k, v in given.items()}
    return _one(session, update_deal(session, deal_id, changes, who.actor))


@router.delete("/{deal_id}", response_model=DealDeleted, responses=ERRORS)
def remove_deal(deal_id: DealId, session: WriteSession, who: Writer) -> DealDeleted:
    """Delete a deal and its stage history; its tasks stay, unlinked from it."""
    delete_deal(session, deal_id, who.actor)
    return DealDeleted(id=deal_id, deleted=True)
